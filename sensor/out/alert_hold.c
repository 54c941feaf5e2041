/*
 * alert_hold.c — the alerts' holddown table (one alert per kind and
 * subscriber per [alerts] holddown) and the rate limit of the raising
 * side. Capture thread, under the raisers' mutex (alert.c).
 */
#include "alert_int.h"

#include "config.h"
#include "hash.h"
#include "log.h"
#include "thr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
uint64_t
alert_hold_key(const char *kind, const char *sub)
{
	/* FNV-1a over kind, a separator that tells NULL from "", the
	 * subscriber; then a full mix so that the set index is uniform. */
	uint64_t h = 0xcbf29ce484222325ULL;
	size_t i;

	/* cppcheck-suppress arrayIndexOutOfBoundsCond ; a string: its NUL ends the loop */
	for (i = 0; i < KIND_MAX && kind[i]; i++)
		h = (h ^ (unsigned char)kind[i]) * 0x100000001b3ULL;
	h = (h ^ (sub ? 0x100 : 0x200)) * 0x100000001b3ULL;
	for (i = 0; sub && i < ALERTS_VALUE_MAX && sub[i]; i++)
		h = (h ^ (unsigned char)sub[i]) * 0x100000001b3ULL;
	return hash_mix(h);
}

static struct hold *
hold_set(struct alerts *a, uint64_t key)
{
	return &a->hold[(key & (a->nsets - 1)) * HOLD_WAYS];
}

static uint32_t
hold_tag(uint64_t key)
{
	uint32_t t = (uint32_t)(key >> 32);

	return t ? t : 1;
}

/* Returns the entry of key, or NULL. */
struct hold *
alert_hold_find(struct alerts *a, uint64_t key)
{
	struct hold *s = hold_set(a, key);
	uint32_t tag = hold_tag(key);

	for (unsigned i = 0; i < HOLD_WAYS; i++)
		if (s[i].tag == tag)
			return &s[i];
	return NULL;
}

/* Returns a fresh entry for key: an empty one of its set, or the one
 * that alerted longest ago. */
struct hold *
alert_hold_insert(struct alerts *a, uint64_t key, int64_t ts)
{
	struct hold *s = hold_set(a, key), *v = &s[0];

	for (unsigned i = 0; i < HOLD_WAYS; i++) {
		if (s[i].tag == 0) {
			v = &s[i];
			goto take;
		}
		if (s[i].last < v->last)
			v = &s[i];
	}
	if (v->suppressed || absdiff(ts, v->last) < a->holddown)
		bump(&a->st_hold_evicted, 1);
take:
	v->tag = hold_tag(key);
	v->suppressed = 0;
	return v;
}

/* Token bucket in packet time, so that a replay limits as live would.
 * Returns 0 with a token taken, -1 over the limit. */
int
alert_hold_rate(struct alerts *a, int64_t ts)
{
	if (!a->bucket_started) {
		a->bucket_started = 1;
		a->bucket_ts = ts;
	} else if (ts > a->bucket_ts) {
		uint64_t el = (uint64_t)ts - (uint64_t)a->bucket_ts;

		if (el > a->burst / a->rate)
			a->tokens = a->burst;
		else if ((a->tokens += el * a->rate) > a->burst)
			a->tokens = a->burst;
		a->bucket_ts = ts;
	} else if (ts < a->bucket_ts) {
		/* Time went back (files out of order): restart from here
		 * rather than wait for the old time to come again. */
		a->bucket_ts = ts;
	}
	if (a->tokens == 0)
		return -1;
	a->tokens--;
	return 0;
}

