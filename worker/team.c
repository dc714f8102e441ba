/* team.c - the thread team of a training step (see team.h).
 *
 * The policy, step by step:
 *   1. The first step runs cold (pages, caches, threads being created): it is not a sample.
 *   2. The initial probe runs TEAM_SAMPLES steps at each candidate size, the full team first,
 *      and times each size by the mean of its steps without the fastest and the slowest. It
 *      takes the smallest size within TEAM_MARGIN of the fastest: a thread that does not pay
 *      for itself is left to the neighbours (and a smaller team varies less).
 *   3. Steps then run at that size. The time of its last TEAM_SAMPLES steps is watched: when
 *      it exceeds TEAM_SLOWDOWN x its time at the choice (a neighbour started, say), a probe
 *      starts at once.
 *   4. Otherwise a periodic probe comes after TEAM_PROBE_MIN_S seconds and TEAM_PROBE_MIN_STEPS
 *      steps (a neighbour that has left shows only this way), the interval doubling each time
 *      the choice holds, up to 2^TEAM_PROBE_MAX_DOUBLINGS times. A periodic probe measures only
 *      the other sizes (the recent steps time the size in use); after a slowdown every size is
 *      measured again, since the recent steps mix the conditions before and after it.
 * A probe costs TEAM_SAMPLES steps per other size at a size that may be slower, so with the
 * bounds above it costs a quiet run at most a few percent, mostly much less.
 */
#include "team.h"

#include <stdio.h>
#include <string.h>

/* The mean of the samples without the fastest and the slowest: a step time that one lucky or
 * one disturbed step does not decide. */
static double trimmed_mean(const double *v) {
    double sum = 0, lo = v[0], hi = v[0];
    for (int i = 0; i < TEAM_SAMPLES; i++) {
        sum += v[i];
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
    }
    return (sum - lo - hi) / (TEAM_SAMPLES - 2);
}

void team_init(team_t *t, int full, int adaptive) {
    memset(t, 0, sizeof *t);
    if (full < 1) full = 1;
    t->size[t->n_sizes++] = full;
    while (adaptive && full > 1 && t->n_sizes < TEAM_MAX_SIZES) {
        full /= 2;
        t->size[t->n_sizes++] = full;
    }
    t->probe = t->n_sizes > 1 ? 0 : -1; /* the initial probe: every size */
    t->probe_skip = -1;
}

int team_next(const team_t *t) {
    return t->size[t->probe >= 0 ? t->probe : t->in_use];
}

int team_probe_steps(const team_t *t) {
    return t->n_sizes > 1 ? 1 + t->n_sizes * TEAM_SAMPLES : 1;
}

void team_describe(const team_t *t, char *buf, int len) {
    if (t->n_sizes == 1) {
        snprintf(buf, (size_t)len, "fixed (%d thread%s)", t->size[0], t->size[0] == 1 ? "" : "s");
        return;
    }
    int o = snprintf(buf, (size_t)len, "adaptive (");
    for (int i = 0; i < t->n_sizes && o > 0 && o < len; i++)
        o += snprintf(buf + o, (size_t)(len - o), "%s%d",
                      i ? (i + 1 == t->n_sizes ? " or " : ", ") : "", t->size[i]);
    if (o > 0 && o < len)
        snprintf(buf + o, (size_t)(len - o), " threads, from measured step times)");
}

/* The next size a probe measures after index `from`: every size in the initial probe, all but
 * the one in use in a re-probe (skip). -1 when none is left. */
static int next_probe_size(const team_t *t, int from, int skip) {
    int i = from + 1;
    if (i == skip) i++;
    return i < t->n_sizes ? i : -1;
}

/* A probe of every size (the initial one, and after a slowdown: the recent steps of the size
 * in use mix two conditions), or of the other sizes only (periodic: the recent steps time the
 * size in use). */
static void start_probe(team_t *t, int every_size) {
    t->probe_skip = every_size ? -1 : t->in_use;
    if (!every_size) t->time_s[t->in_use] = trimmed_mean(t->recent);
    t->probe = next_probe_size(t, -1, t->probe_skip);
    t->probe_k = 0;
}

/* The probe is done: use the smallest size within the margin of the fastest (a thread that
 * does not pay is left to the neighbours); schedule the next periodic probe. */
static void choose(team_t *t, double now) {
    double fastest = t->time_s[0];
    for (int i = 1; i < t->n_sizes; i++)
        fastest = t->time_s[i] < fastest ? t->time_s[i] : fastest;
    int best = 0;
    for (int i = 0; i < t->n_sizes; i++) /* sizes fall with i */
        if (t->time_s[i] <= TEAM_MARGIN * fastest) best = i;
    int periodic = t->probes > 0 && t->recent_slow == 0;
    if (best != t->in_use) {
        t->switches++;
        t->doublings = 0;
    } else if (periodic && t->doublings < TEAM_PROBE_MAX_DOUBLINGS) {
        t->doublings++;
    }
    t->in_use = best;
    t->chosen_s = t->time_s[best];
    t->probe = -1;
    t->n_recent = 0;
    t->recent_slow = 0;
    t->probes++;
    t->choice_step = t->recorded;
    t->next_probe_at = now + TEAM_PROBE_MIN_S * (double)(1 << t->doublings);
}

void team_record(team_t *t, double seconds, double now) {
    int idx = t->probe >= 0 ? t->probe : t->in_use;
    t->steps[idx]++;
    if (t->recorded++ == 0 || t->n_sizes == 1) return; /* the cold first step; a fixed team */
    if (t->probe >= 0) {
        t->sample[t->probe_k++] = seconds;
        if (t->probe_k < TEAM_SAMPLES) return;
        t->time_s[t->probe] = trimmed_mean(t->sample);
        t->probe = next_probe_size(t, t->probe, t->probe_skip);
        t->probe_k = 0;
        if (t->probe < 0) choose(t, now);
        return;
    }
    t->recent[t->n_recent++ % TEAM_SAMPLES] = seconds;
    if (t->n_recent < TEAM_SAMPLES) return;
    int64_t since = t->recorded - t->choice_step;
    if (trimmed_mean(t->recent) > TEAM_SLOWDOWN * t->chosen_s && since >= 3 * TEAM_SAMPLES) {
        t->recent_slow = 1;
        start_probe(t, 1);
    } else if (now >= t->next_probe_at && since >= (int64_t)TEAM_PROBE_MIN_STEPS << t->doublings) {
        start_probe(t, 0);
    }
}
