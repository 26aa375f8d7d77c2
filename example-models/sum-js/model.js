/**
 * `sum-js`: the smallest model there is, `sum = x + y`, in JavaScript.
 */

import { exportModel } from "../../model-sdk/js/mcp_model.js";

export const evaluate = exportModel({
  name: "sum-js",
  version: "0.1.0",
  inputs: ["x", "y"],
  outputs: ["sum"],

  evaluate(x, y) {
    return [x + y];
  },
});
