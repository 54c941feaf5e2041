/*
 * fuzz_smtp_parse.c — libFuzzer target for the SMTP session follower
 * (collectors/smtp/smtp_parse.c). The input is a script of chunks, each a
 * 4-byte header (direction and SYN/finish bits, a signed sequence offset
 * from where the direction stands, a length) and its bytes, so the fuzzer
 * reaches reordering, overlap, holes and jumps as well as hostile
 * content. Checks the follower's invariants after every call (among
 * them: no 235 authenticates a session whose client sent no AUTH).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Icollectors \
 *       tests/fuzz/fuzz_smtp_parse.c collectors/smtp/smtp_parse.c -o fuzz_smtp_parse
 *   ./fuzz_smtp_parse -max_total_time=60
 *
 * or, with the Makefile's fuzz section: make fuzz-build && build/fuzz/fuzz_smtp_parse
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check(const struct smtp_sess *s)
{
	if (memchr(s->helo, '\0', sizeof s->helo) == NULL ||
	    memchr(s->from_domain, '\0', sizeof s->from_domain) == NULL ||
	    s->half[0].len >= SMTP_LINE_MAX || s->spfx_n > sizeof s->spfx ||
	    s->pend_n > SMTP_PEND_MAX || s->pend_head >= SMTP_PEND_MAX ||
	    (s->hold_used && s->hold_len > SMTP_HOLD_MAX) ||
	    s->rcpt_ok + (uint64_t)s->rcpt_temp + s->rcpt_fail > UINT32_MAX * 3ull ||
	    /* issue 14.8: authenticated only by a 235 to the client's AUTH */
	    ((s->flags & SMTP_F_AUTH_OK) && !(s->flags & SMTP_F_AUTH)))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct smtp_sess s;
	uint32_t at[2] = { 1000, 0x7fffff00u };

	smtp_parse_init(&s);
	while (size >= 4) {
		uint8_t ctl = data[0];
		int16_t off = (int16_t)(data[1] | data[2] << 8);
		size_t len = data[3];
		int dir = ctl & 1;

		data += 4;
		size -= 4;
		if (len > size)
			len = size;
		if (ctl & 2)
			smtp_parse_syn(&s, (enum smtp_dir)dir, at[dir] - 1);
		/* Mostly in order, sometimes anywhere near. */
		uint32_t seq = at[dir] + ((ctl & 4) ? (uint32_t)(int32_t)off : 0);
		smtp_parse_feed(&s, (enum smtp_dir)dir, seq, data, len);
		if (!(ctl & 4))
			at[dir] += (uint32_t)len;
		check(&s);
		if (ctl & 8) {
			smtp_parse_finish(&s);
			check(&s);
		}
		data += len;
		size -= len;
	}
	smtp_parse_finish(&s);
	check(&s);
	return 0;
}
