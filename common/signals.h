/* signals.h - preemption: SIGTERM and SIGUSR1 (Slurm's --signal) ask training to stop.
 *
 * The handler only sets a flag. The training loop reads it after every step, agrees on it
 * across ranks, writes a checkpoint and returns; micl then exits with MICL_EXIT_PREEMPTED so
 * that a requeued job resumes with `micl train CFG --resume`.
 */
#ifndef MICL_SIGNALS_H
#define MICL_SIGNALS_H

void signals_install(void);
int signals_stop_requested(void);
/* Sets the stop flag as a signal would (a sweep group told to stop by its coordinator). */
void signals_request_stop(void);

#endif
