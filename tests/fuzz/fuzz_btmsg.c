/*
 * fuzz_btmsg.c — libFuzzer target for the p2p collector's readers of
 * packet bytes: the BitTorrent messages (collectors/p2p/btmsg.c, over the
 * bencode reader) and the MSE shape detector (collectors/p2p/mse.c). The
 * input is a script of segments, each a 3-byte header (direction, a
 * sequence jump, a length) and its bytes; every segment goes to every
 * reader, and the two directions are followed as peer-wire streams and
 * fed to one MSE detector, so the fuzzer reaches split length prefixes,
 * retransmissions and holes as well as hostile content. Each segment is
 * copied to a buffer of exactly its length, so that ASan sees a read one
 * past the end.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Icollectors -Isensor \
 *       tests/fuzz/fuzz_btmsg.c collectors/p2p/btmsg.c collectors/p2p/bencode.c collectors/p2p/mse.c \
 *       -lm -o fuzz_btmsg
 *   ./fuzz_btmsg -max_total_time=60
 *
 * or, with the Makefile's fuzz section: make fuzz-build && build/fuzz/fuzz_btmsg
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "btmsg.h"
#include "mse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
on_peer(void *ctx, int family, const uint8_t *addr, uint16_t port)
{
	unsigned *n = ctx;

	/* Touch every byte the reader hands out. */
	if ((family != 4 && family != 6) || port == 0)
		abort();
	for (int i = 0; i < (family == 4 ? 4 : 16); i++)
		*n += addr[i];
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct btmsg_wire w[2];
	struct btmsg_krpc k;
	struct mse m;
	uint32_t seq[2] = { 1000, 0x7fffff00u };
	uint8_t h[BTMSG_HASH_LEN];
	unsigned sink = 0;
	uint32_t off;

	btmsg_wire_init(&w[0]);
	btmsg_wire_init(&w[1]);
	mse_init(&m);
	while (size >= 3) {
		int dir = data[0] & 1;
		int8_t jump = (int8_t)data[1];
		size_t len = data[2] | (size_t)(data[0] & 0x0e) << 7;
		uint8_t *p;

		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		p = malloc(len ? len : 1);
		if (!p)
			return 0;
		memcpy(p, data, len);
		btmsg_handshake(p, (uint32_t)len, h);
		btmsg_tracker_request(p, (uint32_t)len, h);
		btmsg_tracker_reply(p, (uint32_t)len, on_peer, &sink);
		btmsg_tracker_reply_body(p, (uint32_t)len, on_peer, &sink);
		btmsg_udptracker_connect(p, (uint32_t)len);
		btmsg_udptracker_announce(p, (uint32_t)len, h);
		btmsg_udptracker_reply(p, (uint32_t)len, 4 + 2 * dir, on_peer, &sink);
		btmsg_krpc(p, (uint32_t)len, &k, on_peer, &sink);
		btmsg_pex(p, (uint32_t)len, on_peer, &sink);
		if (btmsg_utp(p, (uint32_t)len, &off) && off > len)
			abort();
		{
			struct btmsg_utp_hdr uh;

			if (btmsg_utp_header(p, (uint32_t)len, &uh, &off) && (off > len || uh.type > 4))
				abort();
		}
		if (btmsg_wire_scan(p, (uint32_t)len) > len / 13)
			abort();	/* each header found takes 13 bytes at least */
		if (mse_msglen_like((uint32_t)len) && len > MSE_MSGLEN_SMALL)
			abort();
		if (len) {
			btmsg_wire_walk(&w[dir], p, (uint32_t)len, on_peer, &sink);
			if (w[dir].hdrlen > 4)
				abort();
			seq[dir] += (uint32_t)(int32_t)jump;
			if (mse_feed(&m, dir == 0, seq[dir], p, (uint32_t)len) > MSE_YES)
				abort();
			seq[dir] += (uint32_t)len;
		}
		free(p);
		data += len;
		size -= len;
	}
	return (int)(sink & 0);
}
