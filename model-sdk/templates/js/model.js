/**
 * `{{name}}`: a model for mcp, in JavaScript. It adds its two inputs: sum = x + y.
 *
 * Each scenario is one call of `evaluate`: one argument per name in `inputs`, in that order (a
 * number, or an array of N numbers for a vector input `"name[N]"`); it returns an array of one
 * number per name in `outputs`. Throwing fails that scenario alone, with the error's
 * `name: message`. Test natively with `node --test` here; build the component with
 * `cargo xtask build-model DIR` in the mcp checkout (DIR is this directory; it writes
 * target/models/{{name}}.wasm) and run it with
 * `mcp submit target/models/{{name}}.wasm --spec vars.toml`. `mcp_model.js` beside it is a copy
 * of the SDK's guest library (`model-sdk/js/` of the mcp checkout it came from).
 */

import { exportModel } from "./mcp_model.js";

export const evaluate = exportModel({
  name: "{{name}}",
  version: "0.1.0",
  inputs: ["x", "y"],
  outputs: ["sum"],

  evaluate(x, y) {
    return [x + y];
  },
});
