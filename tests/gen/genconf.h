/*
 * genconf.h — writes the configuration that describes the generated
 * network, for spanwatch to read: subscribers.txt (SPEC "Subscriber map"),
 * torrent-allowlist.txt, and spanwatch.conf (SPEC "Configuration") naming
 * both, the ISP relay and the exempt subscribers.
 */
#ifndef SPANWATCH_GEN_GENCONF_H
#define SPANWATCH_GEN_GENCONF_H

struct gen;

/* 0, or -1 with a message on stderr */
int genconf_write(const struct gen *g, const char *dir);

#endif
