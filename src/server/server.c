/* `cratis serve`: set-up (state directory, store URL, policy, the projects registry: records of
 * kind "project" in the state store) around the HTTP loop of http.c. */
#define _GNU_SOURCE /* explicit_bzero */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "state/store.h"
#include "banned.h"

/* The projects of st as a new JSON array of their bodies ({name, path, registered}), by name. */
static int projects_read(struct store *st, json_t **out)
{
	struct records rs;
	*out = NULL;
	int rc = store_records(st, PROJECT_RECORD_KIND, "", &rs);
	if (!rc) {
		*out = json_array();
		for (size_t i = 0; i < rs.n; i++) {
			json_t *p = rs.v[i].body ? json_loads(rs.v[i].body, 0, NULL) : NULL;
			if (json_is_string(json_object_get(p, "name")) && json_is_string(json_object_get(p, "path")))
				json_array_append(*out, p);
			json_decref(p);
		}
	}
	store_records_release(&rs);
	return rc;
}

/* Record project p ({name, path, registered}) as new: CRATIS_EEXISTS when its name is taken. */
static int project_put(struct store *st, json_t *p)
{
	char *body = json_dumps(p, JSON_COMPACT | JSON_SORT_KEYS);
	struct record r = { .kind = (char *)PROJECT_RECORD_KIND, .scope = (char *)"",
	                    .name = (char *)json_string_value(json_object_get(p, "name")), .body = body };
	int rc = store_record_put(st, &r, 0, NULL);
	free(r.created);
	free(r.updated);
	free(body);
	return rc;
}

int server_projects_refresh(struct server *s)
{
	struct store *st = NULL;
	json_t *list = NULL;
	int rc = store_open(&st, s->state_url);
	if (!rc)
		rc = projects_read(st, &list);
	store_close(st);
	if (rc)
		return rc;
	pthread_mutex_lock(&s->mu);
	json_decref(s->projects);
	s->projects = list;
	pthread_mutex_unlock(&s->mu);
	return CRATIS_OK;
}

int server_projects_save(struct server *s)
{
	struct store *st = NULL;
	json_t *stored = NULL;
	int rc = store_open(&st, s->state_url);
	if (!rc)
		rc = projects_read(st, &stored);
	size_t i, k;
	json_t *p, *q;
	json_array_foreach(s->projects, i, p) {
		if (rc)
			break;
		const char *name = json_string_value(json_object_get(p, "name"));
		json_t *have = NULL;
		json_array_foreach(stored, k, q)
			if (!strcmp(json_string_value(json_object_get(q, "name")), name))
				have = q;
		if (have && json_equal(have, p))
			continue;
		if (have || (rc = project_put(st, p)) == CRATIS_EEXISTS)
			rc = error_set(CRATIS_EEXISTS, "project '%s' is already registered (by another server)", name);
	}
	json_decref(stored);
	store_close(st);
	return rc;
}

/* Validate the projects file of earlier versions (s->projects_path) and import it into st once
 * (then renamed PATH.imported); nothing to do when there is none. */
static int projects_import(struct server *s, struct store *st, struct diags *d)
{
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, s->projects_path, 16 << 20)) {
		int e = errno;
		buf_release(&b);
		if (e == ENOENT)
			return CRATIS_OK;
		diags_errorf(d, CRATIS_EIO, "cannot read '%s': %s", s->projects_path, strerror(e));
		return CRATIS_EIO;
	}
	json_error_t je;
	json_t *j = json_loadb(b.ptr, b.len, 0, &je);
	buf_release(&b);
	json_t *list = json_object_get(j, "projects");
	if (!json_is_array(list)) {
		struct diag *dg = diags_errorf(d, CRATIS_EINVAL, "%s", j ? "expected an object with a list 'projects'" : je.text);
		diag_locate(dg, s->projects_path, j ? 1 : je.line, j ? 1 : je.column, j ? "projects" : NULL);
		json_decref(j);
		return CRATIS_EINVAL;
	}
	size_t i;
	json_t *p;
	json_array_foreach(list, i, p) {
		if (!json_is_string(json_object_get(p, "name")) || !json_is_string(json_object_get(p, "path"))) {
			char *field = xasprintf("projects[%zu]", i);
			diag_locate(diags_errorf(d, CRATIS_EINVAL, "expected an object with a string name and path"),
			            s->projects_path, 0, 0, field);
			free(field);
			json_decref(j);
			return CRATIS_EINVAL;
		}
	}
	int rc = CRATIS_OK;
	size_t n = 0;
	json_array_foreach(list, i, p) {
		json_t *row = json_pack("{s:O, s:O, s:O?}", "name", json_object_get(p, "name"), "path",
		                        json_object_get(p, "path"), "registered", json_object_get(p, "registered"));
		int prc = project_put(st, row);
		json_decref(row);
		if (!prc)
			n++;
		else if (prc != CRATIS_EEXISTS) { /* EEXISTS: imported before, or by another server */
			rc = diags_add_last_error(d);
			break;
		}
	}
	json_decref(j);
	if (!rc) {
		char *done = xasprintf("%s.imported", s->projects_path);
		if (rename(s->projects_path, done) && errno != ENOENT) {
			diags_errorf(d, CRATIS_EIO, "cannot rename '%s' to '%s': %s", s->projects_path, done, strerror(errno));
			rc = CRATIS_EIO;
		} else {
			log_line(s, "imported %zu project%s from '%s' into the state store (the file is now %s)", n,
			         n == 1 ? "" : "s", s->projects_path, done);
		}
		free(done);
	}
	return rc;
}

/* Open the store, import the files of earlier versions (projects.json, tokens.json) once, and read
 * the projects registry into s->projects. */
static int projects_load(struct server *s, struct diags *d)
{
	struct store *st = NULL;
	size_t n = 0;
	int rc = store_open(&st, s->state_url);
	if (rc) {
		diags_add_last_error(d);
		return rc;
	}
	if (!(rc = projects_import(s, st, d))) {
		if ((rc = tokens_import(st, s->tokens_path, &n)))
			diags_add_last_error(d);
		else if (n)
			log_line(s, "imported %zu token%s from '%s' into the state store (the file is now %s.imported)", n,
			         n == 1 ? "" : "s", s->tokens_path, s->tokens_path);
	}
	if (!rc && (rc = projects_read(st, &s->projects)))
		diags_add_last_error(d);
	store_close(st);
	return rc;
}

/* The TLS and OIDC options go together: tls_cert with tls_key, the issuer with audience and JWKS. */
static int check_options(const struct server_options *o, struct diags *d)
{
	if (!o->tls_cert != !o->tls_key) {
		diags_errorf(d, CRATIS_EINVAL, "%s needs %s", o->tls_cert ? "--tls-cert" : "--tls-key",
		             o->tls_cert ? "--tls-key (the certificate's private key)" : "--tls-cert (the certificate)");
		return CRATIS_EINVAL;
	}
	bool any = o->oidc_issuer || o->oidc_audience || o->oidc_jwks || o->oidc_roles_claim;
	if (any && (!o->oidc_issuer || !o->oidc_audience || !o->oidc_jwks)) {
		diags_errorf(d, CRATIS_EINVAL, "OIDC needs --oidc-issuer URL, --oidc-audience AUD and --oidc-jwks FILE together "
		                               "(missing %s)",
		             !o->oidc_issuer ? "--oidc-issuer" : !o->oidc_audience ? "--oidc-audience" : "--oidc-jwks");
		return CRATIS_EINVAL;
	}
	if ((o->oidc_issuer && !*o->oidc_issuer) || (o->oidc_audience && !*o->oidc_audience) ||
	    (o->oidc_roles_claim && !*o->oidc_roles_claim)) {
		diags_errorf(d, CRATIS_EINVAL, "--oidc-issuer, --oidc-audience and --oidc-roles-claim must not be empty");
		return CRATIS_EINVAL;
	}
	return CRATIS_OK;
}

int server_run(const struct server_options *o, struct diags *d)
{
	struct server s;
	memset(&s, 0, sizeof(s));
	s.o = *o;
	int rc = check_options(o, d);
	if (rc)
		return rc;
	if (mkdir_p(o->state_dir)) {
		diags_errorf(d, CRATIS_EIO, "cannot create state directory '%s': %s", o->state_dir, strerror(errno));
		return CRATIS_EIO;
	}
	s.state_dir = abs_path(o->state_dir);
	if (!s.state_dir) {
		diags_errorf(d, CRATIS_EIO, "cannot resolve '%s': %s", o->state_dir, strerror(errno));
		return CRATIS_EIO;
	}
	s.state_url = o->state_url ? xstrdup(o->state_url) : xasprintf("sqlite:%s/state.db", s.state_dir);
	s.tokens_path = xasprintf("%s/tokens.json", s.state_dir);
	s.projects_path = xasprintf("%s/projects.json", s.state_dir);
	pthread_mutex_init(&s.mu, NULL);
	pthread_cond_init(&s.cond, NULL);
	pthread_mutex_init(&s.plugins_mu, NULL);
	s.oidc = (struct jwt_config){ o->oidc_issuer, o->oidc_audience, o->oidc_roles_claim, 60 };
	if (!(rc = authz_load(&s.authz, o->policy_file, d)) && !(rc = projects_load(&s, d)) &&
	    !(rc = o->oidc_jwks ? jwks_load(&s.jwks, o->oidc_jwks, d) : CRATIS_OK))
		rc = http_serve(&s, d);
	authz_release(&s.authz);
	jwks_free(s.jwks);
	free(s.tls_cert);
	if (s.tls_key)
		explicit_bzero(s.tls_key, strlen(s.tls_key));
	free(s.tls_key);
	json_decref(s.projects);
	pthread_cond_destroy(&s.cond);
	pthread_mutex_destroy(&s.plugins_mu);
	pthread_mutex_destroy(&s.mu);
	free(s.state_dir);
	free(s.state_url);
	free(s.tokens_path);
	free(s.projects_path);
	return rc;
}
