/*
 * stepclock.c — packet time to RRD steps.
 */
#include "stepclock.h"

void
stepclock_init(struct stepclock *c, unsigned step)
{
	c->step = step ? (time_t)step : 60;
	c->end = 0;
}

unsigned
stepclock_advance(struct stepclock *c, time_t t, stepclock_fn fn, void *ctx)
{
	time_t target = (t / c->step + 1) * c->step;
	unsigned n = 0;

	if (c->end == 0) {
		c->end = target;
		return 0;
	}
	while (c->end < target) {
		fn(ctx, c->end);
		c->end += c->step;
		if (++n >= STEPCLOCK_MAX_GAP && c->end < target)
			c->end = target;
	}
	return n;
}

unsigned
stepclock_finish(struct stepclock *c, stepclock_fn fn, void *ctx)
{
	if (c->end == 0)
		return 0;
	fn(ctx, c->end);
	c->end = 0;
	return 1;
}
