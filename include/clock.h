/* clock.h - durations: seconds on the monotonic clock, which no change of
 * the system time moves. */
#ifndef SECDESK_CLOCK_H
#define SECDESK_CLOCK_H

/* Seconds since some fixed point; only differences mean anything. */
double clock_mono(void);

#endif
