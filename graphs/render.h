/*
 * render.h — graphs as jobs: each job is one PNG and the rrdtool graph
 * arguments that draw it. Jobs are described first and drawn together by
 * render_all, through librrd's rrd_graph_v, in a few worker processes:
 * librrd's graph code keeps global state and is not thread-safe, and a
 * subscriber page set is a hundred-odd independent images.
 */
#ifndef SPANWATCH_RENDER_H
#define SPANWATCH_RENDER_H

#include <stddef.h>

#define RENDER_MAX_ARGS 1024	/* arguments of one graph */
#define RENDER_MAX_WORKERS 16

struct job {
	char *png;		/* where the image goes */
	char *rel;		/* the same, relative to the site's top */
	char *alt;		/* what the image shows, for the page */
	int argc;
	int cap;
	char **argv;		/* rrdtool graph arguments after the file name */
	int broken;		/* an argument was lost (no memory, too many):
				 * the job fails instead of drawing half */
};

struct jobs {
	struct job *v;
	size_t n, cap;
};

/* A new job drawing into top/rel. Returns it, or NULL (logged) when
 * memory runs out. The pointer is valid until the next jobs_add. */
struct job *jobs_add(struct jobs *js, const char *top, const char *rel,
    const char *alt);

/* Appends one argument to the job. */
void job_arg(struct job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

void jobs_free(struct jobs *js);

/* Draws jobs [first, last) in up to `workers` child processes (here only
 * if fork fails). Each image is written to a temporary name and renamed, so a
 * web server never hands out half a PNG. Returns the number of jobs that
 * failed (each logged with librrd's reason). */
size_t render_all(struct jobs *js, size_t first, size_t last,
    unsigned workers);

#endif
