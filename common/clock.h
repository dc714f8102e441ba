/* clock.h - wall-clock time for progress lines and timings: CLOCK_MONOTONIC in seconds. */
#ifndef MICL_CLOCK_H
#define MICL_CLOCK_H

/* Seconds on the monotonic clock (an arbitrary origin: use differences). */
double clock_now_s(void);

#endif
