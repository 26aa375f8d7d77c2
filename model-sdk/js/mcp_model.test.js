/**
 * Native tests of the JavaScript guest library (`node --test` in this directory): names and
 * sizes as the host reads them, the batch loop, its failures and their messages.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { errorMessage, evaluateOne, exportModel, inputSize, rowWidth } from "./mcp_model.js";

/** A ratio a / b that refuses b = 0, as the Rust SDK's test model. */
const ratio = exportModel({
  name: "ratio",
  version: "1.0.0",
  inputs: ["a", "b"],
  outputs: ["ratio"],
  evaluate(a, b) {
    if (b === 0) {
      throw new Error("b is zero");
    }
    return [a / b];
  },
});

test("declared sizes are read as the host reads them", () => {
  assert.equal(inputSize("z"), 1);
  assert.equal(inputSize("path[252]"), 252);
  assert.equal(inputSize("a[b][3]"), 3);
  assert.equal(inputSize("x[65536]"), 65536);
  assert.equal(rowWidth(["s0", "path[252]", "k"]), 254);
  for (const bad of ["x[0]", "x[65537]", "x[]", "[3]", "x]", "x[+5]"]) {
    assert.throws(() => inputSize(bad), TypeError, bad);
  }
});

test("describe lists the names", () => {
  assert.deepEqual(ratio.describe(), { name: "ratio", version: "1.0.0", inputs: ["a", "b"], outputs: ["ratio"] });
});

test("the batch loop runs every scenario", () => {
  const out = ratio.runBatch(2, new Float64Array([1, 2, 3, 1]));
  assert.deepEqual(Array.from(out.values), [0.5, 3]);
  assert.equal(out.failure, undefined);
});

test("the batch loop stops at the first failure", () => {
  const out = ratio.runBatch(3, new Float64Array([1, 2, 1, 0, 3, 1]));
  assert.deepEqual(Array.from(out.values), [0.5]);
  assert.deepEqual(out.failure, { index: 1, message: "Error: b is zero" });
});

test("a wrong input length is reported", () => {
  const out = ratio.runBatch(2, new Float64Array([1, 2, 3]));
  assert.deepEqual(out.failure, { index: 0, message: "the host sent 3 values for 2 scenarios of 2 inputs" });
  assert.throws(() => evaluateOne(ratio, [1]), { message: "model `ratio` takes 2 input values (a, b), got 1" });
});

test("evaluateOne returns the outputs and rethrows the model's error", () => {
  assert.deepEqual(evaluateOne(ratio, [3, 4]), [0.75]);
  assert.throws(() => evaluateOne(ratio, [3, 0]), { message: "b is zero" });
});

test("vector inputs arrive as Float64Arrays of their size, scalars as numbers", () => {
  const seen = [];
  const paths = exportModel({
    name: "paths",
    version: "0.1.0",
    inputs: ["s0", "path[3]", "one[1]"],
    outputs: ["last", "total"],
    evaluate(s0, path, one) {
      seen.push([typeof s0, path instanceof Float64Array, path.length, one instanceof Float64Array]);
      return [s0 * path[path.length - 1], path.reduce((a, b) => a + b, 0) + one[0]];
    },
  });
  const out = paths.runBatch(2, new Float64Array([2, 1, 2, 3, 10, 3, 4, 5, 6, 20]));
  assert.deepEqual(Array.from(out.values), [6, 16, 18, 35]);
  assert.equal(out.failure, undefined);
  assert.deepEqual(seen[0], ["number", true, 3, true]);
  assert.deepEqual(evaluateOne(paths, [2, 1, 2, 3, 10]), [6, 16]);
});

test("a wrong result fails its scenario with the expected and actual counts", () => {
  const cases = [
    [[1, 2], "model `bad` returned 2 values, expected 1 output (y)"],
    [[], "model `bad` returned 0 values, expected 1 output (y)"],
    [7, "model `bad` returned a number, expected an array of 1 output (y)"],
    [undefined, "model `bad` returned undefined, expected an array of 1 output (y)"],
    [{ y: 1 }, "model `bad` returned an object, expected an array of 1 output (y)"],
    [["7"], "output `y` is a string, not a number"],
  ];
  for (const [result, message] of cases) {
    const bad = exportModel({ name: "bad", version: "0", inputs: ["x"], outputs: ["y"], evaluate: () => result });
    const out = bad.runBatch(2, new Float64Array([1, 2]));
    assert.deepEqual(out, { values: new Float64Array(0), failure: { index: 0, message } });
    assert.throws(() => evaluateOne(bad, [1]), { message });
  }
});

test("a thrown value becomes its name and message, or its text", () => {
  class Refusal extends Error {
    get name() {
      return "Refusal";
    }
  }
  assert.equal(errorMessage(new TypeError("no")), "TypeError: no");
  assert.equal(errorMessage(new Refusal("x = 1")), "Refusal: x = 1");
  assert.equal(errorMessage(new Error("")), "Error");
  assert.equal(errorMessage("plain text"), "plain text");
  assert.equal(errorMessage(42), "42");
  assert.equal(errorMessage(Object.create(null)), "a thrown object that cannot be shown as text");
});

test("a malformed definition is refused when the module loads", () => {
  const good = { name: "m", version: "1", inputs: ["x"], outputs: ["y"], evaluate: (x) => [x] };
  assert.throws(() => exportModel({ ...good, name: "" }), TypeError);
  assert.throws(() => exportModel({ ...good, inputs: "x" }), TypeError);
  assert.throws(() => exportModel({ ...good, inputs: ["x[0]"] }), TypeError);
  assert.throws(() => exportModel({ ...good, outputs: [1] }), TypeError);
  assert.throws(() => exportModel({ ...good, evaluate: undefined }), TypeError);
  assert.throws(() => evaluateOne(good, [1]), TypeError);
});
