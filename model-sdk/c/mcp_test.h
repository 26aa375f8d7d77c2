/* A very small harness for the native tests of C models (`make test`): `MCP_CHECK(cond)`
 * records a failed check with its file and line and goes on; `mcp_test_end(name)` prints the
 * outcome and gives `main`'s exit status. Native builds only: the component never includes it. */
#ifndef MCP_TEST_H
#define MCP_TEST_H

#include <stdio.h>

static int mcp_test_failures = 0;

#define MCP_CHECK(cond)                                                                      \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            mcp_test_failures++;                                                             \
        }                                                                                    \
    } while (0)

/* Prints whether every check of `name`'s tests passed; returns 0 if so, 1 if not. */
static inline int mcp_test_end(const char *name) {
    if (mcp_test_failures != 0) {
        fprintf(stderr, "%s: %d check(s) failed\n", name, mcp_test_failures);
        return 1;
    }
    printf("%s: all tests passed\n", name);
    return 0;
}

#endif
