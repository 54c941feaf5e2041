/*
 * spf_broad.h — the terms of an SPF record (RFC 7208 4.6.1, 5) that
 * authorise (nearly) everyone. SPEC "What is counted": a pass that only
 * such a term gives vouches for nothing and is the verdict "broad", never
 * a pass. Broad pass terms ("+" or no qualifier) are:
 *
 *   all                     every address
 *   ip4:NET/N, N < 16       wider than an IPv4 /16
 *   ip6:NET/N, N < 32       wider than an IPv6 /32
 *   a, mx with a CIDR length wider than those for the client's family
 *                           ("a/8", "mx:example.net//16")
 *   exists:DOMAIN without a macro of the client's address (%{i}, %{c}
 *                           or %{p}): its answer is the same for everyone
 *
 * An exists with such a macro is taken as the per-address list it is
 * meant to be (a wildcard zone behind it could still say yes to all:
 * nothing short of asking for other addresses tells). include: and
 * redirect= are not terms of this kind: the records they name are read
 * (and judged) in turn. Pure: no I/O, no allocation. The SPF helper's DNS
 * layer (spf_dns.c) counts these terms in every SPF record an evaluation
 * reads and, for the evaluation that decides, rewrites them neutral.
 */
#ifndef SPANWATCH_SPF_BROAD_H
#define SPANWATCH_SPF_BROAD_H

#include <stddef.h>

/* Narrowest prefix that is still "wider": a term must be longer than
 * this to vouch (a /16 itself vouches; a /15 does not). */
#define SPF_BROAD_V4 16
#define SPF_BROAD_V6 32

/* Counts the broad pass terms of rec, the text of one TXT record, for a
 * client of family 4 or 6 (a TXT record that is not "v=spf1 ..." has
 * none). When out is not NULL it receives (outlen bytes at most, NUL
 * included) rec with each of those terms' qualifier made "?" (neutral),
 * all else as it was; outlen = strlen(rec) * 3 / 2 + 2 always suffices.
 * Returns the count, or -1 when out is too small (out then holds
 * nothing usable). */
int spf_broad_terms(const char *rec, int family, char *out, size_t outlen);

#endif
