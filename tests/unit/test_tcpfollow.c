/*
 * test_tcpfollow.c — the TCP stream follower (tcpfollow.h): in-order
 * segments, a retransmission of the same bytes, an overlap with
 * different bytes (the first copy wins), a gap and its filling, the jump
 * limit, and a stream whose sequence numbers wrap past 2^32. A small
 * receiver in the test writes every new byte where the follower says;
 * the oracle is the stream the test constructed, written out.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "tcpfollow.h"

/* A receiver: the follower and the bytes read, from stream offset 0 at
 * sequence number isn. */
struct rx {
	struct tcpfollow f;
	uint32_t isn;
	char out[64];
	uint32_t len;
};

static void
rx_init(struct rx *r, uint32_t isn)
{
	memset(r, 0, sizeof *r);
	r->isn = isn;
	tcpfollow_start(&r->f, isn);
}

/* Feeds the bytes s at stream offset off; reads what is new; returns the
 * follower's answer (a gap is left waiting, as the PEX reader does). */
static enum tcpfollow_place
rx_feed(struct rx *r, uint32_t off, const char *s)
{
	uint32_t n = (uint32_t)strlen(s), k;
	uint32_t seq = r->isn + off;
	enum tcpfollow_place w = tcpfollow_place(&r->f, seq, n, TCPF_NO_JUMP, &k);

	if (w == TCPF_NEW) {
		memcpy(r->out + r->len, s + k, n - k);
		r->len += n - k;
		r->out[r->len] = '\0';
		tcpfollow_took(&r->f, seq, n);
	}
	return w;
}

static void
test_in_order(void **state)
{
	struct rx r;

	rx_init(&r, 1000);
	assert_int_equal(rx_feed(&r, 0, "MAIL "), TCPF_NEW);
	assert_int_equal(rx_feed(&r, 5, "FROM:"), TCPF_NEW);
	assert_int_equal(rx_feed(&r, 10, "<a@b>"), TCPF_NEW);
	assert_string_equal(r.out, "MAIL FROM:<a@b>");
	assert_int_equal(r.f.next, 1015);
}

static void
test_retransmission(void **state)
{
	struct rx r;
	uint32_t k = 99;

	rx_init(&r, 1000);
	rx_feed(&r, 0, "HELO x\r\n");
	assert_int_equal(rx_feed(&r, 0, "HELO x\r\n"), TCPF_OLD);
	assert_int_equal(rx_feed(&r, 2, "LO"), TCPF_OLD);	/* a part of it */
	assert_int_equal(tcpfollow_place(&r.f, 1000, 8, TCPF_NO_JUMP, &k), TCPF_OLD);
	assert_int_equal(k, 0);
	/* Ending exactly at the next byte is old; one byte more is new. */
	assert_int_equal(rx_feed(&r, 4, " x\r\n"), TCPF_OLD);
	assert_int_equal(rx_feed(&r, 4, " x\r\nQ"), TCPF_NEW);
	assert_string_equal(r.out, "HELO x\r\nQ");
}

static void
test_overlap_different_bytes(void **state)
{
	struct rx r;
	uint32_t k;

	rx_init(&r, 5000);
	rx_feed(&r, 0, "ABCDEF");
	/* Offsets 2..5 again but with other bytes, then new ones. */
	assert_int_equal(tcpfollow_place(&r.f, 5002, 8, TCPF_NO_JUMP, &k), TCPF_NEW);
	assert_int_equal(k, 4);
	assert_int_equal(rx_feed(&r, 2, "xxxxGHIJ"), TCPF_NEW);
	assert_string_equal(r.out, "ABCDEFGHIJ");
}

static void
test_gap(void **state)
{
	struct rx r;
	uint32_t k;

	rx_init(&r, 7);
	rx_feed(&r, 0, "ABC");
	assert_int_equal(tcpfollow_place(&r.f, 7 + 5, 3, TCPF_NO_JUMP, &k), TCPF_GAP);
	assert_int_equal(k, 2);				/* "DE" missing */
	assert_int_equal(rx_feed(&r, 5, "FGH"), TCPF_GAP);
	assert_string_equal(r.out, "ABC");		/* nothing read past the hole */
	assert_int_equal(rx_feed(&r, 3, "DE"), TCPF_NEW);
	assert_int_equal(rx_feed(&r, 5, "FGH"), TCPF_NEW);
	assert_string_equal(r.out, "ABCDEFGH");
	/* Giving a hole up: took past it moves on; going back does not. */
	tcpfollow_took(&r.f, 7 + 20, 4);
	assert_int_equal(r.f.next, 31);
	tcpfollow_took(&r.f, 7, 3);
	assert_int_equal(r.f.next, 31);
}

static void
test_jump_limit(void **state)
{
	struct tcpfollow f;
	uint32_t k;

	tcpfollow_start(&f, 1u << 20);
	assert_int_equal(tcpfollow_place(&f, (1u << 20) + 100, 1, 100, &k), TCPF_GAP);
	assert_int_equal(k, 100);
	assert_int_equal(tcpfollow_place(&f, (1u << 20) + 101, 1, 100, &k), TCPF_JUMP);
	assert_int_equal(tcpfollow_place(&f, (1u << 20) - 100, 100, 100, &k), TCPF_OLD);
	assert_int_equal(tcpfollow_place(&f, (1u << 20) - 100, 101, 100, &k), TCPF_NEW);
	assert_int_equal(k, 100);
	assert_int_equal(tcpfollow_place(&f, (1u << 20) - 101, 200, 100, &k), TCPF_JUMP);
	/* Without a limit: half the sequence space either way. */
	assert_int_equal(tcpfollow_place(&f, (1u << 20) + 0x7fffffffu, 1, TCPF_NO_JUMP, &k),
			 TCPF_GAP);
	assert_int_equal(k, 0x7fffffffu);
	assert_int_equal(tcpfollow_place(&f, (1u << 20) + 0x80000000u, 1, TCPF_NO_JUMP, &k),
			 TCPF_OLD);
}

static void
test_wrap(void **state)
{
	struct rx r;
	uint32_t k;

	/* Offsets 0..5 lie below 2^32, 6.. past it. */
	rx_init(&r, 0xfffffffau);
	assert_int_equal(rx_feed(&r, 0, "0123"), TCPF_NEW);
	assert_int_equal(rx_feed(&r, 4, "4567"), TCPF_NEW);	/* crosses 2^32 */
	assert_int_equal(r.f.next, 2u);
	assert_int_equal(rx_feed(&r, 2, "2345"), TCPF_OLD);	/* old, across the wrap */
	assert_int_equal(tcpfollow_place(&r.f, 0xfffffffeu, 6, TCPF_NO_JUMP, &k), TCPF_NEW);
	assert_int_equal(k, 4);
	assert_int_equal(rx_feed(&r, 12, "CD"), TCPF_GAP);
	assert_int_equal(tcpfollow_place(&r.f, 0xfffffffau + 12, 2, TCPF_NO_JUMP, &k), TCPF_GAP);
	assert_int_equal(k, 4);
	assert_int_equal(rx_feed(&r, 6, "6789AB"), TCPF_NEW);
	assert_int_equal(rx_feed(&r, 12, "CD"), TCPF_NEW);
	assert_string_equal(r.out, "0123456789ABCD");
	assert_int_equal(tcpfollow_offset(r.isn, r.f.next), 14);
	assert_int_equal(tcpfollow_offset(r.isn, r.isn - 3), -3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_retransmission),
		cmocka_unit_test(test_overlap_different_bytes),
		cmocka_unit_test(test_gap),
		cmocka_unit_test(test_jump_limit),
		cmocka_unit_test(test_wrap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
