/*
 * p2p_check.h — the P2P collector's check of a configuration before the
 * sensor starts (struct collector's check hook).
 */
#ifndef SPANWATCH_P2P_CHECK_H
#define SPANWATCH_P2P_CHECK_H

struct sw_config;

/* Loads [p2p] allowlist once to see that it is good (the collector loads
 * it again when it starts). Returns 0, or -1 after logging why. */
int p2p_check(const struct sw_config *cfg);

#endif
