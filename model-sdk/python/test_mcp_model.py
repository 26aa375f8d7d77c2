"""Native tests of the guest library (run `pytest` in model-sdk/python): the batch loop's rules."""

import math

import pytest

from mcp_model import evaluate_one, export_model, input_size, row_width


def test_declared_sizes_are_read_as_the_host_reads_them():
    assert input_size("z") == 1
    assert input_size("path[252]") == 252
    assert input_size("a[b][3]") == 3
    assert input_size("x[65536]") == 65536
    assert row_width(["s0", "path[252]", "k"]) == 254
    for bad in ["x[0]", "x[65537]", "x[]", "[3]", "x]", "x[+5]", "x[1234567]", "x[٣]"]:
        with pytest.raises(ValueError):
            input_size(bad)


def ratio(a, b):
    if b == 0.0:
        raise ZeroDivisionError("b is zero")
    return (a / b,)


Ratio = export_model(name="ratio", version="1.0.0", inputs=["a", "b"], outputs=["ratio"],
                     evaluate=ratio)


def test_batch_loop_stops_at_the_first_failure():
    out = Ratio().run_batch(3, [1.0, 2.0, 1.0, 0.0, 3.0, 1.0])
    assert out.values == [0.5]
    assert (out.failure.index, out.failure.message) == (1, "ZeroDivisionError: b is zero")


def test_batch_loop_runs_every_scenario():
    out = Ratio().run_batch(2, [1.0, 2.0, 3.0, 1.0])
    assert out.values == [0.5, 3.0]
    assert out.failure is None
    assert Ratio().run_batch(0, []).values == []


def test_wrong_input_length_is_reported():
    out = Ratio().run_batch(2, [1.0, 2.0, 3.0])
    assert out.values == []
    assert (out.failure.index, out.failure.message) == (
        0, "the host sent 3 values for 2 scenarios of 2 inputs")
    with pytest.raises(ValueError, match=r"model `ratio` takes 2 input values \(a, b\), got 1"):
        evaluate_one(Ratio, [1.0])


def test_describe_lists_names():
    info = Ratio().describe()
    assert (info.name, info.version, info.inputs, info.outputs) == (
        "ratio", "1.0.0", ["a", "b"], ["ratio"])


def test_vector_inputs_arrive_as_lists():
    seen = []

    def mean_path(s0, path, k):
        seen.append((s0, path, k))
        return sum(path) / len(path), s0 * k

    model = export_model(name="paths", version="0.1.0", inputs=["s0", "path[3]", "k"],
                         outputs=["mean", "scaled"], evaluate=mean_path)
    out = model().run_batch(2, [1.0, 2.0, 4.0, 6.0, 2.0, 0.5, 1.0, 1.0, 1.0, 3.0])
    assert seen == [(1.0, [2.0, 4.0, 6.0], 2.0), (0.5, [1.0, 1.0, 1.0], 3.0)]
    assert out.values == [4.0, 2.0, 1.0, 1.5]
    assert out.failure is None


def test_outputs_are_checked_and_made_floats():
    def answer(x):
        if x == 0.0:
            return 1, True  # ints and bools are numbers
        if x == 1.0:
            return (2.0,)  # one output short
        return 3.0, "three"  # not a number

    model = export_model(name="answer", version="0.1.0", inputs=["x"], outputs=["a", "b"],
                         evaluate=answer)
    assert evaluate_one(model, [0.0]) == [1.0, 1.0]
    assert all(type(v) is float for v in evaluate_one(model, [0.0]))
    out = model().run_batch(2, [0.0, 1.0])
    assert out.values == [1.0, 1.0]
    assert (out.failure.index, out.failure.message) == (
        1, "evaluate returned 1 output, expected 2 (a, b)")
    out = model().run_batch(3, [0.0, 0.0, 2.0])
    assert out.values == [1.0, 1.0, 1.0, 1.0]
    assert (out.failure.index, out.failure.message) == (
        2, "evaluate returned str 'three' for output `b`, expected a number")
    with pytest.raises(ValueError, match="expected a number"):
        evaluate_one(model, [2.0])


def test_one_output_may_be_a_bare_number():
    model = export_model(name="half", version="0.1.0", inputs=["x"], outputs=["half"],
                         evaluate=lambda x: x / 2)
    assert model().run_batch(2, [1.0, math.inf]).values == [0.5, math.inf]
    wrong = export_model(name="none", version="0.1.0", inputs=["x"], outputs=["y"],
                         evaluate=lambda x: None)
    out = wrong().run_batch(1, [1.0])
    expected = "evaluate returned NoneType None, expected a tuple of 1 output (y)"
    assert out.failure.message == expected


def test_an_exception_without_a_message_is_named():
    def fail(x):
        raise KeyError

    model = export_model(name="fail", version="0.1.0", inputs=["x"], outputs=["y"], evaluate=fail)
    assert model().run_batch(1, [1.0]).failure.message == "KeyError"
    with pytest.raises(KeyError):
        evaluate_one(model, [1.0])


def test_exit_and_huge_numbers_fail_the_scenario():
    def odd(x):
        if x == 1.0:
            raise SystemExit(3)
        return 10**400

    model = export_model(name="odd", version="0.1.0", inputs=["x"], outputs=["y"], evaluate=odd)
    assert model().run_batch(2, [0.0, 1.0]).failure.index == 0
    out = model().run_batch(1, [1.0])
    assert (out.values, out.failure.message) == ([], "SystemExit: 3")
    assert "for output `y`, expected a number" in model().run_batch(1, [0.0]).failure.message


def test_bad_declarations_are_refused_at_import():
    with pytest.raises(ValueError):
        export_model(name="", version="0.1.0", inputs=["x"], outputs=["y"], evaluate=abs)
    with pytest.raises(ValueError):
        export_model(name="m", version="0.1.0", inputs="x", outputs=["y"], evaluate=abs)
    with pytest.raises(ValueError):
        export_model(name="m", version="0.1.0", inputs=["x[0]"], outputs=["y"], evaluate=abs)
    with pytest.raises(ValueError):
        export_model(name="m", version="0.1.0", inputs=["x"], outputs=["y"], evaluate=None)
