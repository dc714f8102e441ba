/* team.h - how many OpenMP threads a training step runs on, chosen from measured step times.
 *
 * On a quiet machine the full team (train.threads) is the fastest. Beside a busy process that
 * holds one of the cores, a team of two waits at every barrier for the thread that lost its core
 * and runs slower than one thread alone. An adaptive team measures instead of guessing: it runs
 * a few steps at each candidate size (the full team, then halves down to one thread), uses the
 * fastest (by a trimmed mean of those steps), and measures again every so often, or at once when
 * the steps of the size in use become much slower than when it was chosen. The kernels give the
 * same bits for any thread count, so the choice changes the speed, never a result.
 *
 * The policy is a pure function of the times it is given (team_next, team_record), so the
 * tests drive it with made-up times; step.c applies it to real steps.
 */
#ifndef MICL_TEAM_H
#define MICL_TEAM_H

#include <stdint.h>

#define TEAM_MAX_SIZES 12 /* full, full/2, ... 1 for any full team up to 4095 threads */
#define TEAM_SAMPLES 5    /* steps measured per size; their trimmed mean decides */

typedef struct {
    int n_sizes;
    int size[TEAM_MAX_SIZES];      /* candidate team sizes: the full team first, then halves */
    double time_s[TEAM_MAX_SIZES]; /* each size's step time (trimmed mean) when last measured */
    int64_t steps[TEAM_MAX_SIZES]; /* steps run at each size */
    int in_use;                    /* index of the size steps run at outside a probe */
    int probe;                     /* -1, or the size index being measured now */
    int probe_k;                   /* samples taken of it */
    int probe_skip;                /* -1, or the size the probe under way does not measure */
    double sample[TEAM_SAMPLES];
    double recent[TEAM_SAMPLES]; /* the last steps at the size in use (a ring) */
    int n_recent;
    double chosen_s;      /* the time of the size in use when it was chosen */
    double next_probe_at; /* clock (seconds) of the next periodic probe */
    int doublings;        /* the periodic interval's doublings: one more each time it held */
    int recent_slow;      /* the probe under way was started by a slowdown */
    int64_t recorded;     /* steps recorded (the first one, cold, is not a sample) */
    int64_t choice_step;  /* `recorded` when the size in use was chosen */
    int probes;           /* probes finished */
    int switches;         /* probes that changed the size in use */
} team_t;

/* Periodic probes come at least this many seconds apart, and at least this many steps. */
#define TEAM_PROBE_MIN_S 10.0
#define TEAM_PROBE_MIN_STEPS 200
#define TEAM_PROBE_MAX_DOUBLINGS 3
/* Recent steps (trimmed mean) this much slower than at the choice start a probe at once. */
#define TEAM_SLOWDOWN 1.3
/* The smallest size whose time is within this factor of the fastest size's is used. */
#define TEAM_MARGIN 1.05

/* A team of at most `full` threads. adaptive = 0 (or full = 1): always the full team. */
void team_init(team_t *t, int full, int adaptive);
/* The team size for the next step. */
int team_next(const team_t *t);
/* The step just run at team_next's size took `seconds`; `now` is the clock after it. */
void team_record(team_t *t, double seconds, double now);
/* Steps of the initial probe, the first step included: a warm-up this long ends with the
 * choice made (a benchmark's steady state). 1 for a fixed team. */
int team_probe_steps(const team_t *t);
/* "adaptive (2 or 1 threads, from measured step times)" or "fixed (2 threads)". */
void team_describe(const team_t *t, char *buf, int len);

#endif
