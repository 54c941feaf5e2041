/*
 * gen.h — the generator's run-time context, handed to every module that
 * makes traffic: options, randomness, the network plan, the event clock,
 * the flow pool, the sources, the truth and the output. One context struct
 * rather than file-scope globals.
 */
#ifndef SPANWATCH_GEN_GEN_H
#define SPANWATCH_GEN_GEN_H

#include <stdint.h>

#include "evheap.h"
#include "frame.h"
#include "genopt.h"
#include "netplan.h"
#include "rng.h"

#define GEN_LIT_MAX 8192	/* literal bytes of one message */
#define GEN_POOL 65536		/* filler pools; power of two */
#define GEN_POOL_SLACK 2048	/* so a segment can be copied from any offset */

/* heap refs: sources have the top bit set */
#define GEN_REF_SOURCE 0x80000000u

struct sessions;
struct sources;
struct truth;
struct pcapw;

struct gen {
	const struct gen_opts *o;
	struct rng rng;
	struct netplan *net;
	struct evheap heap;
	struct sessions *ss;
	struct sources *src;
	struct truth *truth;
	struct pcapw *out;
	enum encap encap;
	uint16_t mtu;
	uint64_t t_start, t_end;	/* us; t_end 0 = none */
	uint64_t max_packets;		/* 0 = none */
	uint64_t packets, ip_bytes;
	uint64_t last_us;		/* time of the last packet written */
	struct frame fr;
	uint8_t lit[GEN_LIT_MAX];
	uint8_t rpool[GEN_POOL + GEN_POOL_SLACK];	/* random filler */
	uint8_t tpool[GEN_POOL + GEN_POOL_SLACK];	/* base64-like text lines */
};

#endif
