/* Dependency graph over node indices 0..n-1: topological order (Kahn) and cycle reporting. */
#ifndef CRATIS_GRAPH_H
#define CRATIS_GRAPH_H

#include <stddef.h>

struct graph {
	size_t n;
	size_t **deps;       /* deps[i]: nodes i depends on */
	size_t *ndeps, *adeps;
};

void graph_init(struct graph *g, size_t n);
void graph_release(struct graph *g);
/* Record that node `from` depends on node `to` (duplicates are ignored). */
void graph_add_edge(struct graph *g, size_t from, size_t to);

/* Order nodes so that each comes after its dependencies; ties keep index order. On success
 * returns CRATIS_OK with order (n entries, caller frees). On a cycle returns CRATIS_ECYCLE with
 * *cycle the nodes of one cycle in dependency order, first node repeated at the end (caller
 * frees), *ncycle its length, and *order NULL. */
int graph_order(const struct graph *g, size_t **order, size_t **cycle, size_t *ncycle);

#endif
