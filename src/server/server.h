/* `cratis serve`: the HTTP API over the application layer (src/app), with health checks,
 * Prometheus metrics, bearer-token authentication and policy-based authorisation
 * (docs/server.md). With src/cli, the only layer that reads flags and writes to the terminal. */
#ifndef CRATIS_SERVER_H
#define CRATIS_SERVER_H

#include <stdatomic.h>
#include <stdio.h>

#include "util/diag.h"

/* What the server is started with. Every pointer is borrowed for the duration of server_run. */
struct server_options {
	const char *listen;           /* "HOST:PORT", HOST an IPv4 address; port 0: any free port */
	const char *state_dir;        /* where projects.json, tokens.json and (by default) state.db live */
	const char *state_url;        /* the store every registered project is opened with; NULL:
	                               * sqlite:STATE_DIR/state.db */
	const char *policy_file;      /* Casbin-style CSV policy (auth.h), or NULL: built-in roles only */
	const char *tls_cert;         /* PEM certificate (chain) file: serve HTTPS; NULL: plain HTTP.
	                               * Given with tls_key or not at all */
	const char *tls_key;          /* its unencrypted PEM private key file */
	const char *oidc_issuer;      /* OpenID Connect: bearer JWTs of this issuer ("iss") are accepted;
	                               * NULL: none. Given with oidc_audience and oidc_jwks */
	const char *oidc_audience;    /* the audience ("aud") they must name */
	const char *oidc_jwks;        /* the issuer's JSON Web Key Set file (jwt.h) */
	const char *oidc_roles_claim; /* the claim listing roles (NULL: "groups"), each "role:NAME" */
	int jobs;                     /* parallel plugin calls of each plan and apply (>= 1) */
	int grace_ms;                 /* as app_options.grace_ms */
	int tick_ms;                  /* between two passes of the scheduler (scheduler.c): experiment
	                               * ticks and scheduled scale-downs; <= 0: 5000 */
	atomic_int *cancel;           /* set by a signal: stop accepting, cancel running applies,
	                               * wait for them, return */
	FILE *log;                    /* where the server says it listens, what it denies, and its
	                               * shutdown (one line each); never a token */
};

/* Serve the API until *o->cancel becomes non-zero, then shut down gracefully: stop accepting
 * connections, let requests being answered finish, let running applies see the cancellation
 * (running commands are interrupted as the CLI's Ctrl-C does, the deployment is recorded as
 * interrupted and the lock released), wait for them and return. Writes "listening on
 * http://HOST:PORT" (https:// with TLS) to o->log once accepting. Returns CRATIS_OK after a
 * shutdown, or a status with the problem in d: CRATIS_EINVAL (a bad listen address, an invalid
 * policy file, projects file, JWKS, TLS certificate or key, each located; tls_cert without
 * tls_key or an OIDC option without the others), CRATIS_ENOTFOUND (libmicrohttpd or libcrypto
 * cannot be loaded: its Debian package is named; libmicrohttpd built without TLS when tls_cert
 * is given), CRATIS_EIO (the state directory cannot be created, a file cannot be read, the
 * address cannot be bound). */
int server_run(const struct server_options *o, struct diags *d);

/* The OpenAPI 3.0 document of the API (src/server/openapi.c): static JSON text. */
extern const char server_openapi_json[];

#endif
