/*
 * mono.h — seconds of CLOCK_MONOTONIC, for timings and progress lines:
 * unlike the wall clock it never steps back when the time is set.
 */
#ifndef SPANWATCH_MONO_H
#define SPANWATCH_MONO_H

#include <time.h>

static inline double
mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

#endif
