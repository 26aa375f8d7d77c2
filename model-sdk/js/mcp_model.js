/**
 * The guest library for mcp models in JavaScript: write one plain function per scenario, get
 * the `mcp:model/evaluate` interface (see `../wit/model.wit`) that componentize-js exports.
 *
 * A model module does
 *
 *     import { exportModel } from "../../model-sdk/js/mcp_model.js";
 *     export const evaluate = exportModel({
 *       name: "sum", version: "0.1.0", inputs: ["x", "y"], outputs: ["sum"],
 *       evaluate(x, y) { return [x + y]; },
 *     });
 *
 * `evaluate` gets one argument per input name: a number for a scalar input, a Float64Array of N
 * values for a vector input declared `name[N]`. It returns an array with one number per output
 * name, or throws to fail that scenario. The library runs the batch loop, checks each result,
 * stops at the first failed scenario and reports its index with the error's `name: message`,
 * keeping the rows before it. The same module runs under Node, so a model is tested natively
 * with `node --test` through `evaluateOne` and the exported `runBatch`.
 *
 * componentize-js resolves this import at build time when it runs in a directory holding both
 * the model and this file (it sees only its working directory); a model built elsewhere keeps a
 * copy of this file beside it. The file has no imports and no top-level side effects.
 */

/** Most values a vector input takes (the host's rule, as in model.wit). */
const MAX_VECTOR = 65536;

/** What `exportModel` returned, mapped to the checked model behind it (for `evaluateOne`). */
const MODELS = new WeakMap();

/**
 * How many values a declared input takes: N for `name[N]` (1 ≤ N ≤ 65536), else 1.
 * Throws on a name that ends in `]` without a valid `[N]`, as the host refuses it.
 */
export function inputSize(declared) {
  if (!declared.endsWith("]")) {
    return 1;
  }
  const match = /^(.+)\[([0-9]{1,6})\]$/.exec(declared);
  const size = match === null ? 0 : Number(match[2]);
  if (size < 1 || size > MAX_VECTOR) {
    throw new TypeError(
      `input \`${declared}\`: a vector input is declared \`name[N]\` with N from 1 to ${MAX_VECTOR}`,
    );
  }
  return size;
}

/** How many values one row of inputs holds: the sum of the inputs' sizes. */
export function rowWidth(inputs) {
  let width = 0;
  for (const name of inputs) {
    width += inputSize(name);
  }
  return width;
}

/** Throws a TypeError unless `list` is an array of non-empty strings. */
function checkNames(what, list) {
  if (!Array.isArray(list) || !list.every((s) => typeof s === "string" && s.length > 0)) {
    throw new TypeError(`exportModel: \`${what}\` must be an array of non-empty strings`);
  }
}

/**
 * Turns a model definition `{name, version, inputs, outputs, evaluate}` into the object that
 * componentize-js exports as `mcp:model/evaluate`: `{describe(), runBatch(count, inputs)}`.
 * Throws a TypeError on a malformed definition, so a broken model fails its build and its tests.
 */
export function exportModel(definition) {
  const { name, version, inputs, outputs, evaluate } = definition ?? {};
  for (const [what, value] of [["name", name], ["version", version]]) {
    if (typeof value !== "string" || value.length === 0) {
      throw new TypeError(`exportModel: \`${what}\` must be a non-empty string`);
    }
  }
  checkNames("inputs", inputs);
  checkNames("outputs", outputs);
  if (typeof evaluate !== "function") {
    throw new TypeError("exportModel: `evaluate` must be a function of one scenario's inputs");
  }
  // Frozen copies: the model cannot change its names once described.
  const model = {
    definition,
    name,
    version,
    inputs: Object.freeze(inputs.slice()),
    outputs: Object.freeze(outputs.slice()),
    sizes: inputs.map(inputSize),
    // Whether each input is a vector (`name[N]`, even `name[1]`), handed over as a Float64Array.
    vector: inputs.map((s) => s.endsWith("]")),
    scalarsOnly: !inputs.some((s) => s.endsWith("]")),
    width: rowWidth(inputs),
    evaluate,
  };
  const exported = {
    describe() {
      return { name, version, inputs: model.inputs.slice(), outputs: model.outputs.slice() };
    },
    runBatch(count, values) {
      return runBatch(model, count, values);
    },
  };
  MODELS.set(exported, model);
  return exported;
}

/** A thrown value as a failure message: an error's `name: message`, else `String(thrown)`. */
export function errorMessage(thrown) {
  // The tag check also recognises an error made in another global, for which `instanceof` fails.
  if (thrown instanceof Error || Object.prototype.toString.call(thrown) === "[object Error]") {
    return thrown.message === "" ? String(thrown.name) : `${thrown.name}: ${thrown.message}`;
  }
  try {
    return String(thrown);
  } catch {
    // E.g. an object without a prototype, which has no way to become a string.
    return `a thrown ${typeof thrown} that cannot be shown as text`;
  }
}

/** A failed check of the model's result, reported as the scenario's failure message. */
class OutputError extends Error {}

/** `model.outputs`, with their count, for messages. */
function expected(model) {
  const n = model.outputs.length;
  return `${n} output${n === 1 ? "" : "s"} (${model.outputs.join(", ")})`;
}

/**
 * Writes the array `out` that the model returned into `values` at `offset`, after checking it
 * holds one number per output; throws an OutputError otherwise.
 */
function store(model, out, values, offset) {
  const n = model.outputs.length;
  if (!Array.isArray(out) && !(ArrayBuffer.isView(out) && !(out instanceof DataView))) {
    const what = out === null || out === undefined ? String(out) : typeof out === "object" ? "an object" : `a ${typeof out}`;
    throw new OutputError(`model \`${model.name}\` returned ${what}, expected an array of ${expected(model)}`);
  }
  if (out.length !== n) {
    throw new OutputError(
      `model \`${model.name}\` returned ${out.length} value${out.length === 1 ? "" : "s"}, expected ${expected(model)}`,
    );
  }
  for (let k = 0; k < n; k++) {
    const v = out[k];
    if (typeof v !== "number") {
      throw new OutputError(`output \`${model.outputs[k]}\` is a ${typeof v}, not a number`);
    }
    values[offset + k] = v;
  }
}

/** Fills `args` with the row at `offset` of `inputs`: numbers, and views for vector inputs. */
function fillArgs(model, inputs, offset, args) {
  const sizes = model.sizes;
  if (model.scalarsOnly) {
    for (let j = 0; j < sizes.length; j++) {
      args[j] = inputs[offset + j];
    }
    return;
  }
  for (let j = 0; j < sizes.length; j++) {
    const size = sizes[j];
    // A view, not a copy: the model reads the row where the host put it.
    args[j] = model.vector[j] ? inputs.subarray(offset, offset + size) : inputs[offset];
    offset += size;
  }
}

/**
 * Calls `fn` on the row of `width` (at most 8) scalars at offset `o` of `x`, with the values as
 * direct arguments: in StarlingMonkey's interpreter this is a fifth faster than `apply`.
 */
function callScalars(fn, self, x, o, width) {
  switch (width) {
    case 0:
      return fn.call(self);
    case 1:
      return fn.call(self, x[o]);
    case 2:
      return fn.call(self, x[o], x[o + 1]);
    case 3:
      return fn.call(self, x[o], x[o + 1], x[o + 2]);
    case 4:
      return fn.call(self, x[o], x[o + 1], x[o + 2], x[o + 3]);
    case 5:
      return fn.call(self, x[o], x[o + 1], x[o + 2], x[o + 3], x[o + 4]);
    case 6:
      return fn.call(self, x[o], x[o + 1], x[o + 2], x[o + 3], x[o + 4], x[o + 5]);
    case 7:
      return fn.call(self, x[o], x[o + 1], x[o + 2], x[o + 3], x[o + 4], x[o + 5], x[o + 6]);
    default:
      return fn.call(self, x[o], x[o + 1], x[o + 2], x[o + 3], x[o + 4], x[o + 5], x[o + 6], x[o + 7]);
  }
}

/** The batch loop behind `runBatch`: one call of the model per row, up to the first failure. */
function runBatch(model, count, given) {
  // The bindings hand over a Float64Array of another global, so `instanceof Float64Array` is
  // false for it; copying it element by element would cost more than the model itself.
  const inputs = ArrayBuffer.isView(given) ? given : Float64Array.from(given);
  const width = model.width;
  const n = model.outputs.length;
  if (inputs.length !== count * width) {
    return {
      values: new Float64Array(0),
      failure: {
        index: 0,
        message: `the host sent ${inputs.length} values for ${count} scenarios of ${width} inputs`,
      },
    };
  }
  const values = new Float64Array(count * n);
  const args = new Array(model.sizes.length);
  const definition = model.definition;
  const evaluate = model.evaluate;
  let i = 0;
  try {
    if (model.scalarsOnly && width <= 8) {
      for (; i < count; i++) {
        store(model, callScalars(evaluate, definition, inputs, i * width, width), values, i * n);
      }
    } else {
      for (; i < count; i++) {
        fillArgs(model, inputs, i * width, args);
        store(model, evaluate.apply(definition, args), values, i * n);
      }
    }
  } catch (thrown) {
    const message = thrown instanceof OutputError ? thrown.message : errorMessage(thrown);
    return { values: values.slice(0, i * n), failure: { index: i, message } };
  }
  return { values, failure: undefined };
}

/**
 * Runs one scenario natively, as the component would: for a model's unit tests.
 * `exported` is what `exportModel` returned, `row` one value per input (N for `name[N]`).
 * Returns the outputs as an array of numbers; rethrows what the model throws; throws an Error
 * when the row's length or the model's result is wrong.
 */
export function evaluateOne(exported, row) {
  const model = MODELS.get(exported);
  if (model === undefined) {
    throw new TypeError("evaluateOne: pass what exportModel returned (the model's `evaluate` export)");
  }
  const inputs = Float64Array.from(row);
  if (inputs.length !== model.width) {
    throw new Error(
      `model \`${model.name}\` takes ${model.width} input values (${model.inputs.join(", ")}), got ${inputs.length}`,
    );
  }
  const args = new Array(model.sizes.length);
  fillArgs(model, inputs, 0, args);
  const values = new Float64Array(model.outputs.length);
  try {
    store(model, model.evaluate.apply(model.definition, args), values, 0);
  } catch (thrown) {
    if (thrown instanceof OutputError) {
      throw new Error(thrown.message);
    }
    throw thrown;
  }
  return Array.from(values);
}
