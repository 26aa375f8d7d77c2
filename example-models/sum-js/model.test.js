/**
 * Native tests of `sum-js` with `node --test`: one scenario through the library's helper, and
 * batches through its batch loop.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateOne, exportModel } from "../../model-sdk/js/mcp_model.js";
import { evaluate } from "./model.js";

test("adds", () => {
  assert.deepEqual(evaluateOne(evaluate, [1.5, 2.0]), [3.5]);
});

test("a batch gives one sum per scenario", () => {
  const out = evaluate.runBatch(3, new Float64Array([1, 2, 3, 4, 5, 6]));
  assert.deepEqual(out, { values: new Float64Array([3, 7, 11]), failure: undefined });
});

test("a batch stops at its first failed scenario and keeps the rows before it", () => {
  // A variant that refuses a negative x, as a model may refuse its inputs.
  const refusing = exportModel({
    ...evaluate.describe(),
    evaluate(x, y) {
      if (x < 0) {
        throw new RangeError(`x = ${x} is negative`);
      }
      return evaluateOne(evaluate, [x, y]);
    },
  });
  const out = refusing.runBatch(3, new Float64Array([1, 2, -3, 4, 5, 6]));
  assert.deepEqual(Array.from(out.values), [3]);
  assert.deepEqual(out.failure, { index: 1, message: "RangeError: x = -3 is negative" });
});
