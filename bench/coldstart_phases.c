/* Benchmark helper for bench/coldstart.sh: one phase of what `cratis get` does at start, in a
 * process of its own, so that hyperfine can time each phase cold against a run that does nothing.
 * Usage: coldstart_phases PHASES PROJECT_DIR PLUGIN_DIR, PHASES a set of letters run in this
 * order: s (open the project's state and list the resources of environment "default"), p (load
 * every plugin of PLUGIN_DIR), m (parse the project's manifests), b (build the model; needs p and
 * m); "none" runs nothing. Exits 0, or 2 naming the phase that failed. */
#include <stdio.h>
#include <string.h>

#include "manifest/manifest.h"
#include "model/model.h"
#include "plugin/registry.h"
#include "state/store.h"
#include "util/diag.h"
#include "util/error.h"
#include "util/util.h"

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: coldstart_phases none|[s][p][m][b] PROJECT_DIR PLUGIN_DIR\n");
		return 2;
	}
	const char *phases = argv[1], *project = argv[2], *plugins = argv[3];
	const char *failed = NULL;
	struct registry reg;
	struct manifest_set ms;
	struct model m;
	struct diags errors = DIAGS_INIT;
	registry_init(&reg);
	manifest_set_init(&ms);
	model_init(&m);
	if (strchr(phases, 's')) {
		char *url = xasprintf("sqlite:%s/.cratis/state.db", project);
		struct store *s;
		struct state_rows rows = { 0 };
		if (store_open(&s, url)) {
			failed = "state open";
		} else {
			if (store_list(s, "default", NULL, &rows))
				failed = "state list";
			store_rows_release(&rows);
			store_close(s);
		}
		free(url);
	}
	if (!failed && strchr(phases, 'p')) {
		strv_push(&reg.dirs, plugins);
		if (registry_load(&reg, &errors))
			failed = "plugins";
	}
	if (!failed && strchr(phases, 'm') && manifest_load_path(&ms, project))
		failed = "manifests";
	if (!failed && strchr(phases, 'b') && model_build(&m, &ms, &reg, NULL))
		failed = "model";
	model_release(&m);
	manifest_set_release(&ms);
	registry_release(&reg);
	diags_release(&errors);
	if (failed) {
		fprintf(stderr, "coldstart_phases: %s failed: %s\n", failed, cratis_error_last()->message);
		return 2;
	}
	return 0;
}
