/*
 * test_mse.c — the MSE handshake shape detector: handshakes with
 * Diffie-Hellman-sized random messages and every pad length pass, also
 * cut into small segments and with retransmissions; TLS ClientHellos,
 * HTTP, SSH, plain BitTorrent handshakes, short or tiny packets,
 * low-entropy data and the wrong order of speakers do not.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "mse.h"

/* A small deterministic generator (xorshift64*): the test is the same in
 * every run. */
static uint64_t rs = 0x9e3779b97f4a7c15ULL;

static uint64_t
rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 2685821657736338717ULL;
}

static void
fill(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(rnd() >> 56);
}

enum { C = 1, S = 0 };

/* Client sequence numbers start at 1000, the server's at 50000. */
struct conn {
	struct mse m;
	uint32_t cseq, sseq;
};

static void
conn_init(struct conn *c)
{
	mse_init(&c->m);
	c->cseq = 1000;
	c->sseq = 50000;
}

static enum mse_verdict
send_seg(struct conn *c, int from_client, const uint8_t *p, uint32_t n)
{
	uint32_t *seq = from_client ? &c->cseq : &c->sseq;
	enum mse_verdict v = mse_feed(&c->m, from_client, *seq, p, n);

	*seq += n;
	return v;
}

/* Sends n bytes in segments of at most mss. */
static enum mse_verdict
send_msg(struct conn *c, int from_client, const uint8_t *p, uint32_t n, uint32_t mss)
{
	enum mse_verdict v = MSE_UNDECIDED;

	for (uint32_t i = 0; i < n; i += mss)
		v = send_seg(c, from_client, p + i, n - i < mss ? n - i : mss);
	return v;
}

/* Messages 1 and 2 in segments of mss, message 3 in segments of mss3. */
static enum mse_verdict
handshake(uint32_t pa, uint32_t pb, uint32_t m3, uint32_t mss, uint32_t mss3)
{
	uint8_t a[MSE_MSG_MAX], b[MSE_MSG_MAX], c3[1500];
	struct conn c;

	conn_init(&c);
	fill(a, sizeof a);
	fill(b, sizeof b);
	fill(c3, sizeof c3);
	assert_int_equal(send_msg(&c, C, a, MSE_DH_LEN + pa, mss), MSE_UNDECIDED);
	assert_int_equal(send_msg(&c, S, b, MSE_DH_LEN + pb, mss), MSE_UNDECIDED);
	return send_msg(&c, C, c3, m3, mss3);
}

static void
test_random_handshakes_pass(void **state)
{
	unsigned yes = 0, n = 0;

	/* Every pad length of A and B, message 3 of every length from the
	 * least (empty PadC and IA) to one with a handshake inside. */
	for (uint32_t pad = 0; pad <= MSE_PAD_MAX; pad++, n++) {
		uint32_t m3 = MSE_REQ_MIN + (uint32_t)(rnd() % 600);

		yes += handshake(pad, MSE_PAD_MAX - pad, m3, 1460, 1460) == MSE_YES;
	}
	assert_int_equal(yes, n);
}

static void
test_segmented_and_retransmitted(void **state)
{
	uint8_t a[MSE_MSG_MAX], b[MSE_MSG_MAX], c3[200];
	struct conn c;

	/* A 536-byte MSS cuts the 608-byte keys in two. */
	assert_int_equal(handshake(MSE_PAD_MAX, MSE_PAD_MAX, 100, 536, 536), MSE_YES);
	/* Message 3 in segments of 30: yes once 56 bytes are in. */
	assert_int_equal(handshake(10, 20, 60, 1460, 30), MSE_YES);

	fill(a, sizeof a);
	fill(b, sizeof b);
	fill(c3, sizeof c3);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, a, 300), MSE_UNDECIDED);
	/* The same segment again (same sequence number): not 600 bytes. */
	assert_int_equal(mse_feed(&c.m, C, 1000, a, 300), MSE_UNDECIDED);
	assert_int_equal(mse_feed(&c.m, C, 1000, a, 300), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, S, b, 400), MSE_UNDECIDED);
	assert_int_equal(mse_feed(&c.m, S, 50000, b, 400), MSE_UNDECIDED);
	/* Message 1 again after the server spoke is not message 3. */
	assert_int_equal(mse_feed(&c.m, C, 1000, a, 300), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, C, c3, 40), MSE_UNDECIDED);
	/* Message 2 again while message 3 is on its way is fine. */
	assert_int_equal(mse_feed(&c.m, S, 50000, b, 400), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, C, c3 + 40, 40), MSE_YES);
	/* Sticky. */
	assert_int_equal(send_seg(&c, S, (const uint8_t *)"HTTP/1.1 200 OK\r\n", 17), MSE_YES);
}

/* A TLS 1.3 ClientHello as browsers send it: record and handshake
 * headers, 32 random bytes, a 32-byte session id, cipher suites,
 * extensions with a server name, groups and an X25519 key share. */
static size_t
client_hello(uint8_t *p)
{
	static const uint8_t head[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc,
					0x03, 0x03 };
	static const char tail[] =
		"\x00\x20\x13\x01\x13\x02\x13\x03\xc0\x2b\xc0\x2f\xc0\x2c\xc0\x30\xcc\xa9\xcc\xa8"
		"\xc0\x13\xc0\x14\x00\x9c\x00\x9d\x00\x2f\x00\x35\x01\x00\x01\x93\x00\x00\x00\x14"
		"\x00\x12\x00\x00\x0fwww.example.com\x00\x17\x00\x00\xff\x01\x00\x01\x00\x00\x0a"
		"\x00\x0e\x00\x0c\x00\x1d\x00\x17\x00\x18\x00\x19\x01\x00\x01\x01\x00\x0b\x00\x02"
		"\x01\x00\x00\x23\x00\x00\x00\x10\x00\x0e\x00\x0c\x02h2\x08http/1.1\x00\x05\x00"
		"\x05\x01\x00\x00\x00\x00\x00\x33\x00\x26\x00\x24\x00\x1d\x00\x20";
	size_t n = 0;

	memcpy(p, head, sizeof head);
	n += sizeof head;
	fill(p + n, 32);	/* random */
	n += 32;
	p[n++] = 32;
	fill(p + n, 32);	/* session id */
	n += 32;
	memcpy(p + n, tail, sizeof tail - 1);
	n += sizeof tail - 1;
	fill(p + n, 32);	/* key share */
	n += 32;
	memset(p + n, 0, 517 - n);	/* padding extension */
	return 517;
}

static void
test_plaintext_protocols_fail(void **state)
{
	uint8_t hello[600], b[MSE_MSG_MAX], noise[MSE_MSG_MAX];
	static const char http[] =
		"GET /index.html HTTP/1.1\r\nHost: www.example.com\r\nUser-Agent: curl/7.88.1\r\n"
		"Accept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate\r\n"
		"Connection: keep-alive\r\n\r\n";
	static const char ssh[] = "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n";
	uint8_t bt[68] = "\x13" "BitTorrent protocol";
	struct conn c;
	size_t n = client_hello(hello);

	fill(b, sizeof b);
	fill(noise, sizeof noise);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, hello, (uint32_t)n), MSE_NO);
	/* Its randomness is not enough even without the record header. */
	assert_false(mse_random_looking(hello, (uint32_t)n));

	conn_init(&c);
	assert_int_equal(send_seg(&c, C, (const uint8_t *)http, sizeof http - 1), MSE_NO);

	/* SSH: the server greets first; a client banner is plaintext too. */
	conn_init(&c);
	assert_int_equal(send_seg(&c, S, (const uint8_t *)ssh, sizeof ssh - 1), MSE_NO);
	conn_init(&c);
	memcpy(noise, ssh, sizeof ssh - 1);
	assert_int_equal(send_seg(&c, C, noise, 200), MSE_NO);

	/* The plain BitTorrent handshake, alone and with random bytes after
	 * it (a peer id, a bitfield). */
	fill(bt + 20, 48);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, bt, sizeof bt), MSE_NO);
	fill(noise, sizeof noise);
	memcpy(noise, bt, sizeof bt);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, noise, 300), MSE_NO);

	/* A random client message answered by TLS or HTTP. */
	fill(noise, sizeof noise);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, noise, 200), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, S, hello, (uint32_t)n), MSE_NO);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, noise, 200), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, S, b, 200), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, C, (const uint8_t *)http, 100), MSE_NO);
}

static void
test_sizes_and_order(void **state)
{
	uint8_t a[1500], b[1500];
	struct conn c;

	fill(a, sizeof a);
	fill(b, sizeof b);
	/* Too short for a Diffie-Hellman key, one byte, too long. */
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, a, MSE_DH_LEN - 1), MSE_NO);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, a, 1), MSE_NO);
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, a, MSE_MSG_MAX + 1), MSE_NO);
	/* Too long in two segments. */
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, a, 500), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, C, a + 500, 200), MSE_NO);
	/* The server's key too short or too long. */
	conn_init(&c);
	send_seg(&c, C, a, 200);
	assert_int_equal(send_seg(&c, S, b, 60), MSE_NO);
	conn_init(&c);
	send_seg(&c, C, a, 200);
	send_seg(&c, S, b, 600);
	assert_int_equal(send_seg(&c, S, b, 100), MSE_NO);
	/* The server speaks first. */
	conn_init(&c);
	assert_int_equal(send_seg(&c, S, b, 200), MSE_NO);
	/* The server speaks again before message 3 is complete. */
	conn_init(&c);
	send_seg(&c, C, a, 200);
	send_seg(&c, S, b, 200);
	assert_int_equal(send_seg(&c, C, a + 200, 30), MSE_UNDECIDED);
	assert_int_equal(send_seg(&c, S, b + 200, 30), MSE_NO);
	/* A tiny third message. */
	conn_init(&c);
	send_seg(&c, C, a, 200);
	send_seg(&c, S, b, 200);
	assert_int_equal(send_seg(&c, C, a + 200, 4), MSE_NO);
	/* The capture lost the handshake's end: a segment far ahead. */
	conn_init(&c);
	send_seg(&c, C, a, 200);
	assert_int_equal(mse_feed(&c.m, C, 1000 + 100000, a, 100), MSE_NO);
}

static void
test_low_entropy_fails(void **state)
{
	uint8_t p[600];
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	struct conn c;

	memset(p, 0, sizeof p);
	assert_false(mse_random_looking(p, sizeof p));
	for (size_t i = 0; i < sizeof p; i++)
		p[i] = (uint8_t)b64[rnd() % 64];
	assert_false(mse_random_looking(p, 96));
	assert_false(mse_random_looking(p, sizeof p));
	conn_init(&c);
	assert_int_equal(send_seg(&c, C, p, 300), MSE_NO);
	for (size_t i = 0; i < sizeof p; i++)
		p[i] = (uint8_t)("0123456789abcdef"[rnd() % 16]);
	assert_false(mse_random_looking(p, sizeof p));
	/* Random bytes with every other byte zero (UTF-16, wide fields). */
	fill(p, sizeof p);
	for (size_t i = 0; i < sizeof p; i += 2)
		p[i] = 0;
	assert_false(mse_random_looking(p, 200));
	/* Fewer than 16 bytes say nothing. */
	fill(p, 15);
	assert_false(mse_random_looking(p, 15));
}

static void
test_randomness_rate(void **state)
{
	uint8_t p[MSE_SAMPLE_MAX];
	unsigned miss = 0, n = 0;

	/* The threshold is the mean less five standard deviations: of 10^5
	 * random samples of each length, next to none may fail. */
	for (uint32_t len = 16; len <= MSE_SAMPLE_MAX; len += 40)
		for (int i = 0; i < 8000; i++, n++) {
			fill(p, len);
			miss += !mse_random_looking(p, len);
		}
	printf("randomness test: %u of %u random samples refused\n", miss, n);
	assert_true(miss <= n / 10000);
}

static void
test_signatures(void **state)
{
	assert_true(mse_plaintext_signature((const uint8_t *)"\x16\x03\x01\x02\x00", 5));
	assert_true(mse_plaintext_signature((const uint8_t *)"POST / HTTP/1.1", 15));
	assert_true(mse_plaintext_signature((const uint8_t *)"\x13" "BitTorrent protocol", 20));
	assert_false(mse_plaintext_signature((const uint8_t *)"\x13" "BitTorrent", 11));
	assert_false(mse_plaintext_signature((const uint8_t *)"\x16", 1));
	assert_false(mse_plaintext_signature((const uint8_t *)"\x8a\x11\x03", 3));
}

/* Issue 15: the lengths RC4 does not hide. Every length a leecher's
 * segments had in a real libtorrent 2.0.8 download passes; lengths of no
 * combination of requests and at most two haves do not; about a quarter
 * of the lengths up to MSE_MSGLEN_SMALL pass, none above. */
static void
test_msglen(void **state)
{
	static const uint32_t real[] = { 34, 9, 43, 68, 77, 102, 72, 63, 54, 45, 27, 18, 136, 213,
					 578, 414, 4, 5, 13 };
	static const uint32_t odd[] = { 23, 50, 61, 100, 131, 203, 250, 301, 1, 601, 612, 1400 };
	unsigned pass = 0;

	(void)state;
	for (size_t i = 0; i < sizeof real / sizeof real[0]; i++)
		assert_true(mse_msglen_like(real[i]));
	for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++)
		assert_false(mse_msglen_like(odd[i]));
	for (uint32_t n = 1; n <= MSE_MSGLEN_SMALL; n++)
		pass += (unsigned)mse_msglen_like(n);
	assert_in_range(pass, MSE_MSGLEN_SMALL / 5, MSE_MSGLEN_SMALL / 3);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_random_handshakes_pass),
		cmocka_unit_test(test_segmented_and_retransmitted),
		cmocka_unit_test(test_plaintext_protocols_fail),
		cmocka_unit_test(test_sizes_and_order),
		cmocka_unit_test(test_low_entropy_fails),
		cmocka_unit_test(test_randomness_rate),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_msglen),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
