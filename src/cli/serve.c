/* cratis serve: the HTTP API (src/server) on the flags' address, state and policy. */
#include <stdio.h>

#include "cli.h"
#include "server/server.h"
#include "banned.h"

int cmd_serve(int argc, char **argv, struct cli_ctx *ctx)
{
	(void)argc; /* flags and arguments: ctx, parsed from the command table */
	(void)argv;
	/* flags that go together: a usage error when one is missing */
	if (!ctx->tls_cert != !ctx->tls_key) {
		fprintf(stderr, "error: serve: %s needs %s\n", ctx->tls_cert ? "--tls-cert" : "--tls-key",
		        ctx->tls_cert ? "--tls-key (the certificate's private key)" : "--tls-cert (the certificate)");
		return EXIT_USAGE;
	}
	if ((ctx->oidc_issuer || ctx->oidc_audience || ctx->oidc_jwks || ctx->oidc_roles_claim) &&
	    (!ctx->oidc_issuer || !ctx->oidc_audience || !ctx->oidc_jwks)) {
		fprintf(stderr, "error: serve: OIDC needs --oidc-issuer URL, --oidc-audience AUD and --oidc-jwks FILE together "
		                "(missing %s)\n",
		        !ctx->oidc_issuer ? "--oidc-issuer" : !ctx->oidc_audience ? "--oidc-audience" : "--oidc-jwks");
		return EXIT_USAGE;
	}
	struct server_options o = {
		.listen = ctx->listen ? ctx->listen : "127.0.0.1:8080",
		.state_dir = ctx->state_dir ? ctx->state_dir : ".cratis",
		.state_url = ctx->state_url,
		.policy_file = ctx->policy,
		.tls_cert = ctx->tls_cert,
		.tls_key = ctx->tls_key,
		.oidc_issuer = ctx->oidc_issuer,
		.oidc_audience = ctx->oidc_audience,
		.oidc_jwks = ctx->oidc_jwks,
		.oidc_roles_claim = ctx->oidc_roles_claim,
		.jobs = ctx->jobs,
		.grace_ms = ctx->grace_ms,
		.tick_ms = ctx->interval_ms > 0 ? ctx->interval_ms : 5000,
		.cancel = ctx->cancel,
		.log = stderr,
	};
	struct diags d = DIAGS_INIT;
	int rc = server_run(&o, &d);
	print_errors(ctx, &d);
	diags_release(&d);
	return rc ? EXIT_ERROR : EXIT_OK;
}
