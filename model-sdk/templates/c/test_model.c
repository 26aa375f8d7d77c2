/* Native tests of `{{name}}` (`make test`): one scenario through the mcp library's
 * one-scenario helper, and a batch through its batch loop. */
#include "mcp_model.h"
#include "mcp_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void adds(void) {
    const double in[] = {1.5, 2.0};
    double out[1];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(in, 2, out, 1, &err) == 0);
    MCP_CHECK(out[0] == 3.5);
}

static void a_batch_stops_at_its_first_failed_scenario(void) {
    const double in[] = {1.0, 2.0, NAN, 1.0, 3.0, 4.0};
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(3, in, 6, &batch) == 1);
    MCP_CHECK(batch.index == 1 && strcmp(batch.message, "an input is not a number") == 0);
    /* The rows before the failure stand. */
    MCP_CHECK(batch.n_values == 1 && batch.values[0] == 3.0);
    mcp_batch_free(&batch);
}

int main(void) {
    adds();
    a_batch_stops_at_its_first_failed_scenario();
    return mcp_test_end("{{name}}");
}
