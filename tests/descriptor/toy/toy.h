/*
 * toy.h — a concern that exists only in the test tree (t_toy.sh): it
 * shows that a collector's descriptor alone gives it an RRD data source,
 * a configuration key and a dashboard panel, no file of the project
 * touched.
 */
#ifndef SPANWATCH_TOY_H
#define SPANWATCH_TOY_H

#include "collector.h"

extern const struct collector collector_toy;
extern const struct collector_desc toy_desc;

#endif
