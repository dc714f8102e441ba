/* wait_policy.h - how micl's idle OpenMP threads wait (libgomp's spin before sleeping).
 *
 * micl's kernels run many small parallel regions per step; between them libgomp's idle threads
 * spin (about 300,000 iterations, a few ms, unless told otherwise) before they sleep. On a
 * machine where another process wants a core, that spinning takes the core from it and the
 * team's barriers then wait for a descheduled thread: beside one busy process on 2 cores the
 * 2-thread step took two to three times the 1-thread step. A short bounded spin (1,000
 * iterations, about 10 us) still catches the short gaps between regions and gives the core back
 * when it is contended (measured: bench/README.md, "Beside a busy neighbour").
 *
 * libgomp reads OMP_WAIT_POLICY and GOMP_SPINCOUNT once, when it is loaded, before main. So
 * wait_policy_apply, the first call of main, sets GOMP_SPINCOUNT to WAIT_POLICY_SPINCOUNT and
 * re-executes the same binary once (execv of /proc/self/exe with the same argv: the same
 * process id, so mpirun and its daemons do not notice; argv[0] unchanged). It does nothing when
 * the user set OMP_WAIT_POLICY or GOMP_SPINCOUNT: their setting wins.
 */
#ifndef MICL_WAIT_POLICY_H
#define MICL_WAIT_POLICY_H

/* micl's default GOMP_SPINCOUNT (libgomp's own, with neither variable set: 300000). */
#define WAIT_POLICY_SPINCOUNT "1000"
/* Set beside GOMP_SPINCOUNT when micl chose it (so children and the re-executed image know). */
#define WAIT_POLICY_MARKER "MICL_OMP_WAIT_DEFAULT"

/* Applies the default as above; returns when nothing is to be done or the re-exec failed
 * (then the process goes on with libgomp's own policy, and wait_policy_describe says so). */
void wait_policy_apply(char **argv);
/* The policy in effect, e.g. "GOMP_SPINCOUNT=1000 (micl default)",
 * "OMP_WAIT_POLICY=passive (environment)", "libgomp default (re-exec failed)". */
const char *wait_policy_describe(void);
/* 1 when the GOMP_SPINCOUNT in the environment is micl's default rather than the user's. */
int wait_policy_is_micl_default(void);

#endif
