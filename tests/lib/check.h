/* check.h - the counting check of the C unit tests: CHECK(cond, fmt, ...) prints
 * "FAIL file:line: message" when cond is false and counts it in `failures`, so that a test runs
 * all its checks and main returns non-zero if any failed. */
#ifndef MICL_TEST_CHECK_H
#define MICL_TEST_CHECK_H

#include <stdio.h>

static int failures;

#define CHECK(cond, ...)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            printf("FAIL %s:%d: ", __FILE__, __LINE__);                                            \
            printf(__VA_ARGS__);                                                                   \
            printf("\n");                                                                          \
            failures++;                                                                            \
        }                                                                                          \
    } while (0)

#endif
