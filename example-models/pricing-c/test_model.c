/* Native tests of `pricing-c` (`make test`): the facts the Rust pricing's tests check, through
 * the library's one-scenario helper, and one batch through the library's batch loop. */
#include "mcp_model.h"
#include "mcp_test.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void at_z_zero_the_payoff_is_the_drifted_forward(void) {
    const double in[] = {100.0, 100.0, 0.05, 0.2, 1.0, 0.0};
    double out[2];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(in, 6, out, 2, &err) == 0);
    double terminal = 100.0 * exp(0.05 - 0.02);
    double expected = exp(-0.05) * (terminal - 100.0);
    MCP_CHECK(fabs(out[0] - expected) < 1e-12);
    MCP_CHECK(out[1] == 1.0);
}

static void out_of_the_money_pays_nothing(void) {
    const double in[] = {100.0, 150.0, 0.05, 0.2, 1.0, -1.0};
    double out[2];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(in, 6, out, 2, &err) == 0);
    MCP_CHECK(out[0] == 0.0 && out[1] == 0.0);
}

static void a_wrong_row_is_refused(void) {
    const double in[] = {100.0, 100.0};
    double out[2];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(in, 2, out, 2, &err) != 0);
    MCP_CHECK(strcmp(err.message, "model `pricing-c` takes 6 input values "
                              "(spot, strike, rate, vol, maturity, z), got 2") == 0);
}

static void a_batch_stops_at_the_failing_scenario(void) {
    /* The third scenario's maturity is negative: the model refuses it. */
    const double in[] = {
        100.0, 100.0, 0.05, 0.2, 1.0, 0.0,
        100.0, 150.0, 0.05, 0.2, 1.0, -1.0,
        100.0, 100.0, 0.05, 0.2, -1.0, 0.0,
        100.0, 100.0, 0.05, 0.2, 1.0, 1.0,
    };
    double first[2], second[2];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(in, 6, first, 2, &err) == 0);
    MCP_CHECK(mcp_evaluate_one(in + 6, 6, second, 2, &err) == 0);
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(4, in, 24, &batch) == 1);
    MCP_CHECK(batch.failed && batch.index == 2);
    MCP_CHECK(strcmp(batch.message, "maturity is negative") == 0);
    MCP_CHECK(batch.message_len == strlen("maturity is negative"));
    /* The rows before the failure stand. */
    MCP_CHECK(batch.n_values == 4);
    MCP_CHECK(memcmp(batch.values, first, sizeof first) == 0);
    MCP_CHECK(memcmp(batch.values + 2, second, sizeof second) == 0);
    mcp_batch_free(&batch);
}

static void a_batch_stops_at_a_wrong_length(void) {
    /* Two scenarios, one value short: a failure at index 0 and no rows. */
    const double in[11] = {0};
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(2, in, 11, &batch) == 1);
    MCP_CHECK(batch.index == 0 && batch.n_values == 0);
    MCP_CHECK(strcmp(batch.message, "the host sent 11 values for 2 scenarios of 6 inputs") == 0);
    mcp_batch_free(&batch);
}

static void a_batch_runs_every_scenario(void) {
    const double in[] = {
        100.0, 100.0, 0.05, 0.2, 1.0, 0.0,  /* in the money */
        100.0, 150.0, 0.05, 0.2, 1.0, -1.0, /* out of the money */
        100.0, 100.0, 0.05, 0.2, 1.0, 1.0,
    };
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(3, in, 18, &batch) == 0);
    MCP_CHECK(!batch.failed && batch.n_values == 6);
    MCP_CHECK(batch.values[0] > 0.0 && batch.values[1] == 1.0);
    MCP_CHECK(batch.values[2] == 0.0 && batch.values[3] == 0.0);
    MCP_CHECK(batch.values[4] > batch.values[0] && batch.values[5] == 1.0);
    mcp_batch_free(&batch);
}

int main(void) {
    at_z_zero_the_payoff_is_the_drifted_forward();
    out_of_the_money_pays_nothing();
    a_wrong_row_is_refused();
    a_batch_stops_at_the_failing_scenario();
    a_batch_stops_at_a_wrong_length();
    a_batch_runs_every_scenario();
    return mcp_test_end("pricing-c");
}
