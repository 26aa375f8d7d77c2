/* Native tests of `sum-c` (`make test`): one scenario through the library's one-scenario
 * helper, and batches through the library's batch loop. */
#include "mcp_model.h"
#include "mcp_test.h"

#include <stdio.h>
#include <string.h>

static void adds(void) {
    const double in[] = {1.5, 2.0};
    double out[1];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(in, 2, out, 1, &err) == 0);
    MCP_CHECK(out[0] == 3.5);
}

static void describes_itself(void) {
    MCP_CHECK(strcmp(mcp_model.name, "sum-c") == 0 && strcmp(mcp_model.version, "0.1.0") == 0);
    MCP_CHECK(mcp_row_width() == 2 && mcp_output_count() == 1);
}

static void a_batch_gives_one_row_per_scenario(void) {
    const double in[] = {1.0, 2.0, -1.0, 1.0, 0.25, 0.5};
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(3, in, 6, &batch) == 0);
    MCP_CHECK(!batch.failed && batch.n_values == 3);
    MCP_CHECK(batch.values[0] == 3.0 && batch.values[1] == 0.0 && batch.values[2] == 0.75);
    mcp_batch_free(&batch);
}

static void a_batch_of_the_wrong_length_fails_at_its_start(void) {
    const double in[] = {1.0, 2.0, 3.0};
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(2, in, 3, &batch) == 1);
    MCP_CHECK(batch.index == 0 && batch.n_values == 0);
    MCP_CHECK(strcmp(batch.message, "the host sent 3 values for 2 scenarios of 2 inputs") == 0);
    mcp_batch_free(&batch);
}

int main(void) {
    adds();
    describes_itself();
    a_batch_gives_one_row_per_scenario();
    a_batch_of_the_wrong_length_fails_at_its_start();
    return mcp_test_end("sum-c");
}
