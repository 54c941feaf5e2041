/*
 * truth.h — the ground truth written beside the capture: per subscriber
 * and step, what a perfect sensor would count (IP bytes in and out,
 * BitTorrent bytes by kind, other P2P bytes, SMTP sessions by class and
 * recipients), and one line per flow. Formats are documented in
 * tests/gen/README.md. Rows are sparse: a subscriber with nothing in a
 * step has no row.
 */
#ifndef SPANWATCH_GEN_TRUTH_H
#define SPANWATCH_GEN_TRUTH_H

#include <stdint.h>

/* which byte counters a flow's packets also go to */
enum tclass { TC_NONE, TC_BT_ALLOW, TC_BT_PLAIN, TC_BT_ENC, TC_P2P, TC_COUNT };
/* an SMTP session's class, as the sensor should decide it */
enum smtp_class { SC_NONE, SC_RELAY, SC_DIRECT_AUTH, SC_DIRECT_UNAUTH, SC_DIRECT_TLS, SC_COUNT };

struct truth;

struct truth_flow_row {
	uint64_t first_us, last_us;
	int proto;
	const char *src, *dst;	/* client and server addresses */
	uint16_t sport, dport;
	uint64_t pkts[2], bytes[2];	/* client to server, server to client */
	const char *kind, *sub, *direction, *cls, *info_hash, *end;
	uint32_t rcpt;
};

/* Either path may be NULL (that file is not written). NULL on error. */
struct truth *truth_open(const char *path, const char *flows_path,
			 uint32_t nsubs, uint32_t step);
/* a "# ..." line at the top (before any row) or the end of the truth file */
void truth_comment(struct truth *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void truth_packet(struct truth *t, uint32_t sub, int in, uint32_t ip_bytes,
		  enum tclass tc, uint64_t ts_us);
void truth_flow_start(struct truth *t, uint32_t sub, enum smtp_class sc, int exempt,
		      uint64_t ts_us);
void truth_rcpt(struct truth *t, uint32_t sub, uint32_t n, uint64_t ts_us);
void truth_flow_end(struct truth *t, const struct truth_flow_row *r);
/* writes the last step's rows (comments may follow); 0, or -1 if a write failed */
int truth_finish(struct truth *t);
/* 0, or -1 if a write failed */
int truth_close(struct truth *t);
const char *truth_smtp_class_name(enum smtp_class sc);
const char *truth_tclass_name(enum tclass tc);

#endif
