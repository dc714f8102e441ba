/* team.h - how a CPU kernel hands its loop to the OpenMP team.
 *
 * libgomp ends every parallel region at a team barrier whose last step is a futex wake: a system
 * call even for a team of one thread, and even for a region whose `if` clause is false (about
 * 1.4 us each on a virtual machine; the quickstart's training step enters some 500 regions, two
 * thirds of them the matrix products and LayerNorm). KERN_PARALLEL_FOR enters a region only when
 * it would have more than one thread, and runs the loop on the calling thread otherwise. The
 * kernels split their loops so that which thread runs an iteration never changes its arithmetic,
 * so both ways give the same bits.
 */
#ifndef MICL_KERN_CPU_TEAM_H
#define MICL_KERN_CPU_TEAM_H

#include <omp.h>
#include <stdint.h>

#define KERN_PRAGMA(text) _Pragma(#text)

/* for (int64_t i = 0; i < n; i++) body - in `#pragma omp parallel for clauses` when go is true
 * and the team has more than one thread, on the calling thread otherwise. */
#define KERN_PARALLEL_FOR(clauses, go, i, n, ...)                                                  \
    do {                                                                                           \
        const int64_t kern_n_ = (n);                                                               \
        if ((go) && omp_get_max_threads() > 1) {                                                   \
            KERN_PRAGMA(omp parallel for clauses)                                                  \
            for (int64_t i = 0; i < kern_n_; i++)                                                  \
                __VA_ARGS__                                                                        \
        } else {                                                                                   \
            for (int64_t i = 0; i < kern_n_; i++)                                                  \
                __VA_ARGS__                                                                        \
        }                                                                                          \
    } while (0)

#endif
