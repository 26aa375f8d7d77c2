/* Native tests of the mcp C library itself (`make test` in model-sdk/c), with a model of its
 * own: inputs ("mode", "path[3]", "b"), outputs ("total", "last"). Mode 0 adds everything up,
 * the other modes misbehave in the ways the library must catch. */
#include "mcp_model.h"
#include "mcp_test.h"

#include <stdio.h>
#include <string.h>

MCP_MODEL("lib-test", "1.0.0", ("mode", "path[3]", "b"), ("total", "last"));

int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err) {
    const double *path = inputs + 1;
    switch ((int)inputs[0]) {
    case 1: /* a plain failure */
        return mcp_fail(err, "b is zero");
    case 2: /* writes past its two outputs */
        outputs[2] = 1.0;
        break;
    case 3: /* fails without saying why */
        return 7;
    case 4: /* a message of ill-formed UTF-8 */
        return mcp_fail(err, "bad \xff byte, cut \xc3");
    case 5: /* a message longer than kept, cut inside a two-byte character */
        memset(err->message, 'a', MCP_MESSAGE_MAX);
        err->message[MCP_MESSAGE_MAX - 2] = (char)0xC3;
        err->message[MCP_MESSAGE_MAX - 1] = (char)0xA9;
        return 1;
    case 6: /* a formatted message */
        return mcp_failf(err, "b = %g and mode = %d", inputs[4], 6);
    }
    outputs[0] = inputs[0] + path[0] + path[1] + path[2] + inputs[4];
    outputs[1] = path[2];
    return 0;
}

/* The message of a one-scenario batch in `mode`. */
static void batch_message(double mode, char *message) {
    const double row[] = {mode, 1.0, 2.0, 3.0, 4.0};
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(1, row, 5, &batch) == 1);
    MCP_CHECK(batch.index == 0 && batch.n_values == 0);
    MCP_CHECK(strlen(batch.message) == batch.message_len);
    strcpy(message, batch.message);
    mcp_batch_free(&batch);
}

static void declared_sizes_are_read_as_the_host_reads_them(void) {
    MCP_CHECK(mcp_input_size("z") == 1);
    MCP_CHECK(mcp_input_size("path[252]") == 252);
    MCP_CHECK(mcp_input_size("a[b][3]") == 3);
    MCP_CHECK(mcp_input_size("x[65536]") == 65536);
    const char *bad[] = {"x[0]", "x[65537]", "x[]", "[3]", "x]", "x[+5]", "x[1000000]"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) MCP_CHECK(mcp_input_size(bad[i]) == 0);
    MCP_CHECK(mcp_row_width() == 5 && mcp_output_count() == 2);
}

static void a_vector_input_is_a_slice_of_the_row(void) {
    const double row[] = {0.0, 1.0, 2.0, 3.0, 4.0};
    double out[2];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(row, 5, out, 2, &err) == 0);
    MCP_CHECK(out[0] == 10.0 && out[1] == 3.0);
}

static void a_batch_stops_at_the_first_failure(void) {
    const double rows[] = {
        0.0, 1.0, 1.0, 1.0, 1.0,
        0.0, 2.0, 2.0, 2.0, 2.0,
        1.0, 0.0, 0.0, 0.0, 0.0,
        0.0, 3.0, 3.0, 3.0, 3.0,
    };
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(4, rows, 20, &batch) == 1);
    MCP_CHECK(batch.failed == 1 && batch.index == 2 && strcmp(batch.message, "b is zero") == 0);
    MCP_CHECK(batch.n_values == 4);
    MCP_CHECK(batch.values[0] == 4.0 && batch.values[1] == 1.0);
    MCP_CHECK(batch.values[2] == 8.0 && batch.values[3] == 2.0);
    mcp_batch_free(&batch);
}

static void an_empty_batch_is_fine(void) {
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(0, NULL, 0, &batch) == 0);
    MCP_CHECK(!batch.failed && batch.n_values == 0);
    mcp_batch_free(&batch);
}

static void what_the_library_catches(void) {
    char message[MCP_MESSAGE_MAX];
    batch_message(2.0, message);
    MCP_CHECK(strcmp(message, "mcp_evaluate wrote more than the model's 2 outputs (total, last): "
                          "outputs[2] was set") == 0);
    batch_message(3.0, message);
    MCP_CHECK(strcmp(message, "mcp_evaluate returned 7 without a message (use mcp_fail)") == 0);
    batch_message(4.0, message);
    MCP_CHECK(strcmp(message, "bad ? byte, cut ?") == 0);
    batch_message(5.0, message);
    /* Cut to 1023 bytes: the lone lead byte of the cut character becomes '?'. */
    MCP_CHECK(strlen(message) == MCP_MESSAGE_MAX - 1 && message[MCP_MESSAGE_MAX - 2] == '?');
    batch_message(6.0, message);
    MCP_CHECK(strcmp(message, "b = 4 and mode = 6") == 0);
}

static void wrong_lengths_are_reported(void) {
    const double row[] = {0.0, 1.0, 2.0, 3.0, 4.0, 5.0};
    mcp_batch batch;
    MCP_CHECK(mcp_run_batch(2, row, 6, &batch) == 1);
    MCP_CHECK(strcmp(batch.message, "the host sent 6 values for 2 scenarios of 5 inputs") == 0);
    mcp_batch_free(&batch);
    /* A count whose rows would overflow 32 bits is no match for any length either. */
    MCP_CHECK(mcp_run_batch(UINT32_MAX, row, 6, &batch) == 1 && batch.index == 0);
    mcp_batch_free(&batch);
    double out[3];
    mcp_error err;
    MCP_CHECK(mcp_evaluate_one(row, 4, out, 2, &err) == 1);
    MCP_CHECK(strcmp(err.message,
                 "model `lib-test` takes 5 input values (mode, path[3], b), got 4") == 0);
    MCP_CHECK(mcp_evaluate_one(row, 5, out, 3, &err) == 1);
    MCP_CHECK(strcmp(err.message, "model `lib-test` has 2 outputs (total, last), "
                              "the caller has room for 3") == 0);
}

int main(void) {
    declared_sizes_are_read_as_the_host_reads_them();
    a_vector_input_is_a_slice_of_the_row();
    a_batch_stops_at_the_first_failure();
    an_empty_batch_is_fine();
    what_the_library_catches();
    wrong_lengths_are_reported();
    return mcp_test_end("mcp_model");
}
