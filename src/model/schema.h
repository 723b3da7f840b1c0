/* Strict fields: every document's fields are checked against the schema of its kind (the
 * envelope, the core kinds' tables, a plugin's declared field table); an unknown field is an
 * error at its location with a "did you mean" hint, as kubectl's strict field validation. */
#ifndef CRATIS_SCHEMA_H
#define CRATIS_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "manifest/manifest.h"
#include "plugin/registry.h"
#include "util/diag.h"

/* Check every field of doc (a mapping with string apiVersion and kind) against the schema of
 * its kind: the envelope (apiVersion, kind, metadata.name, metadata.project, metadata.labels,
 * spec) always; for group "cratis", the core kind's table (System, Environment, Project,
 * Rollout); for a plugin kind, the table declared by the handler serving its apiVersion in reg
 * plus spec.system and spec.dependsOn, or nothing under spec when that handler declared no
 * schema, the kind is unknown or reg is NULL. Rules (docs/manifests.md, "Strict fields"): "*"
 * matches any key, sequence items have the sequence's path, a mapping with no declared field
 * below it is free-form. Appends one error (CRATIS_EINVAL) per unknown field to errors, located
 * at the field, with a hint: "did you mean 'X'?" when a known field at that place is within
 * Damerau-Levenshtein distance 2 (case-insensitive) or one name is a prefix of the other, else
 * the list of known fields there. Returns the number of errors appended. doc is only read. */
size_t schema_check(struct diags *errors, const struct manifest_doc *doc, const struct registry *reg);

/* Optimal string alignment (restricted Damerau-Levenshtein) distance between a and b, comparing
 * ASCII letters case-insensitively; capped: any distance above cap returns cap + 1. */
size_t schema_distance(const char *a, const char *b, size_t cap);

/* Every kind cratis knows, for `cratis explain`: the core kinds (cratis/v1 System, Environment,
 * Project, Rollout) and each group/kind registered in reg (NULL: the core kinds only), in that
 * order, as a JSON array of {kind, group, apiVersions: ["group/v1", ...], plugin: {name,
 * version, form ("core", "so", "exec"), path}, schema: whether its fields are declared}. New
 * reference. */
json_t *schema_kinds(const struct registry *reg);

/* Explain query "KIND[.FIELD[.SUB]]" like `kubectl explain`: KIND is matched exactly, else
 * case-insensitively; FIELD is a dotted path from the document root ("spec.health.http"), and
 * when it names no field, "spec." + FIELD is tried ("Service.command"). On success *out is
 * (new reference) the kind's object as in schema_kinds plus: field (null, or {path, type, help,
 * default, required} of the field asked for; a parent only implied by deeper rows has type
 * "object"), fields (every row of the kind, envelope first, or those below the field, each
 * {path, type, help, default, required}; "*" stands for any key) and alsoServedBy (the
 * apiVersions of other groups with a kind of the same name, as arrays). help and default are
 * null when not declared. Errors, appended to d with a hint: CRATIS_ENOTFOUND for an unknown
 * kind ("did you mean" within distance 2, else the list of kinds), an unknown field ("did you
 * mean" among the fields at the deepest level that exists, else their list), or a field under
 * spec of a kind whose plugin declares no fields (said so). *out stays NULL on error. */
int schema_explain(json_t **out, const struct registry *reg, const char *query, struct diags *d);

#endif
