/*
 * chw_int.h — what the ClickHouse writer's files share (chw.c: thread,
 * open and close; chw_rows.c: the taps and the rows of a batch;
 * chw_http.c: libcurl and the tables; chw_spool.c: the spool and the
 * sending of it). Private to them: nothing else includes it.
 */
#ifndef SPANWATCH_CHW_INT_H
#define SPANWATCH_CHW_INT_H

#include "chw.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

enum { T_SUB, T_SENSOR, T_ALERTS, NT };

extern const char *const chw_table_names[NT];

#define QUEUE_MAX 256		/* batches waiting for the spool */
#define RESP_MAX 4096		/* bytes of a reply kept (errors, counts) */
#define BACKOFF_MIN_MS 200
#define BACKOFF_MAX_MS 10000
#define WARN_EVERY_S 60
#define GROUP_MAX 128		/* spooled batches sent in one INSERT */
#define GROUP_BYTES (16u << 20)
#define SQL_MAX (GROUP_MAX * 24 + 1024)

/* A growable buffer of rows of one table. */
struct sec {
	char *p;
	size_t n, cap;
	uint64_t rows;
};

struct batch {
	struct batch *next;
	uint64_t id;
	time_t ts;
	struct sec s[NT];
};

/* A batch in the spool. */
struct spooled {
	struct spooled *next;
	uint64_t seq;
	uint64_t bytes;
	int tried;		/* may be in ClickHouse already: ask first */
};

struct loaded {
	char *buf;
	uint64_t id;
	long long ts;
	char sensor[256];
	struct {
		const char *p;
		size_t n;
		uint64_t rows;
	} s[NT];
};

struct chw {
	char *url, *db, *spool, *sensor;
	uint64_t spool_max;
	unsigned timeout;
	unsigned retention;
	int block;
	struct alerts *alerts;

	/* producers, under mu */
	pthread_mutex_t mu;
	pthread_cond_t wake, room;
	struct sec cur[NT];
	uint64_t cur_id;
	time_t last_ts;
	struct batch *qhead, *qtail;
	size_t qlen;
	int stop;
	double stop_by;		/* mono_s: give up sending after this */
	uint64_t oom_rows;	/* rows not kept for want of memory */
	unsigned qfull_said;

	/* writer thread */
	pthread_t thr;
	CURL *curl;
	int ready;		/* database and tables made on this server */
	int ttl_said;
	int full;		/* a batch was dropped; until a send makes room */
	struct spooled *shead, *stail;
	uint64_t next_seq;
	double retry_at, down_since, last_warn;
	unsigned backoff_ms;
	int was_down;
	char resp[RESP_MAX + 1];
	size_t resp_n;
	char msg[512];
	char *ddl;		/* chddl_sql without comments, split at ';' */
	struct loaded *grp;	/* GROUP_MAX batches read back */
	struct sec body;	/* an INSERT's rows */
	char sql[SQL_MAX];
	int finished, finish_rc;

	atomic_uint_fast64_t st_batches, st_sent, st_rows_sent, st_found, st_dropped,
	    st_rows_dropped, st_failures, st_outages, st_spooled, st_spool_bytes;
	atomic_int st_down;
};

static inline void
bump(atomic_uint_fast64_t *c, uint64_t n)
{
	atomic_fetch_add_explicit(c, n, memory_order_relaxed);
}

static inline uint64_t
ld(atomic_uint_fast64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

int chw_sec_put(struct sec *s, const char *p, size_t n, uint64_t bound);
size_t chw_esc(char *out, size_t cap, const char *p, size_t n);
int chw_batch_close(struct chw *w, time_t ts);
size_t chw_on_data(char *p, size_t size, size_t nmemb, void *arg);
int chw_on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un);
int chw_http(struct chw *w, int use_db, const char *query, const char *body, size_t len);
int chw_http_sql(struct chw *w, const char *sql);
int chw_ddl_prepare(struct chw *w);
int chw_setup(struct chw *w);
void chw_spool_batch(struct chw *w, const struct batch *b);
int chw_spool_scan(struct chw *w);
int chw_send_group(struct chw *w);
uint64_t chw_new_id(void);

#endif
