/*
 * registry.h — the list of concerns, in the order they see events. A new
 * concern is a folder (or a file) with its collector (struct collector
 * collector_NAME, collector.h) and its descriptor (struct collector_desc
 * NAME_desc, collector_desc.h), and one line here. registry.c makes the
 * table of collectors from it, registry_desc.c the table of descriptors
 * (which spanwatch-graph links without the collectors).
 */
#ifndef SPANWATCH_REGISTRY_H
#define SPANWATCH_REGISTRY_H

#define COLLECTORS(X)	\
	X(p2p)		\
	X(volume)	\
	X(smtp)		\
	X(health)

#endif
