/*
 * p2p_check.c — the P2P collector's configuration check (p2p_check.h): a
 * bad allowlist is a bad configuration, found before anything is created
 * (spanwatch -n says so too).
 */
#include "p2p_check.h"

#include "allowlist.h"
#include "config.h"

#include <stddef.h>

int
p2p_check(const struct sw_config *cfg)
{
	struct allowlist *al;

	if (cfg->p2p.allowlist == NULL)
		return 0;
	if ((al = allowlist_load(cfg->p2p.allowlist)) == NULL)
		return -1;
	allowlist_free(al);
	return 0;
}
