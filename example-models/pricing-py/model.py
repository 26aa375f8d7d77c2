"""`pricing-py`: the `pricing` example in Python, a European call under geometric Brownian motion.

With `z` standard normal, the terminal price is
`ST = spot · exp((rate − vol²/2) · maturity + vol · √maturity · z)`, the discounted payoff
`price = exp(−rate · maturity) · max(ST − strike, 0)`, and `itm = 1` when `ST > strike`.
The mean of `price` converges to the Black–Scholes price, the mean of `itm` to N(d2).
"""

import math

from mcp_model import export_model


def evaluate(spot, strike, rate, vol, maturity, z):
    """One scenario: the discounted payoff and whether the option ends in the money."""
    terminal = spot * math.exp((rate - 0.5 * vol * vol) * maturity + vol * math.sqrt(maturity) * z)
    price = math.exp(-rate * maturity) * max(terminal - strike, 0.0)
    return price, 1.0 if terminal > strike else 0.0


Evaluate = export_model(
    name="pricing-py",
    version="0.1.0",
    inputs=["spot", "strike", "rate", "vol", "maturity", "z"],
    outputs=["price", "itm"],
    evaluate=evaluate,
)
