/*
 * dpicache.c — nDPI's endpoint caches, one set for every worker, with an
 * order of visibility that does not depend on how many there are (see
 * dpicache.h). The module's fields are nDPI's internals, visible only
 * with NDPI_LIB_COMPILATION: kept to this file. (nDPI 4.2 makes them on
 * first use only; a module whose caches exist already keeps them.)
 */
#define NDPI_LIB_COMPILATION
#include "dpicache.h"

#include <ndpi_api.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "bigmem.h"
#include "hash.h"
#include "log.h"

#define NCACHES 7
/* The overlay's index: twice its entries, so probes stay short. */
#define INDEX_SLOTS (2 * DPICACHE_OVERLAY)

static struct ndpi_lru_cache **
slot(struct ndpi_detection_module_struct *n, int i)
{
	struct ndpi_lru_cache **s[NCACHES] = {
		&n->ookla_cache, &n->bittorrent_cache, &n->zoom_cache, &n->stun_cache,
		&n->tls_cert_cache, &n->mining_cache, &n->msteams_cache,
	};

	return s[i];
}

/* The sizes nDPI 4.2 gives them when it makes them itself. */
static const uint32_t entries[NCACHES] = { 1024, 32768, 512, 1024, 1024, 1024, 1024 };

/* A slot's state as nDPI keeps it: is_full in bit 0, the value above. */
#define FULL 1u

/* One unit's latest write to one slot of one cache, this step. */
struct ov_entry {
	uint32_t key;
	uint32_t state;		/* FULL | value << 1, or 0: emptied by a find */
	int32_t unit;
	uint32_t where;		/* cache << 24 | slot */
	uint32_t pos;		/* its place in the index */
};

/* Which unit last set a slot in the merge of round `round`. */
struct stamp {
	uint64_t round;
	int32_t unit;
};

struct group {
	pthread_mutex_t mu;
	pthread_cond_t merged;
	struct ndpi_lru_cache *cache[NCACHES];	/* the owner module's */
	struct stamp *stamp[NCACHES];
	struct dpicache *members;
	unsigned active, arrived;
	_Atomic uint64_t done;		/* rounds merged */
	void (*hook)(void *);		/* dpicache_on_merge's */
	void *hook_arg;
};

struct dpicache {
	struct group *g;		/* the group it is in */
	struct group own;		/* the group it made (used while it owns it) */
	struct dpicache *next;		/* in g's members */
	int in;				/* counted in g->active */
	int early;			/* arrived before its step closed */
	uint64_t target;		/* the round it arrived for */
	uint32_t n;			/* overlay entries in use */
	struct ov_entry *ov;
	uint32_t *index;		/* entry + 1, or 0 */
	uint64_t lost;
};

/* This thread's member and unit (dpicache_enter); NULL: plain nDPI. */
static _Thread_local struct dpicache *cur;
static _Thread_local int32_t cur_unit;

struct dpicache *
dpicache_new(struct ndpi_detection_module_struct *n)
{
	struct dpicache *m = calloc(1, sizeof *m);
	int ok = m != NULL;

	/* A module made before (the fuzz targets keep one) keeps its own. */
	for (int i = 0; ok && i < NCACHES; i++) {
		if (*slot(n, i) == NULL)
			*slot(n, i) = ndpi_lru_cache_init(entries[i]);
		ok = *slot(n, i) != NULL;
		if (ok) {
			m->own.cache[i] = *slot(n, i);
			m->own.stamp[i] = calloc(m->own.cache[i]->num_entries, sizeof(struct stamp));
			ok = m->own.stamp[i] != NULL;
		}
	}
	if (ok) {
		m->ov = malloc(DPICACHE_OVERLAY * sizeof *m->ov);
		/* Probed before it is written (bigmem.h). */
		m->index = bigmem_resident(INDEX_SLOTS, sizeof *m->index);
		ok = m->ov && m->index;
	}
	if (!ok) {
		log_err("nDPI: no memory for its endpoint caches");
		dpicache_free(m, NULL);
		return NULL;
	}
	pthread_mutex_init(&m->own.mu, NULL);
	pthread_cond_init(&m->own.merged, NULL);
	m->own.members = m;
	m->own.active = 1;
	m->g = &m->own;
	m->in = 1;
	return m;
}

int
dpicache_join(struct dpicache *m, struct ndpi_detection_module_struct *n, struct dpicache *owner)
{
	struct group *g = owner->g;

	for (int i = 0; i < NCACHES; i++) {
		if (*slot(n, i))
			ndpi_lru_free_cache(*slot(n, i));
		*slot(n, i) = g->cache[i];
		free(m->own.stamp[i]);
		m->own.stamp[i] = NULL;
		m->own.cache[i] = NULL;
	}
	m->own.members = NULL;
	m->own.active = 0;
	pthread_mutex_lock(&g->mu);
	m->g = g;
	m->next = g->members;
	g->members = m;
	g->active++;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

void
dpicache_free(struct dpicache *m, struct ndpi_detection_module_struct *n)
{
	if (!m)
		return;
	if (cur == m)
		cur = NULL;
	/* m->g is NULL when dpicache_new failed half way. */
	if (m->g && m->g != &m->own) {
		struct group *g = m->g;

		pthread_mutex_lock(&g->mu);
		for (struct dpicache **p = &g->members; *p; p = &(*p)->next)
			if (*p == m) {
				*p = m->next;
				break;
			}
		g->active -= m->in;
		pthread_mutex_unlock(&g->mu);
		/* A borrower's module must not free the owner's caches. */
		for (int i = 0; n && i < NCACHES; i++)
			*slot(n, i) = NULL;
	}
	if (m->g == &m->own && m->own.members == m) {
		pthread_mutex_destroy(&m->own.mu);
		pthread_cond_destroy(&m->own.merged);
	}
	for (int i = 0; i < NCACHES; i++)
		free(m->own.stamp[i]);
	free(m->ov);
	bigmem_free(m->index, INDEX_SLOTS, sizeof *m->index);
	free(m);
}

void
dpicache_enter(struct dpicache *m, int32_t unit)
{
	cur = m;
	cur_unit = unit;
}

/* ---- the overlay -------------------------------------------------------- */

static uint32_t
index_of(int32_t unit, uint32_t where)
{
	return (uint32_t)(hash_mix((uint64_t)(uint32_t)unit << 32 | where) >> 32) &
	       (INDEX_SLOTS - 1);
}

/* unit's entry for where, or NULL. */
static struct ov_entry *
ov_find(const struct dpicache *m, int32_t unit, uint32_t where)
{
	for (uint32_t i = index_of(unit, where);; i = (i + 1) & (INDEX_SLOTS - 1)) {
		uint32_t e = m->index[i];

		if (e == 0)
			return NULL;
		if (m->ov[e - 1].where == where && m->ov[e - 1].unit == unit)
			return &m->ov[e - 1];
	}
}

/* unit sets where to (key, state) this step; counted as lost when the
 * overlay is full. */
static void
ov_set(struct dpicache *m, int32_t unit, uint32_t where, uint32_t key, uint32_t state)
{
	uint32_t i = index_of(unit, where);
	struct ov_entry *e;

	for (;; i = (i + 1) & (INDEX_SLOTS - 1)) {
		uint32_t k = m->index[i];

		if (k == 0)
			break;
		e = &m->ov[k - 1];
		if (e->where == where && e->unit == unit) {
			e->key = key;
			e->state = state;
			return;
		}
	}
	if (m->n == DPICACHE_OVERLAY) {
		m->lost++;
		return;
	}
	e = &m->ov[m->n];
	*e = (struct ov_entry){ .key = key, .state = state, .unit = unit, .where = where, .pos = i };
	m->index[i] = ++m->n;
}

/* ---- steps -------------------------------------------------------------- */

/* Under g->mu, every active member arrived: their overlays into the
 * caches, a slot written by several units keeping the highest's. */
static void
merge(struct group *g)
{
	uint64_t round = atomic_load(&g->done) + 1;

	for (struct dpicache *m = g->members; m; m = m->next) {
		/* One that left ended its flows after its last step: those
		 * entries came at no step's end, and stay its own. */
		if (!m->in)
			continue;
		for (uint32_t i = 0; i < m->n; i++) {
			const struct ov_entry *e = &m->ov[i];
			uint32_t c = e->where >> 24, s = e->where & 0xffffff;
			struct stamp *st = &g->stamp[c][s];
			struct ndpi_lru_cache_entry *ce = &g->cache[c]->entries[s];

			if (st->round != round || e->unit > st->unit) {
				st->round = round;
				st->unit = e->unit;
				ce->key = e->key;
				ce->is_full = e->state & FULL;
				ce->value = (uint16_t)(e->state >> 1);
			}
			m->index[e->pos] = 0;
		}
		m->n = 0;
	}
	if (g->hook)
		g->hook(g->hook_arg);
	g->arrived = 0;
	atomic_store(&g->done, round);
	pthread_cond_broadcast(&g->merged);
}

/* Under g->mu: waits for m's round. */
static void
wait_round(struct group *g, const struct dpicache *m)
{
	while (atomic_load(&g->done) < m->target)
		pthread_cond_wait(&g->merged, &g->mu);
}

static void
arrive_locked(struct group *g, struct dpicache *m)
{
	wait_round(g, m);	/* its last round first */
	m->target = atomic_load(&g->done) + 1;
	if (++g->arrived >= g->active)
		merge(g);
}

void
dpicache_arrive(struct dpicache *m)
{
	struct group *g = m->g;

	pthread_mutex_lock(&g->mu);
	if (m->in && !m->early) {
		arrive_locked(g, m);
		m->early = 1;
	}
	pthread_mutex_unlock(&g->mu);
}

void
dpicache_step(struct dpicache *m)
{
	struct group *g = m->g;

	pthread_mutex_lock(&g->mu);
	if (m->in) {
		if (!m->early)
			arrive_locked(g, m);
		m->early = 0;
		wait_round(g, m);
	}
	pthread_mutex_unlock(&g->mu);
}

void
dpicache_leave(struct dpicache *m)
{
	struct group *g = m->g;

	pthread_mutex_lock(&g->mu);
	if (m->in) {
		wait_round(g, m);
		m->in = 0;
		m->early = 0;
		g->active--;
		/* The others may have been waiting only for it. */
		if (g->arrived > 0 && g->arrived >= g->active)
			merge(g);
	}
	pthread_mutex_unlock(&g->mu);
}

void
dpicache_on_merge(struct dpicache *m, void (*fn)(void *arg), void *arg)
{
	pthread_mutex_lock(&m->g->mu);
	m->g->hook = fn;
	m->g->hook_arg = arg;
	pthread_mutex_unlock(&m->g->mu);
}

void
dpicache_wait(struct dpicache *m)
{
	if (m && atomic_load_explicit(&m->g->done, memory_order_acquire) < m->target) {
		pthread_mutex_lock(&m->g->mu);
		wait_round(m->g, m);
		pthread_mutex_unlock(&m->g->mu);
	}
}

uint64_t
dpicache_lost(const struct dpicache *m)
{
	return m ? m->lost : 0;
}

/* ---- nDPI's two calls ------------------------------------------------- */

static int
cache_of(const struct group *g, const struct ndpi_lru_cache *c)
{
	for (int i = 0; i < NCACHES; i++)
		if (g->cache[i] == c)
			return i;
	return -1;
}

/* A member that arrived reads and writes nothing before the merge. */
static struct dpicache *
member_now(void)
{
	dpicache_wait(cur);
	return cur;
}

/* nDPI 4.2's own, for caches outside any group (and threads outside any
 * pipeline): a direct-mapped table of key % entries. */
u_int8_t
ndpi_lru_find_cache(struct ndpi_lru_cache *c, u_int32_t key, u_int16_t *value,
		    u_int8_t clean_key_when_found)
{
	struct dpicache *m = member_now();
	uint32_t s = key % c->num_entries;
	int i = m ? cache_of(m->g, c) : -1;
	const struct ov_entry *e;

	if (i >= 0 && (e = ov_find(m, cur_unit, (uint32_t)i << 24 | s)) != NULL) {
		if (!(e->state & FULL) || e->key != key)
			return 0;
		*value = (u_int16_t)(e->state >> 1);
		if (clean_key_when_found)
			ov_set(m, cur_unit, (uint32_t)i << 24 | s, key, e->state & ~FULL);
		return 1;
	}
	if (!c->entries[s].is_full || c->entries[s].key != key)
		return 0;
	*value = (u_int16_t)c->entries[s].value;
	if (clean_key_when_found) {
		if (i >= 0)
			ov_set(m, cur_unit, (uint32_t)i << 24 | s, key, (uint32_t)*value << 1);
		else
			c->entries[s].is_full = 0;
	}
	return 1;
}

void
ndpi_lru_add_to_cache(struct ndpi_lru_cache *c, u_int32_t key, u_int16_t value)
{
	struct dpicache *m = member_now();
	uint32_t s = key % c->num_entries;
	int i = m ? cache_of(m->g, c) : -1;

	if (i >= 0) {
		ov_set(m, cur_unit, (uint32_t)i << 24 | s, key, FULL | (uint32_t)value << 1);
		return;
	}
	c->entries[s].is_full = 1;
	c->entries[s].key = key;
	c->entries[s].value = value;
}
