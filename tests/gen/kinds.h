/*
 * kinds.h — the registry of flow kinds: each kind has a truth name, a
 * transport and a script. A script is a pure function of the flow's
 * arguments and a step number: it describes message number `step` of the
 * conversation (and writes its literal bytes), or says the conversation is
 * over. Being pure, a message can be rebuilt whenever a segment of it is
 * sent again, so flows hold no payload buffers.
 */
#ifndef SPANWATCH_GEN_KINDS_H
#define SPANWATCH_GEN_KINDS_H

#include <stdint.h>

#include "bufw.h"
#include "rng.h"
#include "session.h"

struct gen;

enum kind {
	K_HTTP, K_TLS, K_DNS, K_QUIC, K_UDP,
	K_BT, K_BT_ENC, K_UTP, K_DHT, K_TRACKER,
	K_EDONKEY, K_KAD, K_GNUTELLA,
	K_SMTP_RELAY_AUTH, K_SMTP_RELAY_TLS, K_SMTP_AUTH,
	K_SMTP_UNAUTH, K_SMTP_TLS, K_SMTP_EXEMPT,
	K_BT_ENC_BARE, K_UTP_ENC,	/* --bt-bare: MSE over TCP and over uTP */
	K_COUNT
};

/* 0: m filled and its literal bytes (pre, then suf) appended to lit;
 * -1: there is no message `step`, the conversation is over */
typedef int (*script_fn)(const struct gen *g, const struct flow *f, uint32_t step,
			 struct msg *m, struct bufw *lit);

struct kind_def {
	const char *name;
	uint8_t transport;	/* enum transport */
	script_fn script;
};

extern const struct kind_def kind_defs[K_COUNT];

/* the randomness of message `step` of flow f */
void kind_rng(const struct flow *f, uint32_t step, struct rng *r);
/* starts m as an empty message in direction dir */
void kind_msg(struct msg *m, int dir);

#endif
