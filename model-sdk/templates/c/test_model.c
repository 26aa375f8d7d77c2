/* Native tests of `{{name}}` (`make test`): one scenario through the mcp library's
 * one-scenario helper, and a batch through its batch loop. */
#include "mcp_model.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int failures = 0;

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            failures++;                                                                      \
        }                                                                                    \
    } while (0)

static void adds(void) {
    const double in[] = {1.5, 2.0};
    double out[1];
    mcp_error err;
    CHECK(mcp_evaluate_one(in, 2, out, 1, &err) == 0);
    CHECK(out[0] == 3.5);
}

static void a_batch_stops_at_its_first_failed_scenario(void) {
    const double in[] = {1.0, 2.0, NAN, 1.0, 3.0, 4.0};
    mcp_batch batch;
    CHECK(mcp_run_batch(3, in, 6, &batch) == 1);
    CHECK(batch.index == 1 && strcmp(batch.message, "an input is not a number") == 0);
    /* The rows before the failure stand. */
    CHECK(batch.n_values == 1 && batch.values[0] == 3.0);
    mcp_batch_free(&batch);
}

int main(void) {
    adds();
    a_batch_stops_at_its_first_failed_scenario();
    if (failures != 0) {
        fprintf(stderr, "{{name}}: %d check(s) failed\n", failures);
        return 1;
    }
    printf("{{name}}: all tests passed\n");
    return 0;
}
