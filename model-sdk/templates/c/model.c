/* `{{name}}`: a model for mcp, in C. It adds its two inputs: sum = x + y.
 *
 * Each scenario is one call of mcp_evaluate: `inputs` holds the values of the inputs named in
 * MCP_MODEL, in that order, and mcp_evaluate writes one value per output name. Return 0, or
 * fail the scenario with `return mcp_fail(err, "why");`. Test natively with `make test`; build
 * the component with `cargo xtask build-model {{name}}` (it writes
 * target/models/{{name}}.wasm) and run it with `mcp submit target/models/{{name}}.wasm
 * --spec vars.toml` (the paths as seen from where you run it).
 */
#include "mcp_model.h"

#include <math.h>

MCP_MODEL("{{name}}", "0.1.0", ("x", "y"), ("sum"));

int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err) {
    double x = inputs[0], y = inputs[1];
    if (isnan(x) || isnan(y)) return mcp_fail(err, "an input is not a number");
    outputs[0] = x + y;
    return 0;
}
