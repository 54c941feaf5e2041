/*
 * flowstate.c — what is done for every collector's per-flow state: its
 * array, sized by its descriptor (collector_desc.h's flow_state) and the
 * instance's flow table, and the start-up line of what a flow costs. Apart
 * from registry.c so that a build with a registry of its own (the toy of
 * tests/descriptor) links it too.
 */
#include "collector.h"
#include "config.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

void *
collector_flow_state(const struct collector_env *env,
    const struct sw_config *cfg, const struct collector_desc *d,
    uint32_t *nflows)
{
	uint32_t n = env->max_flows ? env->max_flows : cfg->sensor.max_flows;
	/* Small pages, resident only as far as flows touch them (huge ones
	 * cost the flood test's bound 3 MiB: flow ids are dense, but a huge
	 * page is whole). */
	void *a = calloc((size_t)n + 1, d->flow_state ? d->flow_state : 1);

	if (a == NULL)
		log_err("%s: no memory for the state of %u flows (%zu B each)",
		    d->name, n, d->flow_state);
	*nflows = n;
	return a;
}

void
collector_flow_state_free(void *a, uint32_t nflows, const struct collector_desc *d)
{
	(void)nflows;
	(void)d;
	free(a);
}

void
collector_log_flow_state(uint32_t max_flows)
{
	char line[512];
	size_t per = sizeof(struct flow), o;

	o = (size_t)snprintf(line, sizeof line, "per-flow state: flow table %zu B",
	    sizeof(struct flow));
	for (size_t i = 0; collector_registry[i] != NULL; i++) {
		const struct collector_desc *d = collector_registry[i]->desc;

		if (d == NULL || d->flow_state == 0 || o >= sizeof line)
			continue;
		o += (size_t)snprintf(line + o, sizeof line - o, ", %s %zu B",
		    d->name, d->flow_state);
		per += d->flow_state;
	}
	/* The hash buckets (4 B a flow, up to 8 with the power-of-two
	 * rounding) are the flow table's, not counted here. */
	log_info("%s; %zu B a flow, %.1f MiB for %u flows", line, per,
	    (double)per * max_flows / (1024.0 * 1024.0), max_flows);
}
