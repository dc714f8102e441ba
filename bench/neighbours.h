/* neighbours.h - busy neighbour processes for `micl bench step|vs-torch --neighbour N`.
 *
 * A laptop or a shared node rarely gives a job every core: something else runs beside it. The
 * neighbours are N forked children that each spin on one core (a pure loop, no system calls,
 * not pinned), started before the timed steps and stopped after them, so that the step is
 * measured beside the same load each time. They can never outlive the bench: they are killed
 * by bench_neighbours_stop, at exit (atexit), and by the kernel when micl dies of a signal
 * (PR_SET_PDEATHSIG).
 */
#ifndef MICL_BENCH_NEIGHBOURS_H
#define MICL_BENCH_NEIGHBOURS_H

/* The most neighbours one bench starts. */
#define BENCH_NEIGHBOURS_MAX 64

/* Starts n busy children (n <= BENCH_NEIGHBOURS_MAX; 0 starts none). */
void bench_neighbours_start(int n);
/* Kills and reaps every running neighbour; safe to call when none run. */
void bench_neighbours_stop(void);
/* How many run now. */
int bench_neighbours_running(void);

#endif
