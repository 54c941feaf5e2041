/*
 * classify.c — the nDPI wrapper. Detection follows the discipline of
 * nDPI's own reader (ndpiReader) so that labels agree with it: every
 * packet of a flow goes to ndpi_detection_process_packet() until a
 * protocol is found (and nDPI wants no extra packets for its metadata) or
 * the flow has seen more than the budget; an undecided flow then gets
 * ndpi_detection_giveup() with guessing on.
 */
#include "classify.h"

#include <ndpi_api.h>
#include <stdlib.h>
#include <string.h>

#include "dpicache.h"
#include "log.h"
#include "watchdog.h"

/* ndpiReader's defaults (-T and -U): enough for every dissector that
 * needs a handshake, and what the agreement test compares against. */
#define BUDGET_TCP 80
#define BUDGET_OTHER 24

/* Dissectors left out on purpose: nDPI 4.2 (no security backports in
 * Debian) has a NULL dereference in DTLS and over-reads in TINC, IRC,
 * PPSTREAM and DHCP, and spanwatch reports none of these protocols. */
static const uint16_t disabled_protocols[] = {
	NDPI_PROTOCOL_DTLS, NDPI_PROTOCOL_TINC, NDPI_PROTOCOL_IRC,
	NDPI_PROTOCOL_PPSTREAM, NDPI_PROTOCOL_DHCP,
};

/* Counts kept for a debugger: nothing reads them (the public getter went
 * unused and was removed). */
struct classify_stats {
	uint64_t fed;		/* packets given to nDPI */
	uint64_t detected;	/* flows nDPI named from their packets */
	uint64_t guessed;	/* flows named at give-up from ports or addresses */
	uint64_t unknown;	/* flows nDPI could not name */
	uint64_t no_state;	/* flows that found the state pool empty */
	uint32_t in_use, peak;	/* states held now and at most */
};

struct classifier {
	struct ndpi_detection_module_struct *ndpi;
	struct dpicache *dc;		/* its endpoint caches, maybe another's */
	struct ndpi_flow_struct *pool;
	uint32_t *free_ids;		/* stack of unused pool slots */
	uint32_t nfree, max;
	struct classify_stats st;
	uint32_t max_bytes;		/* of a datagram given to nDPI */
	uint8_t scratch[65536];		/* a datagram cut to max_bytes */
};

struct classifier *
classify_new(uint32_t max_states, uint32_t max_bytes)
{
	struct classifier *c = calloc(1, sizeof *c);
	NDPI_PROTOCOL_BITMASK all;

	if (!c)
		return NULL;
	c->ndpi = ndpi_init_detection_module(ndpi_no_prefs);
	if (!c->ndpi) {
		log_err("nDPI: cannot initialise the detection module");
		free(c);
		return NULL;
	}
	NDPI_BITMASK_SET_ALL(all);
	for (size_t i = 0; i < sizeof disabled_protocols / sizeof disabled_protocols[0]; i++)
		NDPI_DEL_PROTOCOL_FROM_BITMASK(all, disabled_protocols[i]);
	ndpi_set_protocol_detection_bitmask2(c->ndpi, &all);
	ndpi_finalize_initialization(c->ndpi);
	if ((c->dc = dpicache_new(c->ndpi)) == NULL) {
		classify_free(c);
		return NULL;
	}

	/* calloc: slots never used cost no resident memory. */
	c->pool = calloc(max_states, sizeof *c->pool);
	c->free_ids = malloc((size_t)max_states * sizeof *c->free_ids);
	if (!c->pool || !c->free_ids) {
		log_err("nDPI: no memory for %u flow states", max_states);
		classify_free(c);
		return NULL;
	}
	c->max = c->nfree = max_states;
	c->max_bytes = max_bytes < 128 ? 128 : max_bytes > 65535 ? 65535 : max_bytes;
	for (uint32_t i = 0; i < max_states; i++)
		c->free_ids[i] = max_states - 1 - i;
	return c;
}

static void
release(struct classifier *c, struct flow *f)
{
	ndpi_free_flow_data(&c->pool[f->dpi]);
	c->free_ids[c->nfree++] = f->dpi;
	c->st.in_use--;
	f->dpi = FLOW_NONE;
}

int
classify_share(struct classifier *c, struct classifier *owner)
{
	return dpicache_join(c->dc, c->ndpi, owner->dc);
}

struct dpicache *
classify_caches(struct classifier *c)
{
	return c->dc;
}

void
classify_free(struct classifier *c)
{
	if (!c)
		return;
	/* The owner frees shared caches (after every borrower is done). */
	dpicache_free(c->dc, c->ndpi);
	if (c->ndpi)
		ndpi_exit_detection_module(c->ndpi);
	free(c->pool);
	free(c->free_ids);
	free(c);
}

static void
done(struct classifier *c, struct flow *f, ndpi_protocol r, int detected)
{
	if (r.app_protocol == NDPI_PROTOCOL_UNKNOWN && f->dpi != FLOW_NONE) {
		uint8_t guessed = 0;

		watchdog_enter(NULL, 0, 0);
		r = ndpi_detection_giveup(c->ndpi, &c->pool[f->dpi], 1, &guessed);
		watchdog_leave();
		detected = 0;
	}
	f->app_master = r.master_protocol;
	f->app_proto = r.app_protocol;
	f->classified = 1;
	if (detected)
		c->st.detected++;
	else if (r.app_protocol != NDPI_PROTOCOL_UNKNOWN || r.master_protocol != NDPI_PROTOCOL_UNKNOWN)
		c->st.guessed++;
	else
		c->st.unknown++;
	if (f->dpi != FLOW_NONE)
		release(c, f);
}

/* The datagram as nDPI gets it: whole when it is at most max_bytes long,
 * else its first max_bytes in the scratch buffer with the IP (and UDP)
 * length fields saying so. No dissector needs more to decide, and nDPI
 * 4.2's 16-bit offsets cannot wrap inside such a packet. */
static const uint8_t *
cut(struct classifier *c, const struct pkt *p, uint32_t *len)
{
	uint32_t n = c->max_bytes, ihl;

	if (p->l3_len <= n) {
		*len = p->l3_len;
		return p->l3;
	}
	memcpy(c->scratch, p->l3, n);
	if (p->family == 4) {
		c->scratch[2] = (uint8_t)(n >> 8);
		c->scratch[3] = (uint8_t)n;
		ihl = (uint32_t)(c->scratch[0] & 0x0f) * 4;
		if (p->proto == 17 && ihl + 8 <= n) {
			c->scratch[ihl + 4] = (uint8_t)((n - ihl) >> 8);
			c->scratch[ihl + 5] = (uint8_t)(n - ihl);
		}
	} else {
		c->scratch[4] = (uint8_t)((n - 40) >> 8);
		c->scratch[5] = (uint8_t)(n - 40);
	}
	*len = n;
	return c->scratch;
}

int
classify_packet(struct classifier *c, struct flow *f, const struct pkt *p)
{
	struct ndpi_flow_struct *nf;
	const uint8_t *l3;
	uint32_t len;
	ndpi_protocol r;
	uint64_t seen;
	int enough;

	if (f->classified)
		return 0;
	if (f->dpi == FLOW_NONE) {
		if (c->nfree == 0) {
			/* Every state is busy (a flood of new flows): this flow
			 * stays Unknown rather than take memory we promised not to. */
			c->st.no_state++;
			f->classified = 1;
			c->st.unknown++;
			return 1;
		}
		f->dpi = c->free_ids[--c->nfree];
		memset(&c->pool[f->dpi], 0, sizeof c->pool[0]);
		if (++c->st.in_use > c->st.peak)
			c->st.peak = c->st.in_use;
	}
	/* Later fragments have no transport header: nDPI cannot use them. */
	if (p->flags & PKT_F_FRAG_LATER)
		return 0;
	nf = &c->pool[f->dpi];
	l3 = cut(c, p, &len);
	watchdog_enter(l3, len, p->ts_us);
	r = ndpi_detection_process_packet(c->ndpi, nf, l3, (unsigned short)len, p->ts_us / 1000);
	watchdog_leave();
	c->st.fed++;
	seen = f->pkts[0] + f->pkts[1];
	enough = seen > (p->proto == 6 ? BUDGET_TCP : BUDGET_OTHER);
	if (!enough && r.app_protocol == NDPI_PROTOCOL_UNKNOWN)
		return 0;
	/* Found, but nDPI still reads metadata (a TLS certificate's names
	 * can refine "TLS" into "TLS.Google"): keep feeding within budget. */
	if (!enough && ndpi_extra_dissection_possible(c->ndpi, nf))
		return 0;
	done(c, f, r, r.app_protocol != NDPI_PROTOCOL_UNKNOWN);
	return 1;
}

void
classify_finish(struct classifier *c, struct flow *f)
{
	ndpi_protocol r = NDPI_PROTOCOL_NULL;

	if (f->classified)
		return;
	if (f->dpi != FLOW_NONE) {
		/* What nDPI holds so far (it may have found a protocol and be
		 * waiting for extra packets). */
		r.master_protocol = c->pool[f->dpi].detected_protocol_stack[1];
		r.app_protocol = c->pool[f->dpi].detected_protocol_stack[0];
		if (r.master_protocol == r.app_protocol)
			r.master_protocol = NDPI_PROTOCOL_UNKNOWN;
	}
	done(c, f, r, r.app_protocol != NDPI_PROTOCOL_UNKNOWN);
}

const char *
classify_name(struct classifier *c, const struct flow *f, char *buf, size_t len)
{
	ndpi_protocol r = NDPI_PROTOCOL_NULL;

	r.master_protocol = f->app_master;
	r.app_protocol = f->app_proto;
	return ndpi_protocol2name(c->ndpi, r, buf, (u_int)len);
}

int
classify_proto_id(struct classifier *c, const char *name)
{
	int id = (int)ndpi_get_protocol_id(c->ndpi, (char *)name);

	return id < 0 ? -1 : id;
}
