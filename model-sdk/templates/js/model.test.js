/**
 * Native tests of `{{name}}` with `node --test`: one scenario through the library's helper and
 * one batch through its batch loop, as mcp will run it.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateOne } from "./mcp_model.js";
import { evaluate } from "./model.js";

test("adds its inputs", () => {
  assert.deepEqual(evaluateOne(evaluate, [1.5, 2.0]), [3.5]);
});

test("a batch gives one sum per scenario", () => {
  const out = evaluate.runBatch(2, new Float64Array([1, 2, 3, 4]));
  assert.deepEqual(Array.from(out.values), [3, 7]);
  assert.equal(out.failure, undefined);
});
