/*
 * dpicache.c — nDPI's endpoint caches, made early and shared (see
 * dpicache.h). The module's fields are nDPI's internals, visible only
 * with NDPI_LIB_COMPILATION: kept to this file. (nDPI 4.2 makes them on
 * first use only; a module whose caches exist already keeps them.)
 */
#define NDPI_LIB_COMPILATION
#include "dpicache.h"

#include <ndpi_api.h>
#include <stdint.h>

#include "log.h"

#define NCACHES 7

static struct ndpi_lru_cache **
slot(struct ndpi_detection_module_struct *n, int i)
{
	struct ndpi_lru_cache **s[NCACHES] = {
		&n->ookla_cache, &n->bittorrent_cache, &n->zoom_cache, &n->stun_cache,
		&n->tls_cert_cache, &n->mining_cache, &n->msteams_cache,
	};

	return s[i];
}

/* The sizes nDPI 4.2 gives them when it makes them itself. */
static const uint32_t entries[NCACHES] = { 1024, 32768, 512, 1024, 1024, 1024, 1024 };

int
dpicache_make(struct ndpi_detection_module_struct *n)
{
	/* A module made before (the fuzz targets keep one) keeps its own. */
	for (int i = 0; i < NCACHES; i++) {
		if (*slot(n, i) == NULL && (*slot(n, i) = ndpi_lru_cache_init(entries[i])) == NULL) {
			log_err("nDPI: no memory for its endpoint caches");
			return -1;
		}
	}
	return 0;
}

int
dpicache_share(struct ndpi_detection_module_struct *n, struct ndpi_detection_module_struct *owner)
{
	for (int i = 0; i < NCACHES; i++) {
		if (*slot(n, i))
			ndpi_lru_free_cache(*slot(n, i));
		*slot(n, i) = *slot(owner, i);
	}
	return 0;
}

void
dpicache_unshare(struct ndpi_detection_module_struct *n)
{
	for (int i = 0; i < NCACHES; i++)
		*slot(n, i) = NULL;
}
