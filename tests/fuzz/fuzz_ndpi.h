/*
 * fuzz_ndpi.h — nDPI's detection module built once per fuzzer process,
 * for the targets that run whole pipelines (fuzz_pipeline.c,
 * fuzz_capfile.c). Setting the module up costs about 85 ms under ASan,
 * which would leave a few runs a second, so this file interposes nDPI's
 * set-up and tear-down (the executable's definitions come before
 * libndpi's, and libndpi calls its own through the PLT): the first
 * classifier builds the module, later ones get the same module back, and
 * its teardown only empties the LRU caches that nDPI keeps across flows
 * (STUN, BitTorrent, TLS certificates, ...), so one input does not see
 * the addresses of the last. The tinc cache, opaque, is not emptied.
 * Include it in one file of a target: it defines the functions.
 */
#ifndef SPANWATCH_FUZZ_NDPI_H
#define SPANWATCH_FUZZ_NDPI_H

#include <dlfcn.h>
#include <ndpi_api.h>
#include <stdlib.h>
#include <string.h>

static struct ndpi_detection_module_struct *ndpi_kept;
static int ndpi_ready;		/* bitmask set and finalised */
static struct ndpi_lru_cache *lru[64];
static size_t nlru;

static void *
real(const char *name)
{
	void *fn = dlsym(RTLD_NEXT, name);

	if (!fn)
		abort();
	return fn;
}

struct ndpi_detection_module_struct *
ndpi_init_detection_module(ndpi_init_prefs prefs)
{
	struct ndpi_detection_module_struct *(*init)(ndpi_init_prefs);

	if (!ndpi_kept) {
		*(void **)&init = real("ndpi_init_detection_module");
		ndpi_kept = init(prefs);
	}
	return ndpi_kept;
}

void
ndpi_set_protocol_detection_bitmask2(struct ndpi_detection_module_struct *m,
				     const NDPI_PROTOCOL_BITMASK *bits)
{
	void (*set_bits)(struct ndpi_detection_module_struct *, const NDPI_PROTOCOL_BITMASK *);

	if (m == ndpi_kept && ndpi_ready)
		return;
	*(void **)&set_bits = real("ndpi_set_protocol_detection_bitmask2");
	set_bits(m, bits);
}

void
ndpi_finalize_initialization(struct ndpi_detection_module_struct *m)
{
	void (*fin)(struct ndpi_detection_module_struct *);

	if (m == ndpi_kept && ndpi_ready)
		return;
	*(void **)&fin = real("ndpi_finalize_initialization");
	fin(m);
	if (m == ndpi_kept)
		ndpi_ready = 1;
}

struct ndpi_lru_cache *
ndpi_lru_cache_init(u_int32_t num_entries)
{
	struct ndpi_lru_cache *(*init)(u_int32_t);
	struct ndpi_lru_cache *c;

	*(void **)&init = real("ndpi_lru_cache_init");
	c = init(num_entries);
	if (c && nlru < sizeof lru / sizeof lru[0])
		lru[nlru++] = c;
	return c;
}

void
ndpi_exit_detection_module(struct ndpi_detection_module_struct *m)
{
	void (*fini)(struct ndpi_detection_module_struct *);

	if (m == ndpi_kept) {
		for (size_t i = 0; i < nlru; i++)
			memset(lru[i]->entries, 0, lru[i]->num_entries * sizeof lru[i]->entries[0]);
		return;
	}
	*(void **)&fini = real("ndpi_exit_detection_module");
	fini(m);
}

#endif
