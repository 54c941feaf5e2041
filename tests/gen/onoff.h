/*
 * onoff.h — where traffic comes from: every subscriber owns a few ON/OFF
 * sources (web, games, BitTorrent, DHT, other P2P, mail; spam bursts for
 * bots, deliveries for exempt MTAs). ON and OFF periods are Pareto with
 * shape alpha in (1, 2), and a source emits at a constant packet rate
 * while ON, so the aggregate is asymptotically self-similar with Hurst
 * H = (3 - alpha) / 2 (Willinger, Taqqu, Sherman and Wilson, 1997).
 * Each ON period is handed to a payload module as one or more flows.
 */
#ifndef SPANWATCH_GEN_ONOFF_H
#define SPANWATCH_GEN_ONOFF_H

#include <stdint.h>

struct gen;
struct sources;

/* builds every subscriber's sources and schedules their first ON period;
 * NULL on error (logged) */
struct sources *src_create(struct gen *g);
void src_free(struct sources *s);
uint32_t src_count(const struct sources *s);
/* source idx's ON period begins now (it is the event at the top of the
 * heap): re-schedule it, then start its flows */
void src_fire(struct gen *g, uint32_t idx, uint64_t now);

#endif
