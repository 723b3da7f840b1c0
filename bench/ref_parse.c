/* Benchmark reference: only parse the same YAML into JSON (libfyaml + jansson, as cratis does)
 * and read the same state rows from SQLite. `cratis plan` is measured against this. */
#include <jansson.h>
#include <libfyaml.h>
#include <sqlite3.h>
#include <stdio.h>

static json_t *to_json(struct fy_node *n)
{
	if (fy_node_is_scalar(n)) {
		size_t len;
		const char *s = fy_node_get_scalar(n, &len);
		return json_stringn(s ? s : "", s ? len : 0);
	}
	if (fy_node_is_sequence(n)) {
		json_t *a = json_array();
		void *it = NULL;
		struct fy_node *c;
		while ((c = fy_node_sequence_iterate(n, &it)))
			json_array_append_new(a, to_json(c));
		return a;
	}
	json_t *o = json_object();
	void *it = NULL;
	struct fy_node_pair *p;
	while ((p = fy_node_mapping_iterate(n, &it))) {
		size_t len;
		const char *k = fy_node_get_scalar(fy_node_pair_key(p), &len);
		json_object_setn_new(o, k, len, to_json(fy_node_pair_value(p)));
	}
	return o;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: ref_parse FILE.yaml STATE.db\n");
		return 2;
	}
	struct fy_parse_cfg cfg = { .flags = FYPCF_QUIET };
	struct fy_parser *fyp = fy_parser_create(&cfg);
	fy_parser_set_input_file(fyp, argv[1]);
	struct fy_document *fyd;
	size_t docs = 0;
	json_t *all = json_array();
	while ((fyd = fy_parse_load_document(fyp))) {
		json_array_append_new(all, to_json(fy_document_root(fyd)));
		fy_parse_document_destroy(fyp, fyd);
		docs++;
	}
	sqlite3 *db;
	sqlite3_stmt *q;
	size_t rows = 0;
	sqlite3_open_v2(argv[2], &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_prepare_v2(db, "SELECT project, environment, id, api_version, spec, outputs, deps, status FROM resources ORDER BY project, id", -1, &q, NULL);
	while (sqlite3_step(q) == SQLITE_ROW) {
		json_t *spec = json_loads((const char *)sqlite3_column_text(q, 4), 0, NULL);
		json_decref(spec);
		rows++;
	}
	sqlite3_finalize(q);
	sqlite3_close(db);
	printf("%zu documents, %zu rows\n", docs, rows);
	json_decref(all);
	fy_parser_destroy(fyp);
	return 0;
}
