/* String-keyed hash map of borrowed keys to pointers (open addressing, FNV-1a). */
#ifndef CRATIS_MAP_H
#define CRATIS_MAP_H

#include <stddef.h>

struct map_entry {
	const char *key;   /* borrowed: must outlive the map */
	void *value;
};

struct map {
	struct map_entry *slots;
	size_t n, cap;
};
#define MAP_INIT { NULL, 0, 0 }

/* Value stored under key, or NULL. */
void *map_get(const struct map *m, const char *key);
/* Value stored under the key "a:b" (built on the stack when it is short), or NULL: the lookup
 * of a resource by project and id without an allocation. */
void *map_get_pair(const struct map *m, const char *a, const char *b);
/* Store value under key (key borrowed); returns the previous value or NULL. */
void *map_put(struct map *m, const char *key, void *value);
/* Free the table (not keys or values). */
void map_release(struct map *m);

#endif
