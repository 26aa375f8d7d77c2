"""Native tests of `sum-py` (run `pytest` here): one scenario, and one batch with a failure."""

import math

from mcp_model import evaluate_one

from model import Evaluate


def test_adds():
    assert evaluate_one(Evaluate, [1.5, 2.0]) == [3.5]


def test_a_batch_returns_the_rows_before_a_failure():
    # x + y of two infinities of opposite sign is NaN, not an error: every scenario succeeds.
    out = Evaluate().run_batch(3, [1.0, 2.0, math.inf, -math.inf, 3.0, 4.0])
    assert out.failure is None
    assert out.values[0] == 3.0 and math.isnan(out.values[1]) and out.values[2] == 7.0
    # The host sends only numbers; a string makes scenario 1 raise, and scenario 0 stands.
    out = Evaluate().run_batch(3, [1.0, 2.0, "a", 1.0, 3.0, 4.0])
    assert out.values == [3.0]
    assert out.failure.index == 1
    assert out.failure.message == 'TypeError: can only concatenate str (not "float") to str'
    # A row too short for the batch fails the batch at index 0, with no rows.
    out = Evaluate().run_batch(2, [1.0, 2.0, 3.0])
    assert out.values == []
    assert out.failure.index == 0
    assert out.failure.message == "the host sent 3 values for 2 scenarios of 2 inputs"
