/* Built-in plugin `ssh`: the System type `ssh` (a machine reached with the OpenSSH client). It
 * declares the System's fields and closes the run's master connections when cratis unloads it;
 * the Task, File and Service plugins act on such a System through ../common/ssh.h.
 * docs/systems.md. */
#define _GNU_SOURCE
#include "../common/ssh.h"

static const struct cratis_host *host;

/* A System is declared as `apiVersion: cratis/v1, kind: System, spec.type: ssh`: this kind only
 * documents its fields and is never a resource itself. */
static int system_validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	host->error(req->call, NULL, "an ssh System is declared as 'apiVersion: cratis/v1, kind: System' with "
	            "'spec.type: ssh', not as a resource of ssh/v1");
	return CRATIS_EINVAL;
}

static int system_destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)req;
	(void)out;
	return CRATIS_OK;
}

/* The unload hook: the masters of this process end with the run (ssh -O exit). */
static void fini(void *data)
{
	(void)data;
	ssh_close_all();
}

static const struct cratis_ops system_ops = {
	.size = sizeof(struct cratis_ops), .validate = system_validate, .apply = system_validate, .destroy = system_destroy,
};
static const char *const versions[] = { "v1", NULL };
#define F(path, type, help, def, req) { sizeof(struct cratis_field), path, type, help, def, req }
static const struct cratis_field system_fields[] = {
	F("spec.host", "string", "host name or address of the machine", NULL, 1),
	F("spec.port", "integer", "its SSH port", "22", 0),
	F("spec.user", "string", "the user to log in as", "the local user", 0),
	F("spec.auth.identityFile.fromFile", "string", "private key file ssh reads, relative to the project (cratis never reads it)", NULL, 0),
	F("spec.auth.agent", "boolean", "use the SSH agent of $SSH_AUTH_SOCK", "false", 0),
	F("spec.knownHosts", "string", "known_hosts file the host key is checked against, relative to the project", "~/.ssh/known_hosts", 0),
	F("spec.hostKey", "string", "the host's public key, pinned: 'ssh-ed25519 AAAA...'", NULL, 0),
	F("spec.jump", "string", "a jump host [user@]host[:port] to connect through", NULL, 0),
	{ 0 },
};
#undef F
/* Kind System of group ssh: the fields of a `System` with `spec.type: ssh` (docs/plugins.md,
 * "System types"). */
static const struct cratis_handler system_handler = {
	sizeof(struct cratis_handler), "ssh", "System", versions, &system_ops, NULL, system_fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "ssh", "0.1.0", fini, NULL);
	if (!rc)
		rc = ctx->register_handler(ctx, &system_handler);
	return rc;
}
