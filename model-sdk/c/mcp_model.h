/* The C guest library for mcp models: write one function per scenario, get a Wasm component.
 *
 * A model file names the model with MCP_MODEL and defines mcp_evaluate; mcp_model.c does the
 * rest: the component's exports of the `mcp:model/evaluate` interface (model-sdk/wit/model.wit,
 * canonical ABI written by hand), the batch loop, the row slicing and the checks. Built with
 * gcc instead of clang --target=wasm32-wasi, the same two files make a native library, so a
 * model is unit-tested with plain `make test` through mcp_evaluate_one and mcp_run_batch.
 *
 *     #include "mcp_model.h"
 *
 *     MCP_MODEL("sum", "0.1.0", ("x", "y"), ("sum"));
 *
 *     int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err) {
 *         (void)err;
 *         outputs[0] = inputs[0] + inputs[1];
 *         return 0;
 *     }
 *
 * A vector input declared "name[N]" (1 <= N <= 65536) takes N consecutive values of the row:
 * with inputs ("s0", "path[252]", "k"), `inputs[0]` is s0, `inputs + 1` points at the 252
 * values of path, and `inputs[253]` is k.
 */
#ifndef MCP_MODEL_H
#define MCP_MODEL_H

#include <stddef.h>
#include <stdint.h>

/* The longest failure message kept, terminating NUL included (mcp keeps 1024 bytes). */
#define MCP_MESSAGE_MAX 1024

/* Where mcp_evaluate writes why a scenario failed (see mcp_fail and mcp_failf). */
typedef struct mcp_error {
    char message[MCP_MESSAGE_MAX];
} mcp_error;

/* A model's self-description; the name lists end with NULL. Define it with MCP_MODEL. */
typedef struct mcp_model_info {
    const char *name;
    const char *version;
    const char *const *inputs;
    const char *const *outputs;
} mcp_model_info;

/* The model's description, defined by the model file through MCP_MODEL. */
extern const mcp_model_info mcp_model;

/* MCP_MODEL("pricing", "0.1.0", ("spot", "strike"), ("price", "itm")); defines `mcp_model`.
 * The input and output lists are parenthesised, each with at least one name. */
#define MCP_MODEL(name, version, inputs, outputs)                                            \
    const mcp_model_info mcp_model = {                                                       \
        (name), (version),                                                                   \
        (const char *const[]){MCP_UNPAREN_ inputs, NULL},                                    \
        (const char *const[]){MCP_UNPAREN_ outputs, NULL},                                   \
    }
#define MCP_UNPAREN_(...) __VA_ARGS__

/* Written by the model: computes one scenario. `inputs` holds one row (mcp_row_width() values
 * in the order of the input names), `outputs` one zeroed slot per output name. Returns 0, or
 * non-zero to mark this scenario as failed, after writing why with mcp_fail or mcp_failf.
 * A write to outputs[n] (one past the last output) fails the scenario; writing further is
 * undefined behaviour, as for any C array.
 * It must be deterministic: mcp gives a model no files, network, environment, clock or
 * entropy; everything it needs comes in `inputs`. */
int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err);

/* Sets the failure message to `message` (cut to MCP_MESSAGE_MAX - 1 bytes); returns 1, so
 * that `return mcp_fail(err, "z is above 3");` fails the scenario. Uses no stdio. */
int mcp_fail(mcp_error *err, const char *message);

/* The same with printf formatting. It links wasi-libc's stdio into the model, which makes the
 * component import WASI streams (mcp allows them; the component grows by about 35 KB). */
int mcp_failf(mcp_error *err, const char *format, ...)
    __attribute__((format(printf, 2, 3)));

/* How many values a declared input takes: N for "name[N]", else 1; 0 for a malformed vector
 * declaration (one that ends in ']' without a whole number from 1 to 65536 in brackets after
 * a name), which mcp refuses. */
size_t mcp_input_size(const char *declared);

/* How many values one row of inputs holds (the sum of the input sizes); 0 when an input name
 * is malformed. */
size_t mcp_row_width(void);

/* How many outputs the model declares. */
size_t mcp_output_count(void);

/* Runs one scenario natively, as the component would: for unit tests of a model. `inputs` must
 * hold mcp_row_width() values and `outputs` have room for mcp_output_count(); otherwise, or
 * when the model fails or writes past its outputs, returns non-zero with the reason in `err`. */
int mcp_evaluate_one(const double *inputs, size_t n_inputs, double *outputs, size_t n_outputs,
                     mcp_error *err);

/* The result of a batch. On wasm32 its layout is exactly the canonical ABI's `batch-output`
 * (values: list<f64>, failure: option<failure { index: u32, message: string }>). */
typedef struct mcp_batch {
    double *values;      /* one row of outputs per scenario before the failure, row-major */
    size_t n_values;
    uint8_t failed;      /* 1 when `index` and `message` say which scenario failed and why */
    uint32_t index;
    char *message;       /* valid UTF-8, not NUL-terminated in the ABI, but NUL-terminated here */
    size_t message_len;
} mcp_batch;

/* The batch loop, as the component runs it: evaluates `count` scenarios from `n_inputs` values
 * (count rows of mcp_row_width() values), stops at the first failure. Fills `out` (free it with
 * mcp_batch_free); returns out->failed. */
int mcp_run_batch(uint32_t count, const double *inputs, size_t n_inputs, mcp_batch *out);

/* Frees what mcp_run_batch allocated in `batch`. */
void mcp_batch_free(mcp_batch *batch);

#endif
