"""`{{name}}`: a model for mcp, in Python. It adds its two inputs: sum = x + y.

Each scenario is one call of `evaluate`: one argument per name in `inputs`, in that order (a
float, or a list of N floats for a vector input `"name[N]"`); it returns one number per name in
`outputs`. Raising an exception fails that scenario alone, with the message
`"ExceptionType: message"`. Test natively with `pytest` here; build the component with
`cargo xtask build-model DIR` in the mcp checkout (DIR is this directory; it writes
target/models/{{name}}.wasm) and run it with
`mcp submit target/models/{{name}}.wasm --spec vars.toml`.
"""

from mcp_model import export_model


def evaluate(x, y):
    """One scenario: the sum of the two inputs."""
    return (x + y,)


Evaluate = export_model(
    name="{{name}}",
    version="0.1.0",
    inputs=["x", "y"],
    outputs=["sum"],
    evaluate=evaluate,
)
