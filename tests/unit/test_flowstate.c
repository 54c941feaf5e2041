/*
 * test_flowstate.c — the collectors' per-flow arrays come from their
 * descriptors (collector_desc.h's flow_state) through one function,
 * collector_flow_state (flowstate.c), sized by the instance's own flow
 * table (env.max_flows, one per capture thread) rather than [sensor]
 * max_flows; the start-up line (-v) says what a flow costs. Oracles: the
 * element types the collectors index by flow id (p2p's struct pflow,
 * smtp's uint32_t slot index, volume's 16-byte struct vflow), which
 * concerns keep per-flow state at all (p2p, volume and smtp; health
 * counts per subscriber), and the line's own arithmetic.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errcap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"
#include "collector.h"
#include "config.h"
#include "log.h"
#include "p2p_int.h"
#include "submap.h"

static char tmpdir[] = "/tmp/test_flowstate.XXXXXX";

extern const struct collector collector_p2p, collector_smtp;

/* The array holds max_flows + 1 elements of the declared size: every
 * byte is written (ASan in the san build says if one is not there). */
static void
test_alloc(void **st)
{
	const struct collector_desc *ds[] = { &p2p_desc, &smtp_desc };
	struct sw_config cfg;

	(void)st;
	config_defaults(&cfg);
	cfg.sensor.max_flows = 1000;
	assert_int_equal(p2p_desc.flow_state, sizeof(struct pflow));
	assert_int_equal(smtp_desc.flow_state, sizeof(uint32_t));
	assert_int_equal(volume_desc.flow_state, 16);
	assert_int_equal(health_desc.flow_state, 0);
	for (size_t i = 0; i < 2; i++) {
		struct collector_env env = { .cfg = &cfg, .max_flows = 5 };
		uint32_t n = 0;
		unsigned char *a = collector_flow_state(&env, &cfg, ds[i], &n);

		/* one capture thread's table of 5 flows, not the 1000 */
		assert_non_null(a);
		assert_int_equal(n, 5);
		for (size_t b = 0; b < 6 * ds[i]->flow_state; b++)
			assert_int_equal(a[b], 0);
		memset(a, 0xa5, 6 * ds[i]->flow_state);
		collector_flow_state_free(a, n, ds[i]);
		env.max_flows = 0;	/* a pipeline that does not say */
		a = collector_flow_state(&env, &cfg, ds[i], &n);
		assert_non_null(a);
		assert_int_equal(n, 1000);
		memset(a, 0xa5, 1001 * ds[i]->flow_state);
		collector_flow_state_free(a, n, ds[i]);
	}
	config_free(&cfg);
}

/* p2p and smtp started for a thread of 4 flows: ids 0..3 are theirs, an
 * id past them (a bigger table's) is not looked up (ASan: no read past
 * the 5 elements). */
static void
test_collectors_per_thread(void **st)
{
	const struct collector *cs[] = { &collector_p2p, &collector_smtp };
	char path[300];
	struct sw_config cfg;
	struct submap *subs;
	struct classifier *cls;
	FILE *fp;

	(void)st;
	config_defaults(&cfg);
	cfg.sensor.max_flows = 1000;
	snprintf(path, sizeof path, "%s/subs.txt", tmpdir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("100.64.0.0/24 a\n", fp);
	fclose(fp);
	assert_non_null(subs = submap_load(path));
	assert_non_null(cls = classify_new(16, 8192));
	for (size_t i = 0; i < 2; i++) {
		struct collector_env env = { .cfg = &cfg, .subs = subs,
		    .cls = cls, .step = 60, .max_flows = 4 };
		void *c = cs[i]->start(&env);
		struct flow f;

		assert_non_null(c);
		memset(&f, 0, sizeof f);
		f.dpi = FLOW_NONE;
		f.sub_a = f.sub_b = -1;
		for (uint32_t id = 0; id < 1000; id += 3) {
			f.id = id;
			cs[i]->flow_end(c, &f, FLOW_END_IDLE);
		}
		cs[i]->stop(c);
	}
	classify_free(cls);
	submap_free(subs);
	config_free(&cfg);
}

/* "per-flow state: flow table F B, p2p P B, volume V B, smtp S B; T B a flow, M MiB
 * for N flows": the concerns that keep state, their sizes, T the sum,
 * M = T x N / 2^20. */
static void
test_log_line(void **st)
{
	const char *out, *p;
	size_t ft = 0, p2p = 0, vol = 0, smtp = 0, tot = 0;
	unsigned n = 0;
	double mib = 0;

	(void)st;
	log_init("t", 1, 0);
	errcap_begin(tmpdir);
	collector_log_flow_state(1000000);
	out = errcap_end();
	p = strstr(out, "per-flow state: ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "per-flow state: flow table %zu B, p2p %zu B, "
	    "volume %zu B, smtp %zu B; %zu B a flow, %lf MiB for %u flows", &ft, &p2p, &vol,
	    &smtp, &tot, &mib, &n), 7);
	assert_int_equal(ft, sizeof(struct flow));
	assert_int_equal(p2p, sizeof(struct pflow));
	assert_int_equal(vol, 16);
	assert_int_equal(smtp, 4);
	assert_int_equal(tot, ft + p2p + vol + smtp);
	assert_int_equal(n, 1000000);
	assert_true(mib > tot * 1e6 / 1048576 - 0.06 &&
	    mib < tot * 1e6 / 1048576 + 0.06);
	/* once, and only with -v */
	assert_null(strstr(p + 1, "per-flow state"));
	log_init("t", 0, 0);
	errcap_begin(tmpdir);
	collector_log_flow_state(1000000);
	assert_null(strstr(errcap_end(), "per-flow state"));
}

static int
setup(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[300];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_alloc),
		cmocka_unit_test(test_collectors_per_thread),
		cmocka_unit_test(test_log_line),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
