/*
 * mse.c — the shape of an MSE/PE handshake; see mse.h for the protocol
 * (MSE specification, Vuze wiki "Message Stream Encryption") and for what
 * a yes means.
 */
#include "mse.h"

#include <math.h>
#include <string.h>

#include "bytes.h"

enum phase {
	PH_START,	/* nothing seen */
	PH_C1,		/* in message 1 (client) */
	PH_S1,		/* in message 2 (server) */
	PH_C2,		/* in message 3 (client) */
	PH_DONE,
};

/* Starts of protocols that are not MSE. A random MSE message matches one
 * of these 2-to-20-byte prefixes with a probability of about 1 in 10^4, a
 * miss we accept for never calling TLS or HTTP BitTorrent. No 1-byte
 * signature (eDonkey's 0xe3): each would cost 1/256 of real MSE flows,
 * and such protocols fail the randomness test anyway. */
static const struct sig {
	const char *s;
	uint8_t len;
} sigs[] = {
	{ "\x16\x03", 2 },		/* TLS handshake record (RFC 8446 5.1) */
	{ "\x17\x03", 2 },		/* TLS application data (mid-stream) */
	{ "\x15\x03", 2 },		/* TLS alert */
	{ "\x14\x03", 2 },		/* TLS change cipher spec */
	{ "\x13" "BitTorrent protocol", 20 },	/* BEP 3 handshake */
	{ "GET ", 4 }, { "POST", 4 }, { "HEAD", 4 }, { "PUT ", 4 }, { "OPTI", 4 },
	{ "CONN", 4 }, { "DELE", 4 }, { "PATC", 4 }, { "HTTP", 4 },
	{ "PRI ", 4 },			/* HTTP/2 preface */
	{ "SSH-", 4 },			/* RFC 4253 4.2 */
	{ "GNUTELLA", 8 },
	{ "RFB ", 4 },			/* VNC */
};

void
mse_init(struct mse *m)
{
	memset(m, 0, sizeof *m);
}

int
mse_plaintext_signature(const uint8_t *p, uint32_t len)
{
	struct bytes b = bytes_of(p, len);

	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (bytes_eq(&b, 0, sigs[i].s, sigs[i].len))
			return 1;
	return 0;
}

int
mse_random_looking(const uint8_t *p, uint32_t len)
{
	struct bytes b = bytes_of(p, len < MSE_SAMPLE_MAX ? len : MSE_SAMPLE_MAX);
	uint8_t seen[256] = { 0 };
	unsigned distinct = 0;
	double q, q2, mean, var;
	uint32_t n = b.len;

	/* cppcheck-suppress knownConditionTrueFalse ; it follows one caller's length */
	if (n < 16)
		return 0;
	for (uint32_t i = 0; i < n; i++) {
		uint8_t c = bytes_u8(&b, i);

		if (!seen[c]) {
			seen[c] = 1;
			distinct++;
		}
	}
	/* n uniform bytes show on average 256(1 - (255/256)^n) distinct
	 * values; the variance follows from the indicator of each value
	 * (occupancy problem). Text, headers, length fields and zero
	 * padding fall far short. */
	q = pow(255.0 / 256.0, n);
	q2 = pow(254.0 / 256.0, n);
	mean = 256.0 * (1.0 - q);
	var = 256.0 * 255.0 * q2 + 256.0 * q - 65536.0 * q * q;
	return distinct >= mean - 5.0 * sqrt(var > 0 ? var : 0);
}

/* The first segment of a message: opaque, and not a known protocol. */
static int
opaque(const uint8_t *p, uint32_t len)
{
	return !mse_plaintext_signature(p, len) && mse_random_looking(p, len);
}

static enum mse_verdict
decide(struct mse *m, enum mse_verdict v)
{
	m->verdict = (uint8_t)v;
	m->phase = PH_DONE;
	return v;
}

/* The first segment of message 1 or 2: a whole Diffie-Hellman key. */
static int
key_segment(const uint8_t *p, uint32_t len)
{
	return len >= MSE_DH_LEN && len <= MSE_MSG_MAX && opaque(p, len);
}

/* The bytes of direction d's stream so far (its follower's next byte
 * from its first). */
static uint32_t
so_far(const struct mse *m, int d)
{
	return m->f[d].next - m->base[d];
}

enum mse_verdict
mse_feed(struct mse *m, int from_client, uint32_t seq, const uint8_t *payload, uint32_t len)
{
	uint32_t end, skip;
	int64_t off;
	int d = from_client ? 0 : 1;

	if (m->verdict != MSE_UNDECIDED)
		return (enum mse_verdict)m->verdict;
	if (len == 0)
		return MSE_UNDECIDED;
	if (m->phase == PH_START) {
		/* MSE's initiator speaks first; a server that greets (SMTP,
		 * SSH, FTP) is something else. */
		if (!from_client || !key_segment(payload, len))
			return decide(m, MSE_NO);
		m->base[0] = seq;
		tcpfollow_start(&m->f[0], seq + len);
		m->phase = PH_C1;
		return MSE_UNDECIDED;
	}
	if (m->phase == PH_C1 && !from_client) {
		if (!key_segment(payload, len))
			return decide(m, MSE_NO);
		m->base[1] = seq;
		tcpfollow_start(&m->f[1], seq + len);
		m->phase = PH_S1;
		return MSE_UNDECIDED;
	}
	/* Where this segment lies in its direction's stream. Bytes before
	 * the first payload are a stale retransmission; a segment far
	 * beyond the handshake means the capture lost the handshake's end.
	 * A gap inside a message counts as its bytes: sizes are by
	 * sequence number. */
	off = tcpfollow_offset(m->base[d], seq);
	if (off < 0)
		return MSE_UNDECIDED;
	if (off > 4 * MSE_MSG_MAX)
		return decide(m, MSE_NO);
	end = (uint32_t)off + len;
	switch (m->phase) {
	case PH_C1:		/* more of message 1 (a small MSS) */
	case PH_S1:		/* more of message 2, or the start of message 3 */
		if (m->phase == PH_C1 || !from_client) {
			if (end > MSE_MSG_MAX)
				return decide(m, MSE_NO);
			tcpfollow_took(&m->f[d], seq, len);
			return MSE_UNDECIDED;
		}
		/* The client's stream stands at the end of message 1. */
		switch (tcpfollow_place(&m->f[0], seq, len, TCPF_NO_JUMP, &skip)) {
		case TCPF_OLD:
			return MSE_UNDECIDED;	/* message 1 again */
		case TCPF_NEW:
			break;
		default:
			skip = 0;
			break;
		}
		m->c1 = (uint16_t)so_far(m, 0);
		if (!opaque(payload + skip, len - skip))
			return decide(m, MSE_NO);
		if (end - m->c1 >= MSE_REQ_MIN)
			return decide(m, MSE_YES);
		tcpfollow_took(&m->f[0], seq, len);
		m->phase = PH_C2;
		return MSE_UNDECIDED;
	case PH_C2:
		if (!from_client) {
			/* B cannot answer message 3 before it has all of it;
			 * message 2 again is only a retransmission. */
			return tcpfollow_place(&m->f[1], seq, len, TCPF_NO_JUMP, &skip) == TCPF_OLD
				       ? MSE_UNDECIDED
				       : decide(m, MSE_NO);
		}
		if (end > m->c1 && end - m->c1 >= MSE_REQ_MIN)
			return decide(m, MSE_YES);
		tcpfollow_took(&m->f[0], seq, len);
		return MSE_UNDECIDED;
	default:
		return (enum mse_verdict)m->verdict;
	}
}

int
mse_msglen_like(uint32_t len)
{
	if (len == 4 || len == 5 || len == 13)
		return 1;
	if (!len || len > MSE_MSGLEN_SMALL)
		return 0;
	return len % 17 == 0 || len % 9 == 0 || (len > 17 && (len - 9) % 17 == 0) ||
	       (len > 34 && (len - 18) % 17 == 0);
}
