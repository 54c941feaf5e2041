/*
 * health.c — the health collector: the sensor's own sensor.rrd. IP
 * packets and IP bytes seen, capture drops, flows opened and open, and
 * bytes of flows nDPI could not name. Other collectors add their own
 * sensor-wide data sources (bt_bytes, smtp_sess, alerts) themselves.
 */
#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "collector.h"
#include "rrdw.h"

struct health {
	struct collector_env env;
	uint64_t packets, bytes, flows_new, unknown_bytes;
	uint64_t drops_reported, alerts_reported;
};

static int
is_unknown(const struct flow *f)
{
	return f->classified && !f->app_proto && !f->app_master && !f->own_app;
}

static void *
health_start(const struct collector_env *env)
{
	struct health *h = calloc(1, sizeof *h);

	if (h)
		h->env = *env;
	return h;
}

static void
health_packet(void *self, const struct flow_event *ev)
{
	struct health *h = self;

	h->packets++;
	h->bytes += ev->p->ip_len;
	h->flows_new += ev->created;
	if (!is_unknown(ev->f))
		return;
	/* Detection gave up on this packet: the bytes before it were
	 * Unknown too. */
	h->unknown_bytes += ev->classified_now ? ev->f->bytes[0] + ev->f->bytes[1] : ev->p->ip_len;
}

static void
health_step(void *self, time_t step_end)
{
	struct health *h = self;
	uint64_t v[RRDW_MAX_DS];
	/* Drops and alerts are sensor-wide: one shard reports them. */
	int sensor_wide = h->env.shard == 0;
	uint64_t drops = h->env.drops && sensor_wide ? *h->env.drops : 0;
	uint64_t alerts = h->env.alerts && sensor_wide ? alerts_count(h->env.alerts) : 0;

	if (h->env.rrdw) {
		rrdw_clear_values(RRDW_SENSOR, v);
		v[RRDW_S_PACKETS] = h->packets;
		v[RRDW_S_BYTES] = h->bytes;
		v[RRDW_S_DROPS] = drops - h->drops_reported;
		v[RRDW_S_FLOWS_NEW] = h->flows_new;
		v[RRDW_S_FLOWS_ACTIVE] = h->env.flows_active ? *h->env.flows_active : 0;
		v[RRDW_S_UNKNOWN_BYTES] = h->unknown_bytes;
		v[RRDW_S_ALERTS] = alerts - h->alerts_reported;
		rrdw_update(h->env.rrdw, RRDW_SENSOR, NULL, step_end, v);
	}
	if (drops > h->drops_reported && h->env.alerts) {
		struct alert_field af[] = {
			{ .key = "drops", .type = AF_UINT, .v.u = drops - h->drops_reported },
			{ .key = "step", .type = AF_UINT, .v.u = h->env.step },
		};
		alerts_raise(h->env.alerts, "capture_drops", NULL, step_end, af, 2);
	}
	h->drops_reported = drops;
	h->alerts_reported = alerts;
	h->packets = h->bytes = h->flows_new = h->unknown_bytes = 0;
}

static int
health_reload(void *self, const struct collector_env *env)
{
	((struct health *)self)->env = *env;
	return 0;
}

static void
health_stop(void *self)
{
	free(self);
}

const struct collector collector_health = {
	.name = "health",
	.desc = &health_desc,
	.start = health_start,
	.packet = health_packet,
	.step = health_step,
	.reload = health_reload,
	.stop = health_stop,
};
