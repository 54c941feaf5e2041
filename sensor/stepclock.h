/*
 * stepclock.h — the RRD step clock, driven by packet time. Steps are
 * aligned to multiples of the step in Unix time, as rrdtool aligns its
 * own; a step is named by its end.
 */
#ifndef SPANWATCH_STEPCLOCK_H
#define SPANWATCH_STEPCLOCK_H

#include <time.h>

/* Empty steps closed one by one across a gap in packet time; a longer
 * gap (a capture resumed days later) jumps to the new time. */
#define STEPCLOCK_MAX_GAP 1440

struct stepclock {
	time_t step;
	time_t end;		/* end of the step in progress; 0 before the first packet */
};

typedef void (*stepclock_fn)(void *ctx, time_t step_end);

void stepclock_init(struct stepclock *c, unsigned step);

/* Moves the clock to packet time t (seconds), calling fn for every step
 * that t closes, oldest first. A t older than the step in progress (an
 * out-of-order packet) closes nothing: it counts in the step in progress.
 * Returns the number of steps closed. */
unsigned stepclock_advance(struct stepclock *c, time_t t, stepclock_fn fn, void *ctx);

/* Closes the step in progress (at exit), if any. Returns 1 or 0. */
unsigned stepclock_finish(struct stepclock *c, stepclock_fn fn, void *ctx);

#endif
