/*
 * fuzz_mse.c — libFuzzer target for the MSE/PE handshake shape detector
 * (collectors/p2p/mse.c). fuzz_btmsg.c feeds it too, among the BitTorrent
 * readers, with short segments; this target reaches the sizes MSE is
 * about (a 96-byte key, up to 512 bytes of pad) and checks its verdicts.
 *
 * The input is a script of segments, each a 4-byte header and its bytes:
 *   byte 0  bit 0: from the client; bit 1: a retransmission (the
 *           segment starts where the direction's previous one did)
 *   byte 1  a signed jump of the sequence number before the segment
 *   byte 2-3 length, little-endian, 11 bits (0..2047)
 * Each segment is copied to a buffer of exactly its length.
 *
 * Checks: every verdict is one of the three; a verdict once given never
 * changes and is what struct mse holds; a yes means a client that spoke
 * first with 96..608 bytes and a server that answered with as many; a
 * server that speaks first is a no; the randomness test says no below 16
 * bytes; and the same script gives the same verdict twice.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "mse.h"

static enum mse_verdict
run(const uint8_t *data, size_t size, struct mse *m)
{
	uint32_t seq[2] = { 1000, 0xfffffc00u }, prev[2] = { 1000, 0xfffffc00u }, s1;
	enum mse_verdict v = MSE_UNDECIDED, was;
	int first = 1;

	mse_init(m);
	while (size >= 4) {
		int client = data[0] & 1, d = !client;
		size_t len = (size_t)(data[2] | data[3] << 8) & 0x7ff;
		uint8_t *p;

		seq[d] += (uint32_t)(int32_t)(int8_t)data[1];
		if (data[0] & 2)
			seq[d] = prev[d];
		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		if (len == 0)
			continue;
		if ((p = malloc(len)) == NULL)
			abort();
		memcpy(p, data, len);

		if (len < 16 && mse_random_looking(p, (uint32_t)len))
			abort();
		(void)mse_plaintext_signature(p, (uint32_t)len);
		was = v;
		v = mse_feed(m, client, seq[d], p, (uint32_t)len);
		if (v != MSE_UNDECIDED && v != MSE_NO && v != MSE_YES)
			abort();
		if (was != MSE_UNDECIDED && v != was)
			abort();
		if (v != MSE_UNDECIDED && m->verdict != v)
			abort();
		if (first && !client && v != MSE_NO)
			abort();
		first = 0;
		prev[d] = seq[d];
		seq[d] += (uint32_t)len;
		free(p);
		data += len;
		size -= len;
	}
	/* Message 2's size: the server's stream, which stops at its end. */
	s1 = m->f[1].next - m->base[1];
	if (v == MSE_YES &&
	    (m->c1 < MSE_DH_LEN || m->c1 > MSE_MSG_MAX || s1 < MSE_DH_LEN || s1 > MSE_MSG_MAX))
		abort();
	return v;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mse a, b;

	if (run(data, size, &a) != run(data, size, &b) || memcmp(&a, &b, sizeof a) != 0)
		abort();
	return 0;
}
