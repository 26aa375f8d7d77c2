/* `faulty-c`: a test model in C that misbehaves on request, one way per value of its `mode`
 * input: the Rust `faulty` (../faulty/src/lib.rs) for the modes that make sense for a C model
 * built with the mcp C library. Any other mode gives y = x.
 *
 * | mode | behaviour |
 * |---|---|
 * | 0 | y = x |
 * | 1 | fails the scenario: "mode 1 refuses x = <x>" (x as printf's %g writes it) |
 * | 2 | traps (`__builtin_trap()`, Wasm's `unreachable`) |
 * | 3 | loops forever (out of fuel) |
 * | 5 | grows memory without bound (memory limit) |
 * | 12 | probes the host: y is a bit set of what it could see (0 when nothing) |
 * | 13 | y mixes the C library's random sources with the wall clock (same everywhere when mcp
 *        freezes time and entropy) |
 *
 * Mode 12's bits are the Rust model's: 1 read a file, 2 list a directory, 4 environment
 * variables, 8 program arguments, 16 TCP connect, 32 name lookup, 64 UDP bind, 128 a wall
 * clock past the epoch, 256 a monotonic clock that moves. Bits 16, 32 and 64 are never set:
 * the C library here (Debian's wasi-libc of 2022, WASI preview 1) has no socket(), connect(),
 * bind() or getaddrinfo(), and preview 1 itself cannot open a socket. A reactor has no main()
 * and so no argv; bit 8 asks WASI's args_sizes_get directly.
 */
#define _DEFAULT_SOURCE 1 /* arc4random, environ */

#include "mcp_model.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#ifdef __wasi__
#include <wasi/api.h>
#endif

MCP_MODEL("faulty-c", "0.1.0", ("mode", "x"), ("y"));

extern char **environ;

/* Mode 3: a loop with no exit; the volatile counter keeps the compiler from reasoning about it. */
static void loop_forever(void) {
    volatile uint64_t i = 0;
    for (;;) i = i + 1;
}

/* Mode 5: 1 MiB blocks, kept in a list so that the compiler cannot drop the allocations, and
 * not otherwise touched, so that growing memory, not fuel, is the limit hit. */
static void grow_memory(void) {
    static void *volatile hoard;
    for (;;) {
        void **block = malloc(1 << 20);
        if (block == NULL) abort(); /* the limit refused memory.grow without trapping */
        *block = hoard;
        hoard = block;
    }
}

/* Mode 12: what the model could reach of the host, one bit each. Every probe is a libc call
 * that returns an error when WASI refuses, so none of them traps. */
static unsigned probe_host(void) {
    unsigned seen = 0;
    FILE *file = fopen("/etc/passwd", "r");
    if (file == NULL) file = fopen("faulty-c.wasm", "rb");
    if (file != NULL) {
        char byte;
        if (fread(&byte, 1, 1, file) == 1) seen |= 1;
        fclose(file);
    }
    DIR *dir = opendir(".");
    if (dir == NULL) dir = opendir("/");
    if (dir != NULL) {
        seen |= 2;
        closedir(dir);
    }
    /* getenv loads the environment (wasi-libc fills `environ` lazily). */
    if (getenv("PATH") != NULL || (environ != NULL && environ[0] != NULL)) seen |= 4;
#ifdef __wasi__
    __wasi_size_t argc = 0, argv_bytes = 0;
    if (__wasi_args_sizes_get(&argc, &argv_bytes) == 0 && argc > 0) seen |= 8;
#endif
    struct timespec wall;
    if (clock_gettime(CLOCK_REALTIME, &wall) == 0 && (wall.tv_sec != 0 || wall.tv_nsec != 0)) {
        seen |= 128;
    }
    struct timespec start, end;
    if (clock_gettime(CLOCK_MONOTONIC, &start) == 0) {
        volatile uint64_t spin = 0;
        for (uint64_t i = 0; i < 100000; i++) spin = spin + i;
        if (clock_gettime(CLOCK_MONOTONIC, &end) == 0 &&
            (end.tv_sec != start.tv_sec || end.tv_nsec != start.tv_nsec)) {
            seen |= 256;
        }
    }
    return seen;
}

/* Mode 13: rand() seeded from the clocks, arc4random() and getentropy() (both from WASI's
 * random_get), and the wall clock, in one number. */
static double entropy_and_time(void) {
    struct timespec wall = {0, 0};
    clock_gettime(CLOCK_REALTIME, &wall);
    srand((unsigned)time(NULL) ^ (unsigned)wall.tv_nsec);
    uint64_t entropy = 0;
    if (getentropy(&entropy, sizeof entropy) != 0) entropy = 0;
    uint64_t mix = (uint64_t)rand() << 32 ^ (uint64_t)arc4random() << 16 ^ entropy;
    mix ^= (uint64_t)wall.tv_sec * 1000000000u + (uint64_t)wall.tv_nsec;
    return (double)(mix >> 12); /* 52 bits keep the value exact in a double */
}

int mcp_evaluate(const double *inputs, double *outputs, mcp_error *err) {
    double mode = inputs[0], x = inputs[1];
    /* Converting a double outside int's range to int is undefined in C: check first. */
    int m = mode >= 0.0 && mode < 100.0 ? (int)mode : -1;
    switch (m) {
    case 1:
        return mcp_failf(err, "mode 1 refuses x = %g", x);
    case 2:
        __builtin_trap();
    case 3:
        loop_forever();
        break;
    case 5:
        grow_memory();
        break;
    case 12:
        outputs[0] = (double)probe_host();
        return 0;
    case 13:
        outputs[0] = entropy_and_time();
        return 0;
    default:
        break;
    }
    outputs[0] = x;
    return 0;
}
