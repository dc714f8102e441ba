/* signals.h - preemption: SIGTERM and SIGUSR1 (Slurm's --signal) and SIGINT (Ctrl-C) ask
 * training to stop; any other command stopped by SIGINT, SIGHUP or SIGTERM leaves no partial
 * output.
 *
 * The handler only sets a flag. The training loop reads it after every step, the evaluation
 * between cells; both agree on it across ranks. Training writes a checkpoint and returns, an
 * evaluation drops its run's unfinished results; micl then exits with MICL_EXIT_PREEMPTED so
 * that a requeued job resumes with `micl train CFG --resume`. A second SIGINT does not wait:
 * it removes the pending output files and ends the process as SIGINT would.
 */
#ifndef MICL_SIGNALS_H
#define MICL_SIGNALS_H

/* Clean-up for every command: SIGINT, SIGHUP and SIGTERM unlink the pending output files
 * (error.h's list, filled by atomic_file.h) and then end the process as the signal would;
 * a signal ignored when micl starts (nohup, background jobs) stays ignored. */
void signals_install_cleanup(void);
/* Preemption for train and sweep: SIGTERM, SIGUSR1 and a first SIGINT set the stop flag
 * instead (a SIGINT ignored when micl starts stays ignored). */
void signals_install(void);
int signals_stop_requested(void);
/* Sets the stop flag as a signal would (a sweep group told to stop by its coordinator). */
void signals_request_stop(void);

#endif
