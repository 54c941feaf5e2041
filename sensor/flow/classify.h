/*
 * classify.h — nDPI 4.2 behind a small door: one detection module, a
 * fixed pool of per-flow nDPI states, each flow fed until nDPI decides or
 * a packet budget runs out, then its state released at once, so that a
 * classified flow costs only its flow-table entry.
 */
#ifndef SPANWATCH_CLASSIFY_H
#define SPANWATCH_CLASSIFY_H

#include <stddef.h>
#include <stdint.h>

#include "flow.h"
#include "pkt.h"

struct classifier;


/* Returns a classifier with room for max_states flows under detection at
 * once, giving nDPI at most max_bytes of any datagram (128..65535), or
 * NULL (logged) when nDPI cannot start. */
struct classifier *classify_new(uint32_t max_states, uint32_t max_bytes);
void classify_free(struct classifier *);

/* Several worker threads: c uses owner's caches of far endpoints from now
 * on (nDPI's BitTorrent peers, STUN and TLS certificates seen...), so that
 * what one subscriber's flow showed labels another's flow on another
 * worker, in an order that does not depend on the threads (dpicache.h).
 * Free c before owner. Returns 0. */
int classify_share(struct classifier *c, struct classifier *owner);

/* c's place in those caches, for the pipeline to say whose flow nDPI is
 * looking at and when a step ends (dpicache.h). */
struct dpicache *classify_caches(struct classifier *c);

/* Gives packet p of flow f to nDPI unless f is already classified.
 * Returns 1 when detection ended on this packet, else 0. */
int classify_packet(struct classifier *, struct flow *f, const struct pkt *p);

/* Ends detection for f (at flow end): gives up with a guess if nDPI had
 * not decided, and releases the state. */
void classify_finish(struct classifier *, struct flow *f);

/* Writes f's application label ("TLS.Google", "SMTP", "Unknown") into
 * buf and returns buf. */
const char *classify_name(struct classifier *, const struct flow *f, char *buf, size_t len);

/* nDPI's id for a protocol name, or -1; for collectors that look for one
 * protocol (BitTorrent, SMTP). */
int classify_proto_id(struct classifier *, const char *name);

#endif
