/* test.h -- a tiny test harness in the spirit of H3's: each test file is one
 * executable registered with ctest; a failed check prints file:line and the
 * expression, and the process exits non-zero at the end. */
#ifndef WG_TEST_H
#define WG_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int wg_test_failures = 0;
static int wg_test_checks = 0;

#define CHECK(expr)                                                                   \
    do {                                                                              \
        wg_test_checks++;                                                             \
        if (!(expr)) {                                                                \
            fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #expr); \
            wg_test_failures++;                                                       \
        }                                                                             \
    } while (0)

#define CHECK_OK(ctx, call)                                                         \
    do {                                                                            \
        wg_test_checks++;                                                           \
        wg_status st_ = (call);                                                     \
        if (st_ != WG_OK) {                                                         \
            fprintf(stderr, "%s:%d: %s returned %s: %s\n", __FILE__, __LINE__,      \
                    #call, wg_status_str(st_), wg_ctx_errmsg(ctx));                 \
            wg_test_failures++;                                                     \
        }                                                                           \
    } while (0)

#define CHECK_STR(a, b)                                                                  \
    do {                                                                                 \
        wg_test_checks++;                                                                \
        const char *a_ = (a), *b_ = (b);                                                 \
        if (!a_ || !b_ || strcmp(a_, b_) != 0) {                                         \
            fprintf(stderr, "%s:%d: \"%s\" != \"%s\" (%s vs %s)\n", __FILE__, __LINE__,  \
                    a_ ? a_ : "(null)", b_ ? b_ : "(null)", #a, #b);                     \
            wg_test_failures++;                                                          \
        }                                                                                \
    } while (0)

#define CHECK_NEAR(a, b, tol)                                                            \
    do {                                                                                 \
        wg_test_checks++;                                                                \
        double a_ = (a), b_ = (b);                                                       \
        if (!(fabs(a_ - b_) <= (tol))) {                                                 \
            fprintf(stderr, "%s:%d: %.12g != %.12g within %g (%s vs %s)\n", __FILE__,    \
                    __LINE__, a_, b_, (double)(tol), #a, #b);                            \
            wg_test_failures++;                                                          \
        }                                                                                \
    } while (0)

#define TEST_MAIN_END()                                                                  \
    do {                                                                                 \
        fprintf(stderr, "%d checks, %d failed\n", wg_test_checks, wg_test_failures);    \
        return wg_test_failures ? 1 : 0;                                                 \
    } while (0)

#endif
