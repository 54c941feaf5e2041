/*
 * tcpfollow.c — placing TCP segments in a direction's byte stream; see
 * tcpfollow.h for what each answer means.
 */
#include "tcpfollow.h"

void
tcpfollow_start(struct tcpfollow *f, uint32_t seq)
{
	f->next = seq;
}

enum tcpfollow_place
tcpfollow_place(const struct tcpfollow *f, uint32_t seq, uint32_t len, uint32_t jump,
		uint32_t *n)
{
	int32_t d = (int32_t)(seq - f->next);
	uint32_t back;

	*n = 0;
	if (d > 0) {
		if (jump != TCPF_NO_JUMP && (uint32_t)d > jump)
			return TCPF_JUMP;
		*n = (uint32_t)d;
		return TCPF_GAP;
	}
	/* -d without overflow: d may be INT32_MIN. */
	back = f->next - seq;
	if (jump != TCPF_NO_JUMP && back > jump)
		return TCPF_JUMP;
	if (back >= len)
		return TCPF_OLD;
	*n = back;
	return TCPF_NEW;
}

void
tcpfollow_took(struct tcpfollow *f, uint32_t seq, uint32_t len)
{
	uint32_t end = seq + len;

	if ((int32_t)(end - f->next) > 0)
		f->next = end;
}
