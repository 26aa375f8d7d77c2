"""The `pricing` example model as a numpy user writes it: vectorised, one process.

The baseline of `cargo xtask bench`: the same European call payoff as
example-models/pricing, the same scenario count, standard normal draws from numpy's default
generator, and the summary an analyst would ask numpy for (mean, standard deviation and
percentiles of both outputs). Prints one JSON line with the elapsed seconds.

Usage: python3 bench/numpy_pricing.py SCENARIOS [CHUNK]
"""

import json
import sys
import time

import numpy as np

PERCENTILES = [1, 5, 10, 25, 50, 75, 90, 95, 99]


def main():
    scenarios = int(sys.argv[1])
    # Chunks bound the temporaries (a numpy user would do the same past a few million).
    chunk = int(sys.argv[2]) if len(sys.argv) > 2 else 4_000_000
    spot, strike, rate, vol, maturity = 100.0, 100.0, 0.05, 0.2, 1.0
    start = time.perf_counter()
    rng = np.random.default_rng(42)
    price = np.empty(scenarios)
    itm = np.empty(scenarios)
    drift = (rate - 0.5 * vol * vol) * maturity
    diffusion = vol * np.sqrt(maturity)
    discount = np.exp(-rate * maturity)
    for lo in range(0, scenarios, chunk):
        hi = min(lo + chunk, scenarios)
        z = rng.standard_normal(hi - lo)
        terminal = spot * np.exp(drift + diffusion * z)
        np.multiply(discount, np.maximum(terminal - strike, 0.0), out=price[lo:hi])
        np.greater(terminal, strike, out=itm[lo:hi])
    summary = {}
    for name, values in (("price", price), ("itm", itm)):
        summary[name] = {
            "mean": float(values.mean()),
            "std": float(values.std(ddof=1)),
            "percentiles": [float(p) for p in np.percentile(values, PERCENTILES)],
        }
    elapsed = time.perf_counter() - start
    print(json.dumps({"scenarios": scenarios, "elapsed_s": elapsed, "outputs": summary}))


if __name__ == "__main__":
    main()
