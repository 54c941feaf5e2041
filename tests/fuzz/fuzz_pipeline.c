/*
 * fuzz_pipeline.c — libFuzzer target for the whole packet path
 * (sensor/pipeline.c): decode, fragments, the flow table with its
 * eviction and expiry, nDPI, the subscriber lookups, every collector
 * (volume, health, SMTP, P2P with its BitTorrent readers and MSE
 * detector), the step clock, the flow log and the alert queue. What a
 * single parser's target cannot reach shows here: state across packets
 * and flows, a full table, flows ended in every way.
 *
 * Each input is one run: pipeline_new with a small table (max_flows 64,
 * 8 nDPI states), a subscriber map and a configuration whose alert
 * thresholds are at their lowest, the frames, pipeline_finish and
 * pipeline_free. The input:
 *   byte 0   bits 0-6: the link type, as in fuzz_decode.c (index into
 *            dlts[], modulo); bit 7: a reload (SIGHUP) half-way, to a
 *            second configuration and subscriber map
 *   then frames, each a 3-byte header and its bytes:
 *     byte 0   the time before it: 0x00-0x7d that many ms; 0x7e a live
 *              capture's idle tick 45 s on, then the frame; 0x7f five
 *              seconds back (out of order); 0x80-0xff (b - 0x80) seconds
 *     byte 1-2 its length, little-endian (cut to what is left)
 * Each frame is copied to a buffer of exactly its length.
 *
 * nDPI's detection module is built once per process (fuzz_ndpi.h);
 * every other line of spanwatch runs as in the sensor.
 *
 * Checks: the summary adds up (every frame is counted once, as IP,
 * non-IP, truncated or malformed), no more flows were ever open than the
 * table holds, and every flow that started has ended after
 * pipeline_finish.
 */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "config.h"
#include "fuzz_common.h"
#include "fuzz_ndpi.h"
#include "pipeline.h"
#include "submap.h"

#define MAX_FLOWS 64
#define T0 1767225600ull	/* spanwatch-gen's default start */

static const int dlts[] = {
	DLT_EN10MB, DLT_RAW, 14, DLT_IPV4, DLT_IPV6, DLT_NULL, DLT_LOOP,
	DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_PPP, DLT_PPP_SERIAL, DLT_PPP_ETHER,
	DLT_C_HDLC, DLT_PPI,
};
#define NDLTS (sizeof dlts / sizeof dlts[0])

/* The nested prefixes of spanwatch-gen's network and of the private
 * ranges the nDPI captures use, so that flows have subscribers at one,
 * both or neither end. */
static const char subscribers[] =
	"100.64.0.0/10 isp-pool\n"
	"100.64.0.1/32 cust-0001\n"
	"100.64.0.8/29 cust-0003\n"
	"100.64.0.16/28 cust-0004\n"
	"10.0.0.0/8 lan-a\n"
	"10.8.0.0/16 lan-a\n"
	"192.168.0.0/16 lan-b\n"
	"192.168.1.0/24 lan-c\n"
	"172.16.0.0/12 lan-d\n"
	"2001:db8::/32 v6-cust\n"
	"2001:db8:0:300::/56 cust-0003\n"
	"fe80::/10 v6-link\n"
	"fd00::/8 v6-ula\n";

/* After the reload: some names stay (their counters carry over), some
 * prefixes move to another name, some go. */
static const char subscribers2[] =
	"100.64.0.0/10 isp-pool\n"
	"100.64.0.1/32 cust-0001\n"
	"100.64.0.8/30 cust-0009\n"
	"10.0.0.0/8 lan-a\n"
	"192.168.0.0/16 lan-c\n"
	"2001:db8:0:300::/56 cust-0003\n"
	"fd00::/8 v6-ula\n";

static const char allowlist[] =
	"ea4c364796553b8514452a085697f892a7a366c2 debian\n"
	"7336239ae2487ab222a7fd6f1223c124e610f58d ubuntu\n";

/* ---- the runs ---- */

static struct sw_config cfg, cfg2;
static struct submap *subs, *subs2;
static decode_fn fns[NDLTS];

static void
set_in(struct sw_config *c, const char *section, const char *key, const char *value)
{
	if (config_set(c, section, key, value, NULL) < 0)
		abort();
}

static void
set(const char *section, const char *key, const char *value)
{
	set_in(&cfg, section, key, value);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];

	fuzz_quiet();
	for (size_t i = 0; i < NDLTS; i++)
		if ((fns[i] = decode_for_dlt(dlts[i])) == NULL)
			abort();
	if ((subs = submap_load(fuzz_fixed_file(subscribers, path))) == NULL)
		abort();
	config_defaults(&cfg);
	set("p2p", "allowlist", fuzz_fixed_file(allowlist, path));
	set("smtp", "ports", "25 587");
	set("smtp", "relays", "192.0.2.25 2001:db8:ffff::19");
	set("smtp", "exempt", "cust-0003 lan-c");
	set("smtp", "window", "10s");
	set("smtp", "max_sessions", "1");
	set("smtp", "max_mx", "1");
	set("smtp", "max_rcpt", "1");
	set("smtp", "surge_factor", "1.01");
	/* SPF verdicts come from a helper process (collectors/smtp/spf.c), this
	 * program re-executed, and from DNS: neither belongs in a fuzzer. */
	set("smtp", "spf", "off");
	set("p2p", "window", "60s");
	set("p2p", "max_bt_bytes", "1k");
	set("alerts", "holddown", "0");
	set("rrd", "step", "20");
	set("sensor", "idle_timeout", "10s");
	/* Below the configuration's own floor, to fill the table. */
	cfg.sensor.max_flows = MAX_FLOWS;

	/* What a SIGHUP brings: no allowlist, other thresholds and exempts. */
	if ((subs2 = submap_load(fuzz_fixed_file(subscribers2, path))) == NULL)
		abort();
	config_defaults(&cfg2);
	set_in(&cfg2, "smtp", "ports", "25");
	set_in(&cfg2, "smtp", "exempt", "isp-pool");
	set_in(&cfg2, "smtp", "max_rcpt", "3");
	set_in(&cfg2, "smtp", "spf", "off");
	set_in(&cfg2, "p2p", "max_bt_bytes", "10k");
	set_in(&cfg2, "alerts", "holddown", "10s");
	set_in(&cfg2, "rrd", "step", "20");
	set_in(&cfg2, "sensor", "idle_timeout", "20s");
	cfg2.sensor.max_flows = MAX_FLOWS;	/* changes at a restart only */
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* Small tables: the defaults (16 MB) would cost more than the run. */
	struct alerts_opts ao = { .use_syslog = 0, .json_path = "/dev/null", .block = 1,
				  .queue_slots = 64, .hold_entries = 64 };
	struct pipeline_cfg pc = {
		.max_flows = MAX_FLOWS, .idle_timeout_s = cfg.sensor.idle_timeout,
		.dpi_states = 8, .dpi_max_bytes = 8192, /* main.c's default */
		.step = cfg.rrd.step, .flow_log = "/dev/null",
		.cfg = &cfg, .subs = subs,
	};
	struct pipeline_stats st;
	struct flow_stats fs;
	struct pipeline *pl;
	uint64_t ts = T0 * 1000000, frames = 0;
	size_t reload_at;
	int nsubs = submap_count(subs);
	decode_fn fn;

	if (size < 1)
		return 0;
	fn = fns[(data[0] & 0x7f) % NDLTS];
	reload_at = data[0] & 0x80 ? size / 2 : SIZE_MAX;
	data++;
	size--;
	if ((pc.alerts = alerts_open(&cfg, &ao)) == NULL)
		abort();
	if ((pl = pipeline_new(&pc)) == NULL)
		abort();
	while (size >= 3) {
		size_t len = (size_t)(data[1] | data[2] << 8);
		uint8_t *frame;

		if (size <= reload_at) {
			if (pipeline_reload(pl, &cfg2, subs2) < 0)
				abort();
			reload_at = SIZE_MAX;
			nsubs = submap_count(subs2);
		}
		if (data[0] < 0x7e) {
			ts += data[0] * 1000ull;
		} else if (data[0] == 0x7e) {
			ts += 45000000;
			pipeline_set_drops(pl, frames);
			pipeline_tick(pl, ts);
		} else if (data[0] == 0x7f) {
			ts -= 5000000;
		} else {
			ts += (data[0] - 0x80) * 1000000ull;
		}
		data += 3;
		size -= 3;
		if (len > size)
			len = size;
		if ((frame = malloc(len ? len : 1)) == NULL)
			abort();
		memcpy(frame, data, len);
		pipeline_frame(pl, fn, frame, (uint32_t)len, (uint32_t)len, ts);
		free(frame);
		frames++;
		data += len;
		size -= len;
	}
	pipeline_finish(pl);
	pipeline_get_stats(pl, &st);
	pipeline_get_flow_stats(pl, &fs);
	if (st.packets != frames ||
	    st.ip_packets + st.non_ip + st.truncated + st.malformed != st.packets + st.len_lies ||
	    st.flows_classified > st.flows || st.flows != fs.created || fs.ended != fs.created ||
	    fs.active != 0 || fs.peak > MAX_FLOWS || st.subscribers_seen > (uint32_t)nsubs)
		abort();
	if (pipeline_free(pl) < 0)
		abort();
	alerts_close(pc.alerts);
	return 0;
}
