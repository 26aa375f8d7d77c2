"""Native tests of `{{name}}` (run `pytest` in this directory)."""

from mcp_model import evaluate_one

from model import Evaluate


def test_one_scenario():
    assert evaluate_one(Evaluate, [1.5, 2.0]) == [3.5]


def test_a_batch_stops_at_the_first_failing_scenario():
    # The host sends only numbers; a string makes scenario 1 raise, and scenario 0 stands.
    out = Evaluate().run_batch(3, [1.0, 2.0, "a", 1.0, 3.0, 4.0])
    assert out.values == [3.0]
    assert out.failure.index == 1
    assert out.failure.message.startswith("TypeError: ")
