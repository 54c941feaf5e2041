/*
 * pl_p2p.h — the other file-sharing networks: eDonkey/eMule (the client
 * protocol on TCP 4662: Hello, file requests, SENDINGPART blocks) and
 * Gnutella 0.6 (the CONNECT handshake, then query and query-hit
 * descriptors).
 */
#ifndef SPANWATCH_GEN_PL_P2P_H
#define SPANWATCH_GEN_PL_P2P_H

#include "kinds.h"
#include "spawn.h"

int p2p_edonkey_script(const struct gen *g, const struct flow *f, uint32_t step,
		       struct msg *m, struct bufw *lit);
int p2p_kad_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit);
int p2p_gnutella_script(const struct gen *g, const struct flow *f, uint32_t step,
			struct msg *m, struct bufw *lit);

/* a download from one peer of the subscriber's network */
void p2p_spawn(struct gen *g, const struct spawn *s);

#endif
