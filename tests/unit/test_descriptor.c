/*
 * test_descriptor.c — a concern whose descriptor is wrong is refused, said
 * and never half-used. This binary brings its own descriptor table (the
 * library's registry_desc.o is then not linked): the four real concerns
 * and a broken one that puts a data source on a place taken (flows, the
 * last of a subscriber file), declares a key twice ([smtp] window) and a
 * list key without a field of its own. Expected: no schema at all (so
 * rrdw_open refuses to start rather than write files that mix two
 * concerns' counts), each bad key left out with a message, the good keys
 * and the real schema's names untouched.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "errcap.h"

#include <stdlib.h>
#include <string.h>

#include "collector_desc.h"
#include "config.h"
#include "log.h"
#include "rrdw.h"

static const struct collector_ds bad_ds[] = {
	{ RRDW_SUBSCRIBER, RRDW_U_FLOWS, "bad_flows", RRDW_DERIVE },
};

static const struct config_key bad_keys[] = {
	{ "smtp", "window", CONFIG_T_DURATION, CONFIG_OFF_EXT, 10, 86400, "5m", NULL },
	{ "bad", "list", CONFIG_T_ADDRS, CONFIG_OFF_EXT, 0, 4, "", NULL },
	{ "bad", "limit", CONFIG_T_UINT, CONFIG_OFF_EXT, 1, 9, "4", NULL },
};

static const struct collector_desc bad_desc = {
	.name = "bad",
	.rank = 40,
	.ds = bad_ds,
	.nds = COLLECTOR_N(bad_ds),
	.keys = bad_keys,
	.nkeys = COLLECTOR_N(bad_keys),
};

const struct collector_desc *const collector_descs[] = {
	&p2p_desc, &volume_desc, &smtp_desc, &health_desc, &bad_desc, NULL,
};

static void
test_schema_refused(void **st)
{
	char dir[] = "/tmp/test_descriptor.XXXXXX";
	struct rrdw_cfg rc = { .step = 60 };
	const char *err;

	(void)st;
	assert_non_null(mkdtemp(dir));
	rc.dir = dir;
	errcap_begin(dir);
	assert_null(rrdw_open(&rc));
	assert_int_equal(rrdw_schema(RRDW_SUBSCRIBER)->nds, 0);
	assert_int_equal(rrdw_schema_find(RRDW_SUBSCRIBER, "flows"), -1);
	err = errcap_end();
	assert_non_null(strstr(err, "rrd schema: bad: data source bad_flows: "
	    "place 13 taken"));
	/* Said once, however often it is asked. */
	assert_null(strstr(strstr(err, "place 13") + 1, "place 13"));
	unlink(errcap_path);
	rmdir(dir);
}

static void
test_keys(void **st)
{
	char dir[] = "/tmp/test_descriptor.XXXXXX";
	struct sw_config c;
	const unsigned *limit;
	const char *err;

	(void)st;
	assert_non_null(mkdtemp(dir));
	errcap_begin(dir);
	config_defaults(&c);
	err = errcap_end();
	assert_non_null(strstr(err, "key [smtp] window: table full, twice"));
	assert_non_null(strstr(err, "key [bad] list: no room without a field"));
	/* The real [smtp] window stands, with its field and default. */
	assert_int_equal(c.smtp.window, 300);
	assert_null(config_ext(&c, "smtp", "window"));
	assert_null(config_ext(&c, "bad", "list"));
	assert_int_equal(config_set(&c, "bad", "list", "192.0.2.1", NULL), -1);
	/* The good key of the same descriptor works, bounds and all. */
	assert_non_null(limit = config_ext(&c, "bad", "limit"));
	assert_int_equal(*limit, 4);
	assert_int_equal(config_set(&c, "bad", "limit", "7", NULL), 0);
	assert_int_equal(*limit, 7);
	assert_int_equal(config_set(&c, "bad", "limit", "10", NULL), -1);
	assert_int_equal(*limit, 7);
	config_free(&c);
	unlink(errcap_path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_schema_refused),
		cmocka_unit_test(test_keys),
	};

	log_init("test_descriptor", 0, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
