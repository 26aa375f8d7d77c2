/**
 * Native tests of `pricing-js` with `node --test`: the same facts as the Rust pricing's tests,
 * through the library's one-scenario helper, and batches through its batch loop.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { evaluateOne, exportModel } from "../../model-sdk/js/mcp_model.js";
import { evaluate } from "./model.js";

const AT_THE_MONEY = [100.0, 100.0, 0.05, 0.2, 1.0, 0.0];

test("describes itself", () => {
  assert.deepEqual(evaluate.describe(), {
    name: "pricing-js",
    version: "0.1.0",
    inputs: ["spot", "strike", "rate", "vol", "maturity", "z"],
    outputs: ["price", "itm"],
  });
});

test("at z = 0 the payoff is the drifted forward", () => {
  const [price, itm] = evaluateOne(evaluate, AT_THE_MONEY);
  const terminal = 100.0 * Math.exp(0.05 - 0.02);
  const expected = Math.exp(-0.05) * (terminal - 100.0);
  assert.ok(Math.abs(price - expected) < 1e-12, `${price} vs ${expected}`);
  assert.equal(itm, 1.0);
});

test("out of the money pays nothing", () => {
  assert.deepEqual(evaluateOne(evaluate, [100.0, 150.0, 0.05, 0.2, 1.0, -1.0]), [0.0, 0.0]);
});

test("a batch gives one row of outputs per scenario", () => {
  const out = evaluate.runBatch(2, new Float64Array([...AT_THE_MONEY, 100.0, 150.0, 0.05, 0.2, 1.0, -1.0]));
  assert.equal(out.failure, undefined);
  assert.deepEqual(Array.from(out.values), [...evaluateOne(evaluate, AT_THE_MONEY), 0.0, 0.0]);
});

test("a batch stops at its first failed scenario and keeps the rows before it", () => {
  // Pricing itself never throws: this variant refuses z > 3, as a model may refuse its inputs.
  const refusing = exportModel({
    ...evaluate.describe(),
    evaluate(...row) {
      if (row[5] > 3) {
        throw new RangeError(`z = ${row[5]} is above 3`);
      }
      return evaluateOne(evaluate, row);
    },
  });
  const high = [100.0, 100.0, 0.05, 0.2, 1.0, 4.0];
  const out = refusing.runBatch(3, new Float64Array([...AT_THE_MONEY, ...high, ...AT_THE_MONEY]));
  assert.deepEqual(Array.from(out.values), evaluateOne(evaluate, AT_THE_MONEY));
  assert.deepEqual(out.failure, { index: 1, message: "RangeError: z = 4 is above 3" });
});

test("a batch of the wrong length fails at its first scenario", () => {
  const out = evaluate.runBatch(2, new Float64Array(AT_THE_MONEY));
  assert.equal(out.values.length, 0);
  assert.deepEqual(out.failure, { index: 0, message: "the host sent 6 values for 2 scenarios of 6 inputs" });
});
