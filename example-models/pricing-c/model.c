/* `pricing-c`: the `pricing` example model in C, a European call under geometric Brownian
 * motion.
 *
 * With `z` standard normal, the terminal price is
 * ST = spot · exp((rate − vol²/2) · maturity + vol · √maturity · z), the discounted payoff
 * price = exp(−rate · maturity) · max(ST − strike, 0), and itm = 1 when ST > strike.
 * A negative maturity fails the scenario (its square root is not a number).
 */
#include "mcp_model.h"

#include <math.h>

MCP_MODEL("pricing-c", "0.1.0",
          ("spot", "strike", "rate", "vol", "maturity", "z"),
          ("price", "itm"));

int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err) {
    double spot = inputs[0], strike = inputs[1], rate = inputs[2], vol = inputs[3],
           maturity = inputs[4], z = inputs[5];
    if (maturity < 0.0) return mcp_fail(err, "maturity is negative");
    double terminal = spot * exp((rate - 0.5 * vol * vol) * maturity + vol * sqrt(maturity) * z);
    double payoff = terminal - strike;
    outputs[0] = exp(-rate * maturity) * (payoff > 0.0 ? payoff : 0.0);
    outputs[1] = terminal > strike ? 1.0 : 0.0;
    return 0;
}
