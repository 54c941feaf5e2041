/*
 * fuzz_decode.c — libFuzzer target for the link-type decoders
 * (sensor/decode/decode.c): every link type spanwatch reads, down through tags,
 * label stacks, PPPoE, IPv4 options and IPv6 extension headers to the
 * ports.
 *
 * The input's first byte picks the link type, as an index (modulo their
 * number) into dlts[] below, which lists decode.c's table in its order;
 * the rest is one captured frame, copied to a buffer of exactly its
 * length so that ASan sees a read one past the end. Checks that an IP
 * result points inside the frame (every payload byte is read), and that
 * decoding is a pure function of the bytes.
 *
 *   make fuzz-build && build/fuzz/fuzz_decode build/fuzz/corpus/decode
 *
 * Seeds (tests/fuzz/mkseeds.sh) are frames of the nDPI captures of every
 * link type and of spanwatch-gen's, each behind its index byte.
 */
#include <pcap/dlt.h>
#include <stdlib.h>
#include <string.h>

#include "decode.h"
#include "fuzz_common.h"

/* decode.c's link table, in its order (mkseeds.sh maps DLTs to these
 * indexes too). */
static const int dlts[] = {
	DLT_EN10MB, DLT_RAW, 14, DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP,
	DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_PPP, DLT_PPP_SERIAL, DLT_PPP_ETHER,
	DLT_C_HDLC, DLT_PPI,
};
#define NDLTS (sizeof dlts / sizeof dlts[0])

static decode_fn fns[NDLTS];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	for (size_t i = 0; i < NDLTS; i++) {
		/* A link type the table lost is a failure here, not a
		 * quietly smaller fuzz target. */
		if ((fns[i] = decode_for_dlt(dlts[i])) == NULL ||
		    strcmp(decode_dlt_name(dlts[i]), "unsupported") == 0)
			abort();
	}
	return 0;
}

static int
inside(const uint8_t *p, uint32_t len, const uint8_t *buf, size_t size)
{
	return p >= buf && p <= buf + size && len <= (size_t)(buf + size - p);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt a, b;
	enum decode_result ra, rb;
	decode_fn fn;
	uint8_t *frame;
	unsigned sum = 0;

	if (size < 1)
		return 0;
	fn = fns[data[0] % NDLTS];
	data++;
	size--;
	if ((frame = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(frame, data, size);

	ra = decode_frame(fn, frame, (uint32_t)size, (uint32_t)size, &a);
	if (ra >= DEC_NRESULTS)
		abort();
	if (ra == DEC_IP) {
		if ((a.family != 4 && a.family != 6) || !a.l3 ||
		    !inside(a.l3, a.l3_len, frame, size) ||
		    (a.payload && !inside(a.payload, a.payload_len, frame, size)) ||
		    (!a.payload && a.payload_len) ||
		    ((a.flags & PKT_F_FRAG_LATER) && !(a.flags & PKT_F_FRAG)))
			abort();
		if (a.family == 4 && (memcmp(a.src + 4, (uint8_t[12]){ 0 }, 12) ||
				      memcmp(a.dst + 4, (uint8_t[12]){ 0 }, 12)))
			abort();
		for (uint32_t i = 0; i < a.l3_len; i++)
			sum += a.l3[i];
		for (uint32_t i = 0; i < a.payload_len; i++)
			sum += a.payload[i];
	}
	/* Pure: the same bytes decode the same way, into a dirty struct. */
	memset(&b, 0xa5, sizeof b);
	rb = decode_frame(fn, frame, (uint32_t)size, (uint32_t)size, &b);
	if (rb != ra || (ra == DEC_IP && memcmp(&a, &b, sizeof a) != 0))
		abort();
	free(frame);
	return (int)(sum & 0);
}
