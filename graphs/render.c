/*
 * render.c — drawing graph jobs through librrd (see render.h).
 */
#include "render.h"

#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <rrd.h>

struct job *
jobs_add(struct jobs *js, const char *top, const char *rel, const char *alt)
{
	struct job *j;

	if (js->n == js->cap) {
		size_t nc = js->cap ? js->cap * 2 : 64;
		struct job *nv = realloc(js->v, nc * sizeof *nv);

		if (nv == NULL)
			goto nomem;
		js->v = nv;
		js->cap = nc;
	}
	j = &js->v[js->n];
	memset(j, 0, sizeof *j);
	if (asprintf(&j->png, "%s/%s", top, rel) < 0) {
		j->png = NULL;
		goto nomem;
	}
	j->rel = strdup(rel);
	j->alt = strdup(alt);
	if (j->rel == NULL || j->alt == NULL) {
		free(j->png);
		free(j->rel);
		free(j->alt);
		goto nomem;
	}
	js->n++;
	return j;
nomem:
	log_err("out of memory");
	return NULL;
}

void
job_arg(struct job *j, const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	if (j->broken)
		return;
	if (j->argc == j->cap) {
		int nc = j->cap ? j->cap * 2 : 32;
		char **nv;

		if (nc > RENDER_MAX_ARGS) {
			log_err("%s: more than %d graph arguments", j->rel,
			    RENDER_MAX_ARGS);
			j->broken = 1;
			return;
		}
		nv = realloc(j->argv, (size_t)nc * sizeof *nv);
		if (nv == NULL) {
			j->broken = 1;
			return;
		}
		j->argv = nv;
		j->cap = nc;
	}
	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0) {
		j->broken = 1;
		return;
	}
	j->argv[j->argc++] = s;
}

void
jobs_free(struct jobs *js)
{
	for (size_t i = 0; i < js->n; i++) {
		struct job *j = &js->v[i];

		for (int a = 0; a < j->argc; a++)
			free(j->argv[a]);
		free(j->argv);
		free(j->png);
		free(j->rel);
		free(j->alt);
	}
	free(js->v);
	memset(js, 0, sizeof *js);
}

/* Draws one job. Returns 0, or -1 (logged). */
static int
render_one(const struct job *j)
{
	char tmp[4200];
	char **argv;
	rrd_info_t *info;
	int argc = j->argc + 2;

	if (j->broken) {
		log_err("%s: graph definition incomplete (out of memory?)",
		    j->rel);
		return -1;
	}
	snprintf(tmp, sizeof tmp, "%s.tmp", j->png);
	argv = calloc((size_t)argc + 1, sizeof *argv);
	if (argv == NULL) {
		log_err("out of memory");
		return -1;
	}
	/* rrd_graph_v parses its arguments like the rrdtool command:
	 * argv[0] is the command name, then the file, then the rest. */
	argv[0] = (char *)"graphv";
	argv[1] = tmp;
	memcpy(argv + 2, j->argv, (size_t)j->argc * sizeof *argv);
	rrd_clear_error();
	info = rrd_graph_v(argc, argv);
	free(argv);
	if (info == NULL || rrd_test_error()) {
		log_err("%s: %s", j->rel, rrd_test_error() ? rrd_get_error() :
		    "rrd_graph_v failed");
		rrd_clear_error();
		if (info != NULL)
			rrd_info_free(info);
		unlink(tmp);
		return -1;
	}
	rrd_info_free(info);
	if (rename(tmp, j->png) < 0) {
		log_err("%s: %s", j->png, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

static size_t
render_range(struct jobs *js, size_t first, size_t last, size_t stride)
{
	size_t failed = 0;

	for (size_t i = first; i < last; i += stride)
		if (render_one(&js->v[i]) < 0)
			failed++;
	return failed;
}

size_t
render_all(struct jobs *js, size_t first, size_t last, unsigned workers)
{
	pid_t pids[RENDER_MAX_WORKERS];
	size_t failed = 0, n = last > first ? last - first : 0;
	unsigned w = workers, started = 0;

	if (w > RENDER_MAX_WORKERS)
		w = RENDER_MAX_WORKERS;
	if (w > n)
		w = (unsigned)n;
	if (w < 1)
		return 0;

	/* Always in child processes, even one: librrd 1.7's graph code and
	 * fontconfig under it keep a few hundred bytes per image that are
	 * never freed, and a process that ends takes them along, so this
	 * one stays at its bounded size. Worker k draws jobs first+k,
	 * first+k+w, ...: the jobs are of similar cost, so striding
	 * balances them without any traffic between the processes. A
	 * worker reports its failures (each already logged) in its exit
	 * status. */
	fflush(stdout);
	fflush(stderr);
	for (unsigned k = 0; k < w; k++) {
		pid_t p = fork();

		if (p == 0) {
			size_t f = render_range(js, first + k, last, w);

			_exit(f > 100 ? 100 : (int)f);
		}
		if (p < 0) {
			log_warn("fork: %s; drawing the rest here",
			    strerror(errno));
			for (size_t i = first + k; i < last; i += w)
				if (render_one(&js->v[i]) < 0)
					failed++;
			continue;
		}
		pids[started++] = p;
	}
	for (unsigned k = 0; k < started; k++) {
		int st;

		while (waitpid(pids[k], &st, 0) < 0)
			if (errno != EINTR) {
				st = -1;
				break;
			}
		/* Above 100 is not a count: a sanitizer's or the C
		 * library's own exit code. */
		if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) > 100) {
			log_err("a drawing process died (status %d)", st);
			failed++;
		} else {
			failed += (size_t)WEXITSTATUS(st);
		}
	}
	return failed;
}
