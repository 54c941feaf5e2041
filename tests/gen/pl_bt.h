/*
 * pl_bt.h — BitTorrent in all the forms an ISP sees: the peer wire
 * protocol over TCP (BEP 3), the same over uTP (BEP 29), Message Stream
 * Encryption (MSE/PE: random-looking from the first byte), the Mainline
 * DHT (BEP 5, bencoded KRPC over UDP, BEP 32 for IPv6) and HTTP tracker
 * announces with compact peer lists (BEP 23, BEP 7). Encrypted peers are
 * always named first, by a tracker reply or a DHT `values` list, so a
 * sensor that reads those can recognise them.
 */
#ifndef SPANWATCH_GEN_PL_BT_H
#define SPANWATCH_GEN_PL_BT_H

#include "kinds.h"
#include "spawn.h"

int bt_wire_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit);
int bt_enc_script(const struct gen *g, const struct flow *f, uint32_t step,
		  struct msg *m, struct bufw *lit);
int bt_dht_script(const struct gen *g, const struct flow *f, uint32_t step,
		  struct msg *m, struct bufw *lit);
int bt_tracker_script(const struct gen *g, const struct flow *f, uint32_t step,
		      struct msg *m, struct bufw *lit);

/* a torrent session: announce, DHT lookups, then peer connections */
void bt_spawn(struct gen *g, const struct spawn *s);
/* background DHT traffic of a running client, both directions */
void bt_dht_spawn(struct gen *g, const struct spawn *s);

#endif
