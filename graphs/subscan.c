/*
 * subscan.c — the pass over the subscriber files (see subscan.h).
 *
 * One fetch per file at the step resolution reads a day of the finest
 * archive: 1440 rows of 14 values at a one-minute step, about 160 kB.
 * Coarser archives would read less but lose the last, not yet
 * consolidated, part of the day, which is what an operator looks at
 * first.
 *
 * librrd maps a file with MADV_RANDOM, so a fetch from a cold cache
 * faults its 40 pages in one 4 kB read at a time. A second directory
 * stream runs PREFETCH files ahead and asks the kernel to read each
 * file's finest archive in one go (posix_fadvise WILLNEED, asynchronous):
 * on the development VM that took a cold pass over 5100 files from 17 s
 * to 2 s. The archive's place is computed from the file size and rrdw's
 * schema; a file of another layout only gets a useless hint.
 */
#include "subscan.h"

#include "log.h"
#include "mono.h"
#include "rrdschema.h"
#include "series.h"
#include "units.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PREFETCH 16	/* files read ahead */


/* Adds rate v into the per-step sum, where NAN means "nobody knew". */
static void
add_rate(double *slot, double v)
{
	if (!isfinite(v))
		return;
	*slot = isfinite(*slot) ? *slot + v : v;
}

/* Where rrdw puts a subscriber file's finest archive: the data area is
 * the end of the file, archives in rrdw_rras order, finest first. */
struct layout {
	off_t data;	/* bytes of all archives */
	off_t first;	/* bytes of the finest */
};

static void
layout_for(unsigned long step, struct layout *l)
{
	struct rrdw_rra rra[RRDW_MAX_RRA];
	size_t n = rrdw_rras(RRDW_SUBSCRIBER, (unsigned)step, rra);
	off_t row = (off_t)(rrdw_schema(RRDW_SUBSCRIBER)->nds *
	    sizeof(double));

	l->data = l->first = 0;
	for (size_t i = 0; i < n; i++)
		l->data += (off_t)rra[i].rows * row;
	if (n > 0)
		l->first = (off_t)rra[0].rows * row;
}

/* Asks the kernel to start reading the finest archive of dir/name. */
static void
prefetch(const char *dir, const char *name, const struct layout *l)
{
	char path[4096 + 300];
	struct stat st;
	int fd;

	if (l->first == 0 || name[0] == '.')
		return;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (fstat(fd, &st) == 0 && st.st_size > l->data)
		(void)posix_fadvise(fd, st.st_size - l->data, l->first,
		    POSIX_FADV_WILLNEED);
	close(fd);
}

/* Moves the read-ahead stream one entry on, hinting that file. */
static void
ahead_step(DIR *ahead, const char *dir, const struct layout *l)
{
	struct dirent *de;

	if (ahead != NULL && (de = readdir(ahead)) != NULL)
		prefetch(dir, de->d_name, l);
}

/* Reads one file; returns 0, or -1 if librrd refused it (the caller
 * counts; the first reason is logged). */
static int
scan_file(const struct subscan_cfg *cfg, const char *path, const char *name,
    struct subscan *out)
{
	const struct rrdw_schema *sch = rrdw_schema(RRDW_SUBSCRIBER);
	int col[RRDW_MAX_DS];
	double sum[RRDW_MAX_DS] = { 0 };
	struct series s;
	char why[256];

	if (series_fetch(path, "AVERAGE", cfg->start, cfg->end, cfg->step, &s,
	    why, sizeof why) < 0) {
		if (out->unreadable == 0)
			log_warn("%s: %s", path, why);
		return -1;
	}
	/* By name, not position: a later version may add data sources. */
	for (size_t k = 0; k < RRDW_MAX_DS; k++)
		col[k] = k < sch->nds ? series_ds(&s, sch->ds[k].name) : -1;
	for (size_t i = 0; i < s.rows; i++)
		for (size_t k = 0; k < sch->nds; k++) {
			double v = series_get(&s, i, col[k]);

			if (isfinite(v))
				sum[k] += v * (double)s.step;
		}
	/* The per-step sums only line up with files at the sensor's step
	 * and alignment, which is every file one sensor wrote. */
	if (s.step == cfg->step && s.t0 == cfg->start) {
		for (size_t i = 0; i < s.rows && i < out->rows; i++) {
			add_rate(&out->in[i],
			    series_get(&s, i, col[RRDW_U_BYTES_IN]));
			add_rate(&out->out[i],
			    series_get(&s, i, col[RRDW_U_BYTES_OUT]));
		}
		out->summed++;
	}
	series_free(&s);

	if (sum[RRDW_U_BYTES_IN] + sum[RRDW_U_BYTES_OUT] > 0)
		out->active++;
	if (cfg->each != NULL)
		cfg->each(cfg->arg, name, sum);
	rank_offer(&out->ranks[SUBSCAN_BT], name,
	    sum[RRDW_U_BT_IN] + sum[RRDW_U_BT_OUT], sum, sch->nds);
	rank_offer(&out->ranks[SUBSCAN_SMTP], name, sum[RRDW_U_SMTP_DIRECT],
	    sum, sch->nds);
	return 0;
}

int
subscan_run(const struct subscan_cfg *cfg, struct subscan *out)
{
	char dir[4096], path[4096 + 300];
	double t = mono_s();
	struct dirent *de;
	struct layout lay;
	DIR *d, *ahead;

	memset(out, 0, sizeof *out);
	for (int k = 0; k < SUBSCAN_NRANKS; k++)
		if (rank_init(&out->ranks[k], cfg->top) < 0)
			goto nomem;
	out->rows = cfg->step ? (size_t)((cfg->end - cfg->start) /
	    (time_t)cfg->step) : 0;
	out->in = malloc((out->rows + 1) * sizeof *out->in);
	out->out = malloc((out->rows + 1) * sizeof *out->out);
	if (out->in == NULL || out->out == NULL)
		goto nomem;
	for (size_t i = 0; i < out->rows; i++)
		out->in[i] = out->out[i] = NAN;

	snprintf(dir, sizeof dir, "%s/subscribers", cfg->dir);
	d = opendir(dir);
	if (d == NULL) {
		if (errno == ENOENT)
			return 0;
		log_err("%s: %s", dir, strerror(errno));
		subscan_free(out);
		return -1;
	}
	/* Two streams over an unchanged directory list it in the same
	 * order; if the sensor adds a file meanwhile, a hint goes to the
	 * wrong file, which costs nothing but the hint. */
	layout_for(cfg->step, &lay);
	ahead = opendir(dir);
	for (int k = 0; k < PREFETCH; k++)
		ahead_step(ahead, dir, &lay);
	while ((de = readdir(d)) != NULL) {
		char name[RRDW_NAME_MAX + 1];
		size_t len = strlen(de->d_name);
		const char *why;

		ahead_step(ahead, dir, &lay);
		if (de->d_name[0] == '.' && (len == 1 ||
		    (len == 2 && de->d_name[1] == '.')))
			continue;
		/* Only files the sensor could have written: NAME.rrd with a
		 * name it accepts. Anything else (editor backups, an
		 * operator's notes) is counted and left alone. */
		if (len < 5 || len - 4 > RRDW_NAME_MAX ||
		    strcmp(de->d_name + len - 4, ".rrd") != 0) {
			out->foreign++;
			continue;
		}
		memcpy(name, de->d_name, len - 4);
		name[len - 4] = '\0';
		if (units_check_name(name, RRDW_NAME_MAX, &why) < 0) {
			out->foreign++;
			continue;
		}
		if (cfg->only != NULL && strcmp(name, cfg->only) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		out->files++;
		if (scan_file(cfg, path, name, out) < 0)
			out->unreadable++;
	}
	closedir(d);
	if (ahead != NULL)
		closedir(ahead);
	if (out->unreadable > 1)
		log_warn("%s: %zu files could not be read", dir,
		    out->unreadable);
	for (int k = 0; k < SUBSCAN_NRANKS; k++)
		rank_sort(&out->ranks[k]);
	out->seconds = mono_s() - t;
	return 0;
nomem:
	log_err("out of memory");
	subscan_free(out);
	return -1;
}

void
subscan_free(struct subscan *s)
{
	for (int k = 0; k < SUBSCAN_NRANKS; k++)
		rank_free(&s->ranks[k]);
	free(s->in);
	free(s->out);
	s->in = s->out = NULL;
}
