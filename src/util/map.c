/* String-keyed hash map (see map.h). */
#include "map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "banned.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static struct map_entry *find(struct map_entry *slots, size_t cap, const char *key)
{
	size_t i = hash(key) & (cap - 1);
	while (slots[i].key && strcmp(slots[i].key, key))
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

void *map_get(const struct map *m, const char *key)
{
	if (!m->cap)
		return NULL;
	return find(m->slots, m->cap, key)->value;
}

void *map_put(struct map *m, const char *key, void *value)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t nc = m->cap ? m->cap * 2 : 16;
		struct map_entry *ns = xcalloc(nc, sizeof(*ns));
		for (size_t i = 0; i < m->cap; i++)
			if (m->slots[i].key)
				*find(ns, nc, m->slots[i].key) = m->slots[i];
		free(m->slots);
		m->slots = ns;
		m->cap = nc;
	}
	struct map_entry *e = find(m->slots, m->cap, key);
	void *old = e->value;
	if (!e->key)
		m->n++;
	e->key = key;
	e->value = value;
	return old;
}

void map_release(struct map *m)
{
	free(m->slots);
	m->slots = NULL;
	m->n = m->cap = 0;
}

void *map_get_pair(const struct map *m, const char *a, const char *b)
{
	char stack[256];
	size_t la = strlen(a), lb = strlen(b);
	char *key = la + lb + 2 <= sizeof(stack) ? stack : xmalloc(la + lb + 2);
	memcpy(key, a, la);
	key[la] = ':';
	memcpy(key + la + 1, b, lb + 1);
	void *v = map_get(m, key);
	if (key != stack)
		free(key);
	return v;
}
