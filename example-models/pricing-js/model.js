/**
 * `pricing-js`: a European call option under geometric Brownian motion, in JavaScript.
 *
 * With `z` standard normal, the terminal price is
 * `ST = spot · exp((rate − vol²/2) · maturity + vol · √maturity · z)`, the discounted payoff
 * `price = exp(−rate · maturity) · max(ST − strike, 0)`, and `itm = 1` when `ST > strike`.
 * The same model as the Rust `pricing`; build it with `cargo xtask build-model pricing-js`.
 */

import { exportModel } from "../../model-sdk/js/mcp_model.js";

export const evaluate = exportModel({
  name: "pricing-js",
  version: "0.1.0",
  inputs: ["spot", "strike", "rate", "vol", "maturity", "z"],
  outputs: ["price", "itm"],

  evaluate(spot, strike, rate, vol, maturity, z) {
    const terminal = spot * Math.exp((rate - 0.5 * vol * vol) * maturity + vol * Math.sqrt(maturity) * z);
    const price = Math.exp(-rate * maturity) * Math.max(terminal - strike, 0.0);
    return [price, terminal > strike ? 1.0 : 0.0];
  },
});
