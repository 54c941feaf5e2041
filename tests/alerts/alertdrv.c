/*
 * alertdrv.c — test driver for t_rsyslog.sh: raises a fixed set of alerts
 * through the real alert module to a real syslog receiver, so that the
 * script can compare what the receiver wrote with what an operator must
 * see. Built by the script; not part of the sensor.
 *
 *	alertdrv TARGET JSON RUN [WAITFILE]
 *
 * TARGET is an [alerts] syslog value (local, udp://H:P, tcp://H:P); RUN
 * names the sensor pop-RUN (the syslog HOSTNAME and JSON "sensor") and
 * tags every alert (field run=RUN), so that runs can share one receiver. With WAITFILE, the alerts are raised first, then the driver
 * waits for WAITFILE to appear (the script starts the collector late)
 * and for the sink to deliver on its own (reconnect with backoff) before
 * it flushes. Prints the sink's counters on stdout.
 *
 * The alerts (packet times from T0 = 2026-01-01T00:05:00Z):
 *   1 smtp_direct cust-0042, the SPEC example
 *   2 smtp_direct cust-0043 with a hostile EHLO (CR, LF, a forged syslog
 *     header and record, quotes, %n, an ANSI escape, bytes not UTF-8)
 *   - smtp_direct cust-0042 again at T0+10: held down
 *   3 smtp_direct cust-0042 at T0+300: out, with suppressed=1
 *   4 capture_drops, sensor-wide
 *   5 bt_volume with a 2000-byte value: cut to ALERTS_VALUE_MAX
 *   6 50 smtp_direct flood-N at T0+400 with a burst of 20: 20 out, then
 *     one alerts_dropped count=30
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alert.h"
#include "config.h"
#include "log.h"

#define T0 ((time_t)1767225900)

static struct alert_field
fs(const char *k, const char *v)
{
	struct alert_field f = { .key = k, .type = AF_STR };

	f.v.s = v;
	return f;
}

static struct alert_field
fu(const char *k, uint64_t v)
{
	struct alert_field f = { .key = k, .type = AF_UINT };

	f.v.u = v;
	return f;
}

static struct alert_field
fa(const char *k, const char *text)
{
	struct alert_field f = { .key = k, .type = AF_ADDR };

	f.v.addr.family = AF_INET;
	inet_pton(AF_INET, text, f.v.addr.a);
	return f;
}

static void
raise_all(struct alerts *a, const char *run)
{
	static char big[2001];
	struct alert_field f[7];
	char name[32];

	f[0] = fa("ip", "100.64.0.42");
	f[1] = fu("sessions", 37);
	f[2] = fu("mx", 21);
	f[3] = fu("rcpt", 412);
	f[4] = fu("window", 300);
	f[5] = fs("run", run);
	alerts_raise(a, "smtp_direct", "cust-0042", T0, f, 6);

	f[0] = fa("ip", "100.64.0.43");
	f[1] = fs("ehlo", "evil\r\n<13>1 2026-01-01T00:00:00Z forged app - - - "
	    "alert=fake subscriber=x\" q=\"%n%s%x\\ \x1b[2J\xff\xfe\t");
	f[2] = fs("run", run);
	alerts_raise(a, "smtp_direct", "cust-0043", T0, f, 3);

	f[0] = fa("ip", "100.64.0.42");
	f[1] = fu("sessions", 38);
	f[2] = fu("mx", 21);
	f[3] = fu("rcpt", 413);
	f[4] = fu("window", 300);
	f[5] = fs("run", run);
	alerts_raise(a, "smtp_direct", "cust-0042", T0 + 10, f, 6);
	alerts_raise(a, "smtp_direct", "cust-0042", T0 + 300, f, 6);

	f[0] = fu("count", 5);
	f[1] = fs("run", run);
	alerts_raise(a, "capture_drops", NULL, T0 + 300, f, 2);

	memset(big, 'B', sizeof big - 1);
	f[0] = fu("bytes", 12000000000ULL);
	f[1] = fs("note", big);
	f[2] = fs("run", run);
	alerts_raise(a, "bt_volume", "cust-0044", T0 + 300, f, 3);

	for (int i = 0; i < 50; i++) {
		snprintf(name, sizeof name, "flood-%d", i);
		f[0] = fs("run", run);
		alerts_raise(a, "smtp_direct", name, T0 + 400, f, 1);
	}
}

int
main(int argc, char **argv)
{
	struct sw_config cfg;
	struct alerts_opts o = { .use_syslog = 1, .burst = 20 };
	char name[UNITS_NAME_MAX + 1];
	struct alerts_stats st;
	struct alerts *a;

	if (argc < 4) {
		fprintf(stderr, "usage: alertdrv TARGET JSON RUN [WAITFILE]\n");
		return 2;
	}
	log_init("alertdrv", 1, 0);
	config_defaults(&cfg);
	snprintf(name, sizeof name, "pop-%s", argv[3]);
	if (config_set(&cfg, "alerts", "syslog", argv[1], NULL) < 0 ||
	    config_set(&cfg, "alerts", "facility", "local3", NULL) < 0 ||
	    config_set(&cfg, "alerts", "holddown", "5m", NULL) < 0 ||
	    config_set(&cfg, "sensor", "name", name, NULL) < 0)
		return 2;
	o.json_path = argv[2];
	if ((a = alerts_open(&cfg, &o)) == NULL)
		return 1;
	raise_all(a, argv[3]);
	if (argc > 4) {
		/* The collector is down now: the records wait. */
		for (int i = 0; i < 300 && access(argv[4], F_OK) != 0; i++)
			usleep(100000);
		/* Backoff is 1, 2, 4 s...: give the sink time to come back by
		 * itself, without the push of a flush. */
		for (int i = 0; i < 150; i++) {
			alerts_stats(a, &st);
			if (st.sent >= 26)
				break;
			usleep(100000);
		}
		alerts_stats(a, &st);
		printf("before_flush sent=%llu\n", (unsigned long long)st.sent);
	}
	alerts_flush(a);
	alerts_stats(a, &st);
	printf("raised=%llu suppressed=%llu dropped_rate=%llu dropped_full=%llu "
	    "sent=%llu failed=%llu reconnects=%llu\n",
	    (unsigned long long)st.raised, (unsigned long long)st.suppressed,
	    (unsigned long long)st.dropped_rate, (unsigned long long)st.dropped_full,
	    (unsigned long long)st.sent, (unsigned long long)st.failed,
	    (unsigned long long)st.reconnects);
	alerts_close(a);
	config_free(&cfg);
	return 0;
}
