/*
 * test_flow.c — the flow table: both directions meet in one flow, idle and
 * close timeouts, eviction at max_flows, a new SYN on a closed 5-tuple,
 * and the pool's bookkeeping over many flows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "flow.h"

struct ended {
	unsigned n, why[4];
	uint64_t pkts, bytes;
};

static void
on_end(void *ctx, struct flow *f, enum flow_end why)
{
	struct ended *e = ctx;

	e->n++;
	e->why[why]++;
	e->pkts += f->pkts[0] + f->pkts[1];
	e->bytes += f->bytes[0] + f->bytes[1];
}

static struct pkt
tcp(uint32_t src, uint16_t sport, uint32_t dst, uint16_t dport, uint8_t flags, uint64_t ts_s)
{
	struct pkt p;

	memset(&p, 0, sizeof p);
	p.family = 4;
	p.proto = 6;
	memcpy(p.src, &src, 4);
	memcpy(p.dst, &dst, 4);
	p.sport = sport;
	p.dport = dport;
	p.tcp_flags = flags;
	p.ip_len = 100;
	p.ts_us = ts_s * 1000000;
	return p;
}

static void
test_direction_symmetry(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(16, 60, on_end, &e);
	struct pkt a = tcp(1, 1000, 2, 80, TCP_SYN, 1);
	struct pkt b = tcp(2, 80, 1, 1000, TCP_SYN | TCP_ACK, 1);
	struct pkt c = tcp(1, 1000, 2, 80, TCP_ACK, 2);
	struct flow *f1, *f2, *f3;
	enum flow_dir d;
	int created;

	f1 = flow_packet(t, &a, &d, &created);
	assert_true(created);
	assert_int_equal(d, FLOW_C2S);
	f2 = flow_packet(t, &b, &d, &created);
	assert_false(created);
	assert_ptr_equal(f1, f2);
	assert_int_equal(d, FLOW_S2C);
	f3 = flow_packet(t, &c, &d, &created);
	assert_ptr_equal(f1, f3);
	assert_int_equal(d, FLOW_C2S);
	assert_int_equal(f1->pkts[FLOW_C2S], 2);
	assert_int_equal(f1->pkts[FLOW_S2C], 1);
	assert_int_equal(f1->bytes[FLOW_C2S], 200);

	/* Another VLAN is another flow. */
	a.vlan = 5;
	f2 = flow_packet(t, &a, &d, &created);
	assert_true(created);
	assert_ptr_not_equal(f1, f2);
	flow_drain(t);
	assert_int_equal(e.n, 2);
	assert_int_equal(e.why[FLOW_END_EXIT], 2);
	assert_int_equal(e.pkts, 4);
	flow_table_free(t);
}

static void
test_syn_ack_first_makes_server(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(16, 60, on_end, &e);
	struct pkt b = tcp(2, 80, 1, 1000, TCP_SYN | TCP_ACK, 1);
	enum flow_dir d;
	int created;
	struct flow *f = flow_packet(t, &b, &d, &created);

	/* The capture missed the SYN: the SYN-ACK's sender is the server. */
	assert_int_equal(d, FLOW_S2C);
	assert_int_equal(f->pkts[FLOW_S2C], 1);
	flow_table_free(t);
}

static void
test_idle_timeout(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(16, 60, on_end, &e);
	struct pkt a = tcp(1, 1000, 2, 80, TCP_ACK, 100);
	struct pkt b = tcp(3, 1000, 2, 80, TCP_ACK, 130);
	enum flow_dir d;
	int created;
	struct flow_stats st;

	flow_packet(t, &a, &d, &created);
	flow_packet(t, &b, &d, &created);
	assert_int_equal(flow_expire(t, 159 * 1000000ULL, 100), 0);
	assert_int_equal(flow_expire(t, 160 * 1000000ULL, 100), 1);
	assert_int_equal(e.why[FLOW_END_IDLE], 1);
	/* Budget: at most one per call. */
	assert_int_equal(flow_expire(t, 1000 * 1000000ULL, 0), 0);
	assert_int_equal(flow_expire(t, 1000 * 1000000ULL, 1), 1);
	flow_get_stats(t, &st);
	assert_int_equal(st.active, 0);
	assert_int_equal(st.expired, 2);
	assert_int_equal(st.peak, 2);
	flow_table_free(t);
}

static void
test_fin_rst_linger(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(16, 600, on_end, &e);
	struct pkt p;
	enum flow_dir d;
	int created;

	p = tcp(1, 1000, 2, 80, TCP_FIN | TCP_ACK, 10);
	flow_packet(t, &p, &d, &created);
	/* One FIN is a half-close: the flow stays active. */
	assert_int_equal(flow_expire(t, 20 * 1000000ULL, 10), 0);
	p = tcp(2, 80, 1, 1000, TCP_FIN | TCP_ACK, 20);
	flow_packet(t, &p, &d, &created);
	p = tcp(1, 1000, 2, 80, TCP_ACK, 21);		/* the last ACK joins */
	flow_packet(t, &p, &d, &created);
	assert_false(created);
	assert_int_equal(flow_expire(t, 25 * 1000000ULL, 10), 0);
	assert_int_equal(flow_expire(t, 26 * 1000000ULL, 10), 1);
	assert_int_equal(e.why[FLOW_END_CLOSED], 1);
	assert_int_equal(e.pkts, 3);

	/* RST closes at once; a new SYN on the same tuple is a new flow. */
	p = tcp(1, 1001, 2, 80, TCP_RST, 30);
	flow_packet(t, &p, &d, &created);
	p = tcp(1, 1001, 2, 80, TCP_SYN, 31);
	flow_packet(t, &p, &d, &created);
	assert_true(created);
	assert_int_equal(e.why[FLOW_END_CLOSED], 2);
	flow_table_free(t);
}

static void
test_eviction_at_cap(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(4, 600, on_end, &e);
	struct flow_stats st;
	enum flow_dir d;
	int created;

	for (uint16_t i = 0; i < 4; i++) {
		struct pkt p = tcp(1, (uint16_t)(1000 + i), 2, 80, TCP_ACK, 1 + i);
		flow_packet(t, &p, &d, &created);
	}
	/* Touch the oldest so that the second-oldest is the one evicted. */
	struct pkt old = tcp(1, 1000, 2, 80, TCP_ACK, 10);
	flow_packet(t, &old, &d, &created);
	assert_false(created);
	struct pkt n = tcp(1, 2000, 2, 80, TCP_SYN, 11);
	flow_packet(t, &n, &d, &created);
	assert_true(created);
	assert_int_equal(e.why[FLOW_END_EVICTED], 1);
	assert_int_equal(e.pkts, 1);
	struct pkt again = tcp(1, 1000, 2, 80, TCP_ACK, 12);
	flow_packet(t, &again, &d, &created);
	assert_false(created);				/* it survived */
	struct pkt gone = tcp(1, 1001, 2, 80, TCP_ACK, 13);
	flow_packet(t, &gone, &d, &created);
	assert_true(created);				/* it was evicted */
	flow_get_stats(t, &st);
	assert_int_equal(st.active, 4);
	assert_int_equal(st.peak, 4);
	assert_int_equal(st.evicted, 2);
	flow_table_free(t);
}

/* At the cap, a closed flow still lingering goes before any active one,
 * even when it was active more recently than all of them (SPEC,
 * flow_table_full: "lingering closed flows first"). */
static void
test_eviction_prefers_lingering(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(4, 600, on_end, &e);
	enum flow_dir d;
	int created;

	for (uint16_t i = 0; i < 3; i++) {
		struct pkt p = tcp(1, (uint16_t)(1000 + i), 2, 80, TCP_ACK, 1 + i);
		flow_packet(t, &p, &d, &created);
	}
	/* The fourth closes both ways at t=10 and lingers. */
	struct pkt f1 = tcp(1, 3000, 2, 80, TCP_FIN | TCP_ACK, 10);
	struct pkt f2 = tcp(2, 80, 1, 3000, TCP_FIN | TCP_ACK, 10);
	flow_packet(t, &f1, &d, &created);
	flow_packet(t, &f2, &d, &created);
	assert_int_equal(e.n, 0);
	struct pkt n = tcp(1, 2000, 2, 80, TCP_SYN, 11);
	flow_packet(t, &n, &d, &created);
	assert_true(created);
	assert_int_equal(e.n, 1);
	assert_int_equal(e.pkts, 2);			/* the lingering one */
	for (uint16_t i = 0; i < 3; i++) {
		struct pkt p = tcp(1, (uint16_t)(1000 + i), 2, 80, TCP_ACK, 12);
		flow_packet(t, &p, &d, &created);
		assert_false(created);			/* every active one survived */
	}
	flow_table_free(t);
}

static void
test_many_flows_conserve_counts(void **s)
{
	struct ended e = { 0 };
	struct flow_table *t = flow_table_new(1000, 30, on_end, &e);
	enum flow_dir d;
	int created;
	uint64_t sent = 0;

	/* 20000 packets over 5000 tuples through a 1000-slot table: every
	 * packet is in exactly one ended flow, whatever ended them. */
	for (uint32_t i = 0; i < 20000; i++) {
		uint32_t k = (i * 7919u) % 5000u;
		struct pkt p = tcp(k, (uint16_t)(k & 0xff), 99, 443, TCP_ACK, i / 100);
		flow_packet(t, &p, &d, &created);
		flow_expire(t, p.ts_us, 4);
		sent++;
	}
	flow_drain(t);
	assert_int_equal(e.pkts, sent);
	assert_int_equal(e.bytes, sent * 100);
	flow_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_direction_symmetry),
		cmocka_unit_test(test_syn_ack_first_makes_server),
		cmocka_unit_test(test_idle_timeout),
		cmocka_unit_test(test_fin_rst_linger),
		cmocka_unit_test(test_eviction_at_cap),
		cmocka_unit_test(test_eviction_prefers_lingering),
		cmocka_unit_test(test_many_flows_conserve_counts),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
