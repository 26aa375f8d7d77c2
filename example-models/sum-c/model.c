/* `sum-c`: the smallest model there is, in C: sum = x + y. */
#include "mcp_model.h"

MCP_MODEL("sum-c", "0.1.0", ("x", "y"), ("sum"));

int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err) {
    (void)err; /* adding never fails */
    outputs[0] = inputs[0] + inputs[1];
    return 0;
}
