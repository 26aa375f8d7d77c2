"""Native tests of `pricing-py` (run `pytest` here): the facts the Rust pricing's tests check."""

import math

import pytest
from mcp_model import evaluate_one

from model import Evaluate


def test_at_z_zero_the_payoff_is_the_drifted_forward():
    price, itm = evaluate_one(Evaluate, [100.0, 100.0, 0.05, 0.2, 1.0, 0.0])
    terminal = 100.0 * math.exp(0.05 - 0.02)
    assert price == pytest.approx(math.exp(-0.05) * (terminal - 100.0), abs=1e-12)
    assert itm == 1.0


def test_out_of_the_money_pays_nothing():
    assert evaluate_one(Evaluate, [100.0, 150.0, 0.05, 0.2, 1.0, -1.0]) == [0.0, 0.0]


def test_describe_names_the_model():
    info = Evaluate().describe()
    assert (info.name, info.version) == ("pricing-py", "0.1.0")
    assert info.inputs == ["spot", "strike", "rate", "vol", "maturity", "z"]
    assert info.outputs == ["price", "itm"]


def test_a_batch_stops_at_the_failing_scenario():
    # The third scenario's maturity is negative: math.sqrt raises ValueError on it.
    rows = [
        [100.0, 100.0, 0.05, 0.2, 1.0, 0.0],
        [100.0, 150.0, 0.05, 0.2, 1.0, -1.0],
        [100.0, 100.0, 0.05, 0.2, -1.0, 0.0],
        [100.0, 100.0, 0.05, 0.2, 1.0, 1.0],
    ]
    out = Evaluate().run_batch(len(rows), [v for row in rows for v in row])
    assert out.values == evaluate_one(Evaluate, rows[0]) + evaluate_one(Evaluate, rows[1])
    assert out.failure.index == 2
    assert out.failure.message == "ValueError: math domain error"
