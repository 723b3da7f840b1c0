/* `cratis serve`: set-up (state directory, store URL, policy, the projects registry in
 * STATE_DIR/projects.json) around the HTTP loop of http.c. */
#define _GNU_SOURCE /* explicit_bzero */
#include "http.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "error.h"
#include "banned.h"

int server_projects_save(struct server *s)
{
	char *tmp = xasprintf("%s.tmp.%ld", s->projects_path, (long)getpid());
	int rc = CRATIS_OK;
	json_t *doc = json_pack("{s:O}", "projects", s->projects);
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(doc);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	size_t len = text ? strlen(text) : 0;
	if (fd < 0 || !text || write(fd, text, len) != (ssize_t)len || fsync(fd)) {
		rc = error_set(CRATIS_EIO, "cannot write '%s': %s", tmp, strerror(errno));
		if (fd >= 0)
			unlink(tmp);
	} else if (rename(tmp, s->projects_path)) {
		rc = error_set(CRATIS_EIO, "cannot rename '%s': %s", tmp, strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	free(text);
	free(tmp);
	return rc;
}

static int projects_load(struct server *s, struct diags *d)
{
	struct buf b = BUF_INIT;
	if (buf_read_file(&b, s->projects_path, 16 << 20)) {
		int e = errno;
		buf_release(&b);
		if (e == ENOENT) {
			s->projects = json_array();
			return CRATIS_OK;
		}
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
	s->projects = json_incref(list);
	json_decref(j);
	return CRATIS_OK;
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
