/*
 * fuzz_capfile.c — libFuzzer target for the capture-file front end
 * (sensor/capture/capture.c's capture_stream): libpcap's own pcap and pcapng
 * readers on a memory file (fmemopen, pcap_fopen_offline, as capture
 * reads a file or a pipe), spanwatch's judgement of record times (times
 * past 2106, a lone record far from its neighbours, the clock carried
 * from one file to the next) and the wire length passed down to the
 * decoder, feeding a whole pipeline as capture_files does.
 *
 * Each input is a capture file, read twice in a row as `-r f,f` would
 * (the second read starts before the first's end: the out-of-order
 * warning, the carried clock). The seeds (mkseeds.sh) are the heads of
 * real captures and crafted files with odd times and lying lengths, so
 * mutations land in record headers: timestamps, caplen, wire length.
 *
 * Checks: every frame read reaches the pipeline once (capture's count
 * and the pipeline's agree, and the summary adds up), no frame is given
 * a time past 2106, and the IP bytes billed never exceed what the frames'
 * wire lengths allow (a frame whose wire length is known bills at most
 * that; one whose wire length is false, below its caplen, at most an IP
 * header's largest claim).
 */
#include <pcap/dlt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "capture.h"
#include "config.h"
#include "fuzz_common.h"
#include "fuzz_ndpi.h"
#include "pipeline.h"
#include "submap.h"

#define MAX_FLOWS 64
/* The largest IP length a header can claim: IPv6 payload 65535 + 40. */
#define IP_CLAIM_MAX 65575ull

static const char subscribers[] =
	"100.64.0.0/10 isp-pool\n"
	"100.64.0.1/32 cust-0001\n"
	"10.0.0.0/8 lan-a\n"
	"192.168.0.0/16 lan-b\n"
	"172.16.0.0/12 lan-d\n"
	"2001:db8::/32 v6-cust\n"
	"fd00::/8 v6-ula\n";

static struct sw_config cfg;
static struct submap *subs;

struct run {
	struct pipeline *pl;
	uint64_t frames, bill_max;
};

static void
on_frame(void *ctx, decode_fn fn, const uint8_t *data, uint32_t caplen, uint32_t wirelen,
	 uint64_t ts_us, unsigned flags)
{
	struct run *r = ctx;

	if (ts_us / 1000000 > CAPTURE_TIME_MAX_S)
		abort();
	r->frames++;
	r->bill_max += wirelen >= caplen ? wirelen : IP_CLAIM_MAX;
	pipeline_frame(r->pl, fn, data, caplen, wirelen, ts_us);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[64];

	fuzz_quiet();
	if ((subs = submap_load(fuzz_fixed_file(subscribers, path))) == NULL)
		abort();
	config_defaults(&cfg);
	if (config_set(&cfg, "rrd", "step", "20", NULL) < 0 ||
	    config_set(&cfg, "sensor", "idle_timeout", "10s", NULL) < 0 ||
	    config_set(&cfg, "smtp", "spf", "off", NULL) < 0)
		abort();
	cfg.sensor.max_flows = MAX_FLOWS;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static volatile sig_atomic_t stop;
	struct alerts_opts ao = { .use_syslog = 0, .json_path = "/dev/null", .block = 1,
				  .queue_slots = 64, .hold_entries = 64 };
	struct pipeline_cfg pc = {
		.max_flows = MAX_FLOWS, .idle_timeout_s = cfg.sensor.idle_timeout,
		.dpi_states = 8, .dpi_max_bytes = 8192, .step = cfg.rrd.step,
		.flow_log = "/dev/null", .cfg = &cfg, .subs = subs,
	};
	struct capture_opts co = { .stop = &stop };
	struct capture_stats cs = { 0 };
	struct pipeline_stats st;
	struct run r = { 0 };
	uint8_t *copy;

	if (size == 0)
		return 0;
	if ((copy = malloc(size)) == NULL)
		abort();
	memcpy(copy, data, size);
	if ((pc.alerts = alerts_open(&cfg, &ao)) == NULL || (r.pl = pipeline_new(&pc)) == NULL)
		abort();
	for (int pass = 0; pass < 2; pass++) {
		FILE *fp = fmemopen(copy, size, "rb");

		if (!fp)
			abort();
		capture_stream(fp, "fuzz", &co, on_frame, &r, &cs);
	}
	pipeline_finish(r.pl);
	pipeline_get_stats(r.pl, &st);
	if (cs.frames != r.frames || st.packets != r.frames ||
	    st.ip_packets + st.non_ip + st.truncated + st.malformed != st.packets + st.len_lies ||
	    st.ip_bytes > r.bill_max || cs.odd_times > cs.frames)
		abort();
	if (pipeline_free(r.pl) < 0)
		abort();
	alerts_close(pc.alerts);
	free(copy);
	return 0;
}
