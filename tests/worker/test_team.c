/* test_team.c - the thread team's policy (worker/team.h), driven with made-up step times.
 *
 * A simulated machine gives each step a time that depends on the team size and on whether a
 * busy neighbour is there; the test checks what a user of a shared machine needs: the full team
 * on a quiet machine, one thread beside a neighbour, a switch within a few steps of a neighbour
 * arriving, a switch back after it leaves (at the periodic probe), near ties going to the
 * smaller team, a fixed team never changing, and the probes' cost on a quiet run.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "worker/team.h"
#include "check.h"

/* A machine: step seconds by team size, quiet or beside a neighbour, with a deterministic
 * +-jitter and one outlier step in every 17. */
typedef struct {
    double quiet[3], busy[3]; /* index: log2(size) for sizes 1, 2, 4 */
    int neighbour;
    double now;
    long n;
} machine_t;

static double step_time(machine_t *mc, int size) {
    int k = size == 1 ? 0 : size == 2 ? 1 : 2;
    double base = mc->neighbour ? mc->busy[k] : mc->quiet[k];
    double jitter = 0.03 * sin(1.7 * (double)mc->n);
    double t = base * (1.0 + jitter);
    if (mc->n % 17 == 5) t *= 2.5; /* a disturbed step */
    mc->n++;
    return t;
}

/* Runs n steps; returns how many ran at `size`. */
static long run(team_t *t, machine_t *mc, long n, int size) {
    long at = 0;
    for (long i = 0; i < n; i++) {
        int s = team_next(t);
        at += s == size;
        double dt = step_time(mc, s);
        mc->now += dt;
        team_record(t, dt, mc->now);
    }
    return at;
}

static void test_quiet_and_neighbour(void) {
    machine_t mc = {{0.040, 0.022, 0}, {0.042, 0.050, 0}, 0, 0, 0};
    team_t t;
    team_init(&t, 2, 1);
    CHECK(t.n_sizes == 2 && t.size[0] == 2 && t.size[1] == 1, "sizes %d", t.n_sizes);
    CHECK(team_probe_steps(&t) == 1 + 2 * TEAM_SAMPLES, "probe steps %d", team_probe_steps(&t));
    run(&t, &mc, team_probe_steps(&t), 2);
    CHECK(t.probes == 1 && team_next(&t) == 2, "quiet machine: size %d after %d probes",
          team_next(&t), t.probes);
    /* a quiet stretch: the full team nearly always */
    long at2 = run(&t, &mc, 2000, 2);
    CHECK(at2 >= 2000 - 30, "quiet: %ld of 2000 steps at 2 threads", at2);
    /* a neighbour arrives: a probe within a few steps, then one thread */
    mc.neighbour = 1;
    long at1 = run(&t, &mc, 20, 1);
    CHECK(team_next(&t) == 1, "neighbour: still at %d threads after 20 steps", team_next(&t));
    CHECK(at1 >= 20 - 2 * TEAM_SAMPLES - TEAM_SAMPLES - 2, "neighbour: only %ld of 20 at 1", at1);
    at1 = run(&t, &mc, 3000, 1);
    CHECK(at1 >= 3000 - 60, "neighbour: %ld of 3000 steps at 1 thread", at1);
    /* it leaves: the periodic probe (10 s or more) brings the full team back */
    mc.neighbour = 0;
    double left = mc.now;
    while (team_next(&t) == 1 && mc.now - left < 200)
        run(&t, &mc, 1, 0);
    CHECK(team_next(&t) == 2, "the neighbour left %.0f s ago: still 1 thread", mc.now - left);
    CHECK(mc.now - left <= TEAM_PROBE_MIN_S * (1 << TEAM_PROBE_MAX_DOUBLINGS) + 5,
          "back to 2 threads only after %.0f s", mc.now - left);
}

/* Near ties go to the smaller team; a clear gain to the larger. */
static void test_ties(void) {
    machine_t tie = {{0.050, 0.049, 0}, {0}, 0, 0, 0};
    team_t t;
    team_init(&t, 2, 1);
    run(&t, &tie, 200, 1);
    CHECK(team_next(&t) == 1, "a 2%% gain kept %d threads", team_next(&t));
    machine_t gain = {{0.050, 0.045, 0}, {0}, 0, 0, 0};
    team_init(&t, 2, 1);
    run(&t, &gain, 200, 2);
    CHECK(team_next(&t) == 2, "a 10%% gain went to %d threads", team_next(&t));
}

/* Four threads: candidates 4, 2, 1, and the fastest is 2. */
static void test_four(void) {
    machine_t mc = {{0.080, 0.030, 0.034}, {0}, 0, 0, 0};
    team_t t;
    team_init(&t, 4, 1);
    CHECK(t.n_sizes == 3 && t.size[2] == 1, "sizes %d", t.n_sizes);
    run(&t, &mc, team_probe_steps(&t), 0);
    CHECK(team_next(&t) == 2, "4 threads: picked %d, expected 2", team_next(&t));
}

/* Fixed teams, and one thread, never probe. */
static void test_fixed(void) {
    machine_t mc = {{0.040, 0.022, 0}, {0.042, 0.090, 0}, 1, 0, 0};
    team_t t;
    team_init(&t, 2, 0);
    CHECK(t.n_sizes == 1 && team_probe_steps(&t) == 1, "fixed: %d sizes", t.n_sizes);
    CHECK(run(&t, &mc, 500, 2) == 500, "a fixed team changed");
    team_init(&t, 1, 1);
    CHECK(t.n_sizes == 1, "one thread: %d sizes", t.n_sizes);
    CHECK(run(&t, &mc, 50, 1) == 50, "one thread changed");
    char buf[160];
    team_init(&t, 2, 1);
    team_describe(&t, buf, sizeof buf);
    CHECK(strcmp(buf, "adaptive (2 or 1 threads, from measured step times)") == 0, "%s", buf);
    team_init(&t, 8, 1);
    team_describe(&t, buf, sizeof buf);
    CHECK(strcmp(buf, "adaptive (8, 4, 2 or 1 threads, from measured step times)") == 0, "%s", buf);
    team_init(&t, 2, 0);
    team_describe(&t, buf, sizeof buf);
    CHECK(strcmp(buf, "fixed (2 threads)") == 0, "%s", buf);
}

/* What the probes cost a long quiet run where the full team is twice as fast: the time lost
 * to steps at the slower size, against a fixed full team. */
static void test_cost(void) {
    machine_t a = {{0.044, 0.022, 0}, {0}, 0, 0, 0}, b = a;
    team_t t, f;
    team_init(&t, 2, 1);
    team_init(&f, 2, 0);
    run(&t, &a, 20000, 2);
    run(&f, &b, 20000, 2);
    double cost = a.now / b.now - 1.0;
    printf("probe cost on a quiet run of 20000 steps: %.2f%% (%d probes)\n", 100.0 * cost,
           t.probes);
    CHECK(cost < 0.01, "the probes cost %.2f%%", 100.0 * cost);
    CHECK(t.switches == 0, "%d switches on a quiet machine", t.switches);
}

int main(void) {
    test_quiet_and_neighbour();
    test_ties();
    test_four();
    test_fixed();
    test_cost();
    if (failures) {
        printf("%d failure(s)\n", failures);
        return 1;
    }
    printf("team policy: all checks passed\n");
    return 0;
}
