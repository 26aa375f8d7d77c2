"""`sum-py`: the smallest model there is, `sum = x + y`, in Python."""

from mcp_model import export_model


def evaluate(x, y):
    """One scenario: the sum of its two inputs."""
    return (x + y,)


Evaluate = export_model(
    name="sum-py",
    version="0.1.0",
    inputs=["x", "y"],
    outputs=["sum"],
    evaluate=evaluate,
)
