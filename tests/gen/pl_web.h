/*
 * pl_web.h — everyday traffic: DNS lookups (RFC 1035), HTTP/1.1 downloads
 * (RFC 9112), HTTPS (TLS 1.3), QUIC (RFC 9000 long and short headers) and
 * unclassifiable UDP (games, calls). Scripts for kinds.c, spawners for the
 * web and noise sources.
 */
#ifndef SPANWATCH_GEN_PL_WEB_H
#define SPANWATCH_GEN_PL_WEB_H

#include "kinds.h"
#include "spawn.h"

int web_http_script(const struct gen *g, const struct flow *f, uint32_t step,
		    struct msg *m, struct bufw *lit);
int web_tls_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit);
int web_dns_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit);
int web_quic_script(const struct gen *g, const struct flow *f, uint32_t step,
		    struct msg *m, struct bufw *lit);
int web_udp_script(const struct gen *g, const struct flow *f, uint32_t step,
		   struct msg *m, struct bufw *lit);

/* a page or video fetch: a DNS lookup, then HTTP, HTTPS or QUIC */
void web_spawn(struct gen *g, const struct spawn *s);
/* a game or call: UDP both ways at a steady pace */
void web_noise_spawn(struct gen *g, const struct spawn *s);

#endif
