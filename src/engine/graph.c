/* Dependency graph (see graph.h). */
#include "graph.h"

#include <stdlib.h>
#include <string.h>

#include "cratis/plugin.h"
#include "util/util.h"
#include "banned.h"

void graph_init(struct graph *g, size_t n)
{
	g->n = n;
	g->deps = xcalloc(n + 1, sizeof(*g->deps));
	g->ndeps = xcalloc(n + 1, sizeof(size_t));
	g->adeps = xcalloc(n + 1, sizeof(size_t));
}

void graph_release(struct graph *g)
{
	for (size_t i = 0; i < g->n; i++)
		free(g->deps[i]);
	free(g->deps);
	free(g->ndeps);
	free(g->adeps);
	memset(g, 0, sizeof(*g));
}

void graph_add_edge(struct graph *g, size_t from, size_t to)
{
	for (size_t i = 0; i < g->ndeps[from]; i++)
		if (g->deps[from][i] == to)
			return;
	ALLOC_GROW(g->deps[from], g->ndeps[from] + 1, g->adeps[from]);
	g->deps[from][g->ndeps[from]++] = to;
}

/* Depth-first search for a cycle from node u; state 0 new, 1 on stack, 2 done. */
static int find_cycle(const struct graph *g, size_t u, char *state, size_t *stack, size_t *depth,
                      size_t **cycle, size_t *ncycle)
{
	state[u] = 1;
	stack[(*depth)++] = u;
	for (size_t i = 0; i < g->ndeps[u]; i++) {
		size_t v = g->deps[u][i];
		if (state[v] == 1) {
			size_t start = *depth;
			while (start > 0 && stack[start - 1] != v)
				start--;
			start--;
			*ncycle = *depth - start + 1;
			*cycle = xcalloc(*ncycle, sizeof(size_t));
			for (size_t k = start; k < *depth; k++)
				(*cycle)[k - start] = stack[k];
			(*cycle)[*ncycle - 1] = v;
			return 1;
		}
		if (state[v] == 0 && find_cycle(g, v, state, stack, depth, cycle, ncycle))
			return 1;
	}
	state[u] = 2;
	(*depth)--;
	return 0;
}

int graph_order(const struct graph *g, size_t **order, size_t **cycle, size_t *ncycle)
{
	size_t n = g->n;
	size_t *remaining = xcalloc(n + 1, sizeof(size_t));
	size_t *rev_n = xcalloc(n + 1, sizeof(size_t)), *rev_off = xcalloc(n + 2, sizeof(size_t));
	for (size_t i = 0; i < n; i++) {
		remaining[i] = g->ndeps[i];
		for (size_t k = 0; k < g->ndeps[i]; k++)
			rev_n[g->deps[i][k]]++;
	}
	for (size_t i = 0; i < n; i++)
		rev_off[i + 1] = rev_off[i] + rev_n[i];
	size_t *rev = xcalloc(rev_off[n] + 1, sizeof(size_t));
	size_t *fill = xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < g->ndeps[i]; k++) {
			size_t d = g->deps[i][k];
			rev[rev_off[d] + fill[d]++] = i;
		}
	size_t *out = xcalloc(n + 1, sizeof(size_t));
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < n; i++)
		if (!remaining[i])
			out[tail++] = i;
	while (head < tail) {
		size_t u = out[head++];
		for (size_t k = rev_off[u]; k < rev_off[u + 1]; k++)
			if (--remaining[rev[k]] == 0)
				out[tail++] = rev[k];
	}
	int rc = CRATIS_OK;
	*order = NULL;
	if (tail < n) {
		char *state = xcalloc(n + 1, 1);
		size_t *stack = xcalloc(n + 1, sizeof(size_t));
		for (size_t i = 0; i < n; i++) {
			size_t depth = 0;
			if (remaining[i] && state[i] == 0 && find_cycle(g, i, state, stack, &depth, cycle, ncycle))
				break;
		}
		free(state);
		free(stack);
		free(out);
		rc = CRATIS_ECYCLE;
	} else {
		*order = out;
	}
	free(remaining);
	free(rev_n);
	free(rev_off);
	free(rev);
	free(fill);
	return rc;
}
