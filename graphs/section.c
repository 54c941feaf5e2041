/*
 * section.c — reading one sensor's RRD directory (see section.h).
 *
 * The Hurst exponent is estimated on the sensor's bytes per second at the
 * step resolution (the finest archive, which keeps a day): the longest
 * run of known steps in the last day, so a capture replayed into fresh
 * files is estimated over its own span and an outage does not splice two
 * halves together. See hurst.h for the methods.
 */
#include "section.h"

#include "chsrc.h"
#include "log.h"
#include "mono.h"
#include "series.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <rrd.h>


int
section_check_dir(const char *dir)
{
	char path[4200];
	struct stat st;

	if (stat(dir, &st) < 0) {
		log_err("%s: %s (is this spanwatch's RRD directory? "
		    "spanwatch -o DIR makes one)", dir, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_err("%s: not a directory (give spanwatch's RRD directory, "
		    "the one holding sensor.rrd)", dir);
		return -1;
	}
	snprintf(path, sizeof path, "%s/sensor.rrd", dir);
	if (stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
		log_err("%s: no sensor.rrd here (is this spanwatch's RRD "
		    "directory?)", dir);
		return -1;
	}
	return 0;
}

/* The Hurst estimates over the longest run of known bytes/s. */
static void
estimate(struct section *s, const struct series *day)
{
	int col = series_ds(day, "bytes");
	size_t first, n;
	double *x;

	x = malloc((day->rows + 1) * sizeof *x);
	if (x == NULL || col < 0) {
		free(x);
		return;
	}
	for (size_t i = 0; i < day->rows; i++)
		x[i] = series_get(day, i, col);
	n = hurst_longest_run(x, day->rows, &first);
	s->h_points = n;
	if (n > 0) {
		s->h_from = day->t0 + (time_t)(first * day->step);
		s->h_to = s->h_from + (time_t)(n * day->step);
		s->have_av = hurst_aggvar(x + first, n, &s->av) == 0;
		s->have_rs = hurst_rs(x + first, n, &s->rs) == 0;
	}
	free(x);
}

/* Writes the subscribers' summed bytes in/out per step into an RRD of
 * two GAUGE data sources, one row per step of the day. Returns 0 or -1
 * (logged; the overview then shows the sensor total alone). */
static int
write_inout(struct section *s, const char *tmpdir)
{
	const struct subscan *sc = &s->scan;
	char ds_in[64], ds_out[64], rra[64];
	const char *cargv[3] = { ds_in, ds_out, rra };
	char (*buf)[80];
	const char **uargv;
	int nu = 0, rc = -1;

	snprintf(s->inout_rrd, sizeof s->inout_rrd, "%s/inout-%u.rrd", tmpdir,
	    s->idx);
	snprintf(ds_in, sizeof ds_in, "DS:in:GAUGE:%lu:0:U", 2 * s->step);
	snprintf(ds_out, sizeof ds_out, "DS:out:GAUGE:%lu:0:U", 2 * s->step);
	snprintf(rra, sizeof rra, "RRA:AVERAGE:0.5:1:%zu", sc->rows + 1);
	rrd_clear_error();
	if (rrd_create_r(s->inout_rrd, s->step, s->day_start, 3, cargv) != 0)
		goto fail;
	buf = malloc((sc->rows + 1) * sizeof *buf);
	uargv = malloc((sc->rows + 1) * sizeof *uargv);
	if (buf == NULL || uargv == NULL) {
		free(buf);
		free(uargv);
		log_err("out of memory");
		s->inout_rrd[0] = '\0';
		return -1;
	}
	/* Row i is the step ending at day_start + (i + 1) * step; a GAUGE
	 * updated at that end holds its value for exactly that step. */
	for (size_t i = 0; i < sc->rows; i++) {
		if (!isfinite(sc->in[i]) && !isfinite(sc->out[i]))
			continue;
		snprintf(buf[nu], sizeof buf[nu], "%lld:%.6f:%.6f",
		    (long long)(s->day_start + (time_t)((i + 1) * s->step)),
		    isfinite(sc->in[i]) ? sc->in[i] : 0,
		    isfinite(sc->out[i]) ? sc->out[i] : 0);
		uargv[nu] = buf[nu];
		nu++;
	}
	rc = nu == 0 ? 0 : rrd_update_r(s->inout_rrd, NULL, nu, uargv);
	free(buf);
	free(uargv);
	if (rc == 0)
		return 0;
fail:
	log_warn("%s: %s; the overview shows the sensor total only",
	    s->inout_rrd, rrd_test_error() ? rrd_get_error() : "failed");
	rrd_clear_error();
	s->inout_rrd[0] = '\0';
	return -1;
}

/* Replaces the tables the files gave by ClickHouse's, which also knows
 * subscribers without a file here. If ClickHouse fails, the files' tables
 * stay and the run says so (scan.ch = -1: the exit status is 1). */
static void
ch_tables(struct section *s, const struct section_req *req)
{
	struct rank r[SUBSCAN_NRANKS];
	struct chsrc_cfg c = {
		.url = req->ch_url, .db = req->ch_db, .sensor = s->label,
		.only = req->only, .start = s->day_start, .end = s->end,
		.timeout = req->ch_timeout,
	};
	char why[512];
	int k, ok = 0;

	memset(r, 0, sizeof r);
	for (k = 0; k < SUBSCAN_NRANKS; k++)
		if (rank_init(&r[k], req->top) < 0)
			break;
	if (k == SUBSCAN_NRANKS)
		ok = chsrc_rank(&c, r, &s->scan.ch_subs, why, sizeof why) == 0;
	else
		snprintf(why, sizeof why, "out of memory");
	/* Files with traffic and no row at all: a sensor name ClickHouse
	 * does not know, most likely; empty tables would hide them. */
	if (ok && s->scan.ch_subs == 0 && s->scan.active > 0) {
		snprintf(why, sizeof why, "no rows of sensor '%s' in the "
		    "last day, but %zu subscriber files with traffic",
		    s->label, s->scan.active);
		ok = 0;
	}
	if (!ok) {
		log_warn("ClickHouse %s: %s; the top tables of %s come from "
		    "its RRD files only", req->ch_url, why, s->dir);
		s->scan.ch = -1;
		for (k = 0; k < SUBSCAN_NRANKS; k++)
			rank_free(&r[k]);
		return;
	}
	for (k = 0; k < SUBSCAN_NRANKS; k++) {
		rank_sort(&r[k]);
		rank_free(&s->scan.ranks[k]);
		s->scan.ranks[k] = r[k];
	}
	s->scan.ch = 1;
}

int
section_gather(struct section *s, const struct section_req *req)
{
	const char *dir = req->dir, *tmpdir = req->tmpdir, *base;
	unsigned idx = req->idx;
	time_t end = req->end;
	size_t top = req->top;
	struct subscan_cfg sc;
	struct series day;
	double t = mono_s();
	char why[512];
	size_t len;
	int col;

	memset(s, 0, sizeof *s);
	s->idx = idx;
	snprintf(s->dir, sizeof s->dir, "%s", dir);
	len = strlen(s->dir);
	while (len > 1 && s->dir[len - 1] == '/')
		s->dir[--len] = '\0';
	base = strrchr(s->dir, '/');
	base = base != NULL && base[1] != '\0' ? base + 1 : s->dir;
	/* A long folder name is cut to the label's size. */
	{
		const char *nm = req->name != NULL && req->name[0] != '\0' ?
		    req->name : base;
		size_t n = strnlen(nm, sizeof s->label - 1);

		memcpy(s->label, nm, n);
		s->label[n] = '\0';
	}
	snprintf(s->sensor_rrd, sizeof s->sensor_rrd, "%s/sensor.rrd", s->dir);
	if (series_info(s->sensor_rrd, &s->step, &s->last, why,
	    sizeof why) < 0) {
		log_err("%s: %s", s->sensor_rrd, why);
		return -1;
	}
	/* Whole steps: rrdtool's rows are aligned to multiples of the step,
	 * and the sums line up only if every range is. */
	s->end = end ? end : s->last;
	s->end -= s->end % (time_t)s->step;
	s->day_start = s->end - SECTION_DAY;
	s->day_start -= s->day_start % (time_t)s->step;

	if (series_fetch(s->sensor_rrd, "AVERAGE", s->day_start, s->end,
	    s->step, &day, why, sizeof why) < 0) {
		log_err("%s: %s", s->sensor_rrd, why);
		return -1;
	}
	s->start = s->end - SECTION_MIN_SPAN;
	col = series_ds(&day, "bytes");
	if (col < 0) {
		log_err("%s: no data source 'bytes': not a spanwatch "
		    "sensor.rrd", s->sensor_rrd);
		series_free(&day);
		return -1;
	}
	for (size_t i = 0; i < day.rows; i++)
		if (isfinite(series_get(&day, i, col))) {
			time_t first = day.t0 + (time_t)(i * day.step);

			if (first < s->start)
				s->start = first;
			break;
		}
	estimate(s, &day);
	series_free(&day);

	sc.dir = s->dir;
	sc.start = s->day_start;
	sc.end = s->end;
	sc.step = s->step;
	sc.top = top;
	sc.each = req->each;
	sc.arg = req->arg;
	sc.only = req->only;
	if (subscan_run(&sc, &s->scan) < 0)
		return -1;
	if (req->ch_url != NULL)
		ch_tables(s, req);
	if (s->scan.summed > 0)
		write_inout(s, tmpdir);
	s->seconds = mono_s() - t;
	return 0;
}

void
section_free(struct section *s)
{
	subscan_free(&s->scan);
	if (s->inout_rrd[0] != '\0')
		unlink(s->inout_rrd);
	s->inout_rrd[0] = '\0';
}

int
section_has_file(const struct section *s, const char *name)
{
	char path[4096 + 300];
	struct stat st;

	if (s->scan.ch != 1)
		return 1;	/* the tables came from the files */
	snprintf(path, sizeof path, "%s/subscribers/%s.rrd", s->dir, name);
	return stat(path, &st) == 0;
}
