/* Names for completion (app_names): environments and resource addresses of the manifests, read
 * without state, plugins or locks. */
#include "app/app.h"

#include <string.h>

#include "util/buf.h"
#include "banned.h"

int app_names(const char *const *paths, size_t npaths, struct strv *envs, struct strv *addresses)
{
	static const char *const here[] = { "." };
	if (!npaths) {
		paths = here;
		npaths = 1;
	}
	struct manifest_set ms;
	manifest_set_init(&ms);
	size_t read = 0;
	for (size_t i = 0; i < npaths; i++)
		read += manifest_load_path(&ms, paths[i]) != CRATIS_EIO;
	struct buf id = BUF_INIT;
	for (size_t i = 0; i < ms.n; i++) {
		json_t *root = ms.docs[i]->root;
		const char *kind = json_string_value(json_object_get(root, "kind"));
		const char *name = json_string_value(json_object_get(json_object_get(root, "metadata"), "name"));
		if (!kind || !name || !*kind || !*name)
			continue;
		if (!strcmp(kind, "Environment")) {
			if (!strv_has(envs, name))
				strv_push(envs, name);
		} else if (strcmp(kind, "System") && strcmp(kind, "Project")) {
			buf_clear(&id);
			buf_addf(&id, "%s/%s", kind, name);
			if (!strv_has(addresses, id.ptr))
				strv_push(addresses, id.ptr);
		}
	}
	buf_release(&id);
	manifest_set_release(&ms);
	return read ? CRATIS_OK : CRATIS_EIO;
}
