/* The C guest library for mcp models: the batch loop and its checks (native and Wasm), and, in
 * Wasm only, the canonical-ABI exports of `mcp:model/evaluate@0.1.0` written by hand (what
 * `wit-bindgen c` would generate for model-sdk/wit/model.wit). See mcp_model.h for the model's
 * side. Everything the host hands over is checked before it is used.
 */
#include "mcp_model.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h> /* vsnprintf, for mcp_failf only */
#include <stdlib.h>
#include <string.h>

/* ---- Messages, built without stdio (stdio would make every model import WASI streams) ---- */

/* A message being written into an mcp_error, cut at MCP_MESSAGE_MAX - 1 bytes. */
typedef struct text {
    mcp_error *err;
    size_t len;
} text;

static text text_start(mcp_error *err) {
    err->message[0] = '\0';
    return (text){err, 0};
}

static void put(text *t, const char *s) {
    while (*s != '\0' && t->len < MCP_MESSAGE_MAX - 1) t->err->message[t->len++] = *s++;
    t->err->message[t->len] = '\0';
}

static void put_uint(text *t, uint64_t v) {
    char digits[24];
    size_t n = sizeof digits;
    digits[--n] = '\0';
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    put(t, digits + n);
}

/* Appends "(a, b, c)". */
static void put_names(text *t, const char *const *names) {
    put(t, "(");
    for (size_t i = 0; names[i] != NULL; i++) {
        if (i > 0) put(t, ", ");
        put(t, names[i]);
    }
    put(t, ")");
}

int mcp_fail(mcp_error *err, const char *message) {
    text t = text_start(err);
    put(&t, message != NULL ? message : "");
    return 1;
}

/* Only a model that calls it links vsnprintf (the linker drops unused functions). */
int mcp_failf(mcp_error *err, const char *format, ...) {
    va_list args;
    va_start(args, format);
    if (vsnprintf(err->message, MCP_MESSAGE_MAX, format, args) < 0) err->message[0] = '\0';
    va_end(args);
    return 1;
}

/* Replaces each byte that is not part of well-formed UTF-8 with '?': the host lifts a failure
 * message as a `string` and refuses ill-formed UTF-8 (a message cut mid-character, say). */
static void make_utf8(char *s, size_t len) {
    unsigned char *p = (unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned lead = p[i];
        size_t more;    /* continuation bytes after the lead byte */
        uint32_t least; /* the smallest code point of that length (no overlong forms) */
        if (lead < 0x80) {
            i++;
            continue;
        } else if (lead >= 0xC2 && lead <= 0xDF) {
            more = 1, least = 0x80;
        } else if (lead >= 0xE0 && lead <= 0xEF) {
            more = 2, least = 0x800;
        } else if (lead >= 0xF0 && lead <= 0xF4) {
            more = 3, least = 0x10000;
        } else {
            p[i++] = '?';
            continue;
        }
        uint32_t cp = lead & (0x3Fu >> more);
        size_t k = 1;
        while (k <= more && i + k < len && (p[i + k] & 0xC0) == 0x80) cp = cp << 6 | (p[i + k++] & 0x3F);
        if (k <= more || cp < least || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            p[i++] = '?'; /* its continuation bytes, if any, are replaced in turn */
            continue;
        }
        i += k;
    }
}

/* ---- Names and sizes ---- */

size_t mcp_input_size(const char *declared) {
    size_t len = strlen(declared);
    if (len == 0 || declared[len - 1] != ']') return 1;
    /* Read the digits backwards from the ']' up to the '[' (as the host does). */
    size_t i = len - 1, size = 0, scale = 1;
    while (i > 0) {
        char c = declared[--i];
        if (c >= '0' && c <= '9' && scale <= 100000) {
            size += (size_t)(c - '0') * scale;
            scale *= 10;
        } else if (c == '[' && scale > 1 && i > 0 && size >= 1 && size <= 65536) {
            return size;
        } else {
            break;
        }
    }
    return 0;
}

/* The most values a row holds (model.wit). */
#define MAX_ROW_WIDTH 65536

/* Sets *width to the row width and returns 0; or returns 1 with the reason in `why`. */
static int row_width(size_t *width, mcp_error *why) {
    *width = 0;
    for (size_t i = 0; mcp_model.inputs[i] != NULL; i++) {
        size_t size = mcp_input_size(mcp_model.inputs[i]);
        if (size == 0) {
            text t = text_start(why);
            put(&t, "input `");
            put(&t, mcp_model.inputs[i]);
            put(&t, "` ends in ']' but is not `name[N]` with N from 1 to 65536");
            return 1;
        }
        *width += size;
        if (*width > MAX_ROW_WIDTH) {
            text t = text_start(why);
            put(&t, "the inputs take more than 65536 values per row");
            return 1;
        }
    }
    return 0;
}

size_t mcp_row_width(void) {
    mcp_error why;
    size_t width;
    return row_width(&width, &why) == 0 ? width : 0;
}

size_t mcp_output_count(void) {
    size_t n = 0;
    while (mcp_model.outputs[n] != NULL) n++;
    return n;
}

/* ---- The batch loop ---- */

/* Put in the slot just after a scenario's outputs before mcp_evaluate runs, so that a write
 * of outputs[n_out] is noticed: the bits of a NaN whose payload no arithmetic produces. They
 * are copied as an integer, never loaded as a double (which may change a signalling NaN). */
#define GUARD_BITS UINT64_C(0x7FF4D1E5C0FFEE42)

static void set_guard(double *slot) {
    uint64_t bits = GUARD_BITS;
    memcpy(slot, &bits, sizeof bits);
}

static int guard_intact(const double *slot) {
    uint64_t bits;
    memcpy(&bits, slot, sizeof bits);
    return bits == GUARD_BITS;
}

/* Never returns: a request for memory that cannot be had. In mcp the sandbox's memory limit
 * stops the model first (memory.grow traps) and says so. */
static void out_of_memory(void) {
    abort();
}

/* Ends a batch with a failure at `index` whose message is in `err` (or a default one). */
static int fail_batch(mcp_batch *out, uint32_t index, size_t n_values, mcp_error *err, int rc) {
    const char *end = memchr(err->message, '\0', MCP_MESSAGE_MAX - 1);
    size_t len = end != NULL ? (size_t)(end - err->message) : MCP_MESSAGE_MAX - 1;
    if (len == 0) {
        text t = text_start(err);
        put(&t, "mcp_evaluate returned ");
        if (rc < 0) put(&t, "-");
        put_uint(&t, rc < 0 ? -(uint64_t)rc : (uint64_t)rc);
        put(&t, " without a message (use mcp_fail)");
        len = t.len;
    }
    char *message = malloc(len + 1);
    if (message == NULL) out_of_memory();
    memcpy(message, err->message, len);
    message[len] = '\0';
    make_utf8(message, len);
    out->n_values = n_values;
    out->failed = 1;
    out->index = index;
    out->message = message;
    out->message_len = len;
    return 1;
}

int mcp_run_batch(uint32_t count, const double *inputs, size_t n_inputs, mcp_batch *out) {
    mcp_error err;
    memset(out, 0, sizeof *out);
    size_t width, n_out = mcp_output_count();
    if (row_width(&width, &err) != 0) return fail_batch(out, 0, 0, &err, 1);
    if ((uint64_t)count * width != (uint64_t)n_inputs) {
        text t = text_start(&err);
        put(&t, "the host sent ");
        put_uint(&t, n_inputs);
        put(&t, " values for ");
        put_uint(&t, count);
        put(&t, " scenarios of ");
        put_uint(&t, width);
        put(&t, " inputs");
        return fail_batch(out, 0, 0, &err, 1);
    }
    /* One more slot than the outputs, for the guard after the last row. */
    uint64_t slots = (uint64_t)count * n_out + 1;
    if (slots > SIZE_MAX / sizeof(double)) {
        text t = text_start(&err);
        put(&t, "the outputs of ");
        put_uint(&t, count);
        put(&t, " scenarios do not fit in memory");
        return fail_batch(out, 0, 0, &err, 1);
    }
    double *values = calloc((size_t)slots, sizeof(double));
    if (values == NULL) out_of_memory();
    out->values = values;
    for (uint32_t i = 0; i < count; i++) {
        double *row_out = values + (size_t)i * n_out;
        double *guard = row_out + n_out; /* the next row's first slot, or the spare one */
        set_guard(guard);
        err.message[0] = '\0';
        int rc = mcp_evaluate(inputs + (size_t)i * width, row_out, &err);
        if (!guard_intact(guard)) {
            text t = text_start(&err);
            put(&t, "mcp_evaluate wrote more than the model's ");
            put_uint(&t, n_out);
            put(&t, " outputs ");
            put_names(&t, mcp_model.outputs);
            put(&t, ": outputs[");
            put_uint(&t, n_out);
            put(&t, "] was set");
            rc = 1;
        }
        *guard = 0.0; /* outputs start zeroed */
        if (rc != 0) return fail_batch(out, i, (size_t)i * n_out, &err, rc);
    }
    out->n_values = (size_t)count * n_out;
    return 0;
}

void mcp_batch_free(mcp_batch *batch) {
    free(batch->values);
    free(batch->message);
    memset(batch, 0, sizeof *batch);
}

int mcp_evaluate_one(const double *inputs, size_t n_inputs, double *outputs, size_t n_outputs,
                     mcp_error *err) {
    size_t width, n_out = mcp_output_count();
    if (row_width(&width, err) != 0) return 1;
    if (n_inputs != width) {
        text t = text_start(err);
        put(&t, "model `");
        put(&t, mcp_model.name);
        put(&t, "` takes ");
        put_uint(&t, width);
        put(&t, " input values ");
        put_names(&t, mcp_model.inputs);
        put(&t, ", got ");
        put_uint(&t, n_inputs);
        return 1;
    }
    if (n_outputs != n_out) {
        text t = text_start(err);
        put(&t, "model `");
        put(&t, mcp_model.name);
        put(&t, "` has ");
        put_uint(&t, n_out);
        put(&t, " outputs ");
        put_names(&t, mcp_model.outputs);
        put(&t, ", the caller has room for ");
        put_uint(&t, n_outputs);
        return 1;
    }
    mcp_batch batch;
    int failed = mcp_run_batch(1, inputs, n_inputs, &batch);
    if (failed) {
        memcpy(err->message, batch.message, batch.message_len + 1);
    } else {
        memcpy(outputs, batch.values, n_out * sizeof(double));
        err->message[0] = '\0';
    }
    mcp_batch_free(&batch);
    return failed;
}

/* ---- The component's exports (Wasm only) ----
 *
 * Core signatures of the interface's functions (canonical ABI, wasm32):
 *   describe: func() -> info                           () -> i32, a pointer to an `info`
 *   run-batch: func(count: u32, inputs: list<f64>) -> batch-output
 *                                                      (i32, i32 ptr, i32 len) -> i32
 * plus a `cabi_post_*` function for each, which the host calls once it has copied the result,
 * and `cabi_realloc`, through which the host allocates the `inputs` list in our memory.
 */
#ifdef __wasm__

#include <stdalign.h>
#include <stddef.h>

/* string: (pointer, length in bytes); list<T>: (pointer, length in elements). */
typedef struct abi_string {
    const char *ptr;
    size_t len;
} abi_string;

/* record info { name: string, version: string, inputs: list<string>, outputs: list<string> } */
typedef struct abi_info {
    abi_string name, version;
    abi_string *inputs;
    size_t n_inputs;
    abi_string *outputs;
    size_t n_outputs;
} abi_info;

_Static_assert(sizeof(abi_info) == 32 && alignof(abi_info) == 4, "info's ABI layout");
/* batch-output: values (ptr @0, len @4), option tag (u8 @8), failure { index @12, message
 * (ptr @16, len @20) }: 24 bytes, 4-aligned. mcp_batch is laid out so on wasm32. */
_Static_assert(offsetof(mcp_batch, n_values) == 4 && offsetof(mcp_batch, failed) == 8 &&
                   offsetof(mcp_batch, index) == 12 && offsetof(mcp_batch, message) == 16 &&
                   offsetof(mcp_batch, message_len) == 20 && sizeof(mcp_batch) == 24 &&
                   alignof(mcp_batch) == 4,
               "batch-output's ABI layout");

/* The return areas: the host reads them after the call, then calls the post-return function. */
static abi_info info_area;
static mcp_batch batch_area;

/* Allocates, grows or frees memory for the host (the canonical ABI's realloc). `align` is a
 * power of two, at most 8 for any value of this interface. */
__attribute__((export_name("cabi_realloc")))
void *cabi_realloc(void *old, size_t old_size, size_t align, size_t new_size) {
    if (align == 0 || (align & (align - 1)) != 0) __builtin_trap();
    if (new_size == 0) {
        /* Nothing to hold: any non-null address so aligned; never passed to free. */
        if (old_size != 0) free(old);
        return (void *)align;
    }
    void *p;
    if (align <= alignof(max_align_t)) {
        /* malloc's alignment (16 in wasi-libc) covers it. A block of size 0 was never ours. */
        p = old_size != 0 ? realloc(old, new_size) : malloc(new_size);
    } else {
        size_t rounded = new_size + (align - 1);
        if (rounded < new_size) __builtin_trap(); /* wrapped around */
        p = aligned_alloc(align, rounded / align * align);
        if (p != NULL && old_size != 0) {
            memcpy(p, old, old_size < new_size ? old_size : new_size);
            free(old);
        }
    }
    if (p == NULL) out_of_memory();
    return p;
}

/* The strings of a NULL-terminated list of names (pointing at the names, which stay put). */
static abi_string *name_list(const char *const *names, size_t *n) {
    size_t count = 0;
    while (names[count] != NULL) count++;
    abi_string *list = malloc(count * sizeof *list + 1); /* + 1: never malloc(0) */
    if (list == NULL) out_of_memory();
    for (size_t i = 0; i < count; i++) list[i] = (abi_string){names[i], strlen(names[i])};
    *n = count;
    return list;
}

__attribute__((export_name("mcp:model/evaluate@0.1.0#describe")))
abi_info *mcp_export_describe(void) {
    abi_info *info = &info_area;
    info->name = (abi_string){mcp_model.name, strlen(mcp_model.name)};
    info->version = (abi_string){mcp_model.version, strlen(mcp_model.version)};
    info->inputs = name_list(mcp_model.inputs, &info->n_inputs);
    info->outputs = name_list(mcp_model.outputs, &info->n_outputs);
    return info;
}

__attribute__((export_name("cabi_post_mcp:model/evaluate@0.1.0#describe")))
void mcp_export_describe_post(abi_info *info) {
    free(info->inputs);
    free(info->outputs);
    info->inputs = info->outputs = NULL;
}

/* `inputs` was allocated by the host through cabi_realloc and is now ours to free. Its length
 * is checked against `count` by mcp_run_batch before any value is read. */
__attribute__((export_name("mcp:model/evaluate@0.1.0#run-batch")))
mcp_batch *mcp_export_run_batch(uint32_t count, double *inputs, size_t n_inputs) {
    mcp_run_batch(count, inputs, n_inputs, &batch_area);
    if (n_inputs != 0) free(inputs); /* an empty list's pointer was never allocated */
    return &batch_area;
}

__attribute__((export_name("cabi_post_mcp:model/evaluate@0.1.0#run-batch")))
void mcp_export_run_batch_post(mcp_batch *batch) {
    mcp_batch_free(batch);
}

#endif /* __wasm__ */
