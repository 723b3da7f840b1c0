/* The command table: what every command and flag of cratis is, in one place (see commands.h).
 * Help text, usage errors, completion and the man pages are generated from it. */
#include "commands.h"

#include <stddef.h>
#include <string.h>

#include "banned.h"

#define AT(field) offsetof(struct cli_ctx, field)

const struct cli_flag cli_flags[FL__COUNT] = {
	[FL_FILE] = { "file", 'f', NULL, "PATH", FT_LIST, AT(files), 0, 0, NULL, ".", NULL, "[-f PATH]...", CC_FILE,
	              "manifest file or directory, searched for *.yaml and *.yml; repeatable. The first one's "
	              "directory is the project directory, which holds .cratis/" },
	[FL_FILE_LONG] = { "file", 0, NULL, "PATH", FT_LIST, AT(files), 0, 0, NULL, ".", NULL, "[--file PATH]...", CC_FILE,
	                   "manifest file or directory; repeatable (-f is --follow here)" },
	[FL_ENV] = { "env", 0, NULL, "NAME", FT_STRING, AT(env), 0, 0, NULL, NULL, NULL, NULL, CC_ENV,
	             "environment to act on; required when the project defines several" },
	[FL_JOBS] = { "jobs", 'j', NULL, "N", FT_INT, AT(jobs), 1, 1024, "a number of parallel jobs from 1 to 1024", "4",
	              NULL, "[-j N]", CC_NONE,
	              "parallel resource operations: plan's refresh, apply and destroy" },
	[FL_OUTPUT] = { "output", 'o', NULL, "FORMAT", FT_FORMAT, AT(output), 0, 0, NULL, "text", NULL, NULL, CC_FORMAT,
	                "output format" },
	[FL_APPROVE] = { "auto-approve", 0, NULL, NULL, FT_SWITCH, AT(auto_approve), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                 "go ahead without asking; without a terminal cratis refuses to ask, so scripts need it" },
	[FL_DETAILED] = { "detailed-exitcode", 0, NULL, NULL, FT_SWITCH, AT(detailed_exitcode), 0, 0, NULL, NULL, NULL, NULL,
	                  CC_NONE, "exit 2 when the plan has changes and 0 when it has none" },
	[FL_REFRESH] = { "refresh", 0, NULL, NULL, FT_SWITCH, AT(refresh), 0, 0, NULL, "true", NULL, "[--refresh=false]",
	                 CC_NONE, "observe unchanged resources for drift; --refresh=false plans from the recorded state "
	                 "alone" },
	[FL_LOCK] = { "lock-timeout", 0, NULL, "SECONDS", FT_SECONDS, AT(lock_timeout_ms), 0, 86400,
	              "seconds from 0 to 86400 (e.g. 30)", "0", NULL, NULL, CC_NONE,
	              "wait up to SECONDS for the environment's lock when another run holds it, instead of failing "
	              "at once (exit 3)" },
	[FL_GRACE] = { "grace", 0, NULL, "SECONDS", FT_GRACE, AT(grace_ms), 0, 86400,
	               "seconds from 0 to 86400 (e.g. 10)", "10", NULL, NULL, CC_NONE,
	               "after Ctrl-C or SIGTERM, how long running commands get to exit before they are killed (0: at "
	               "once)" },
	[FL_FORCE] = { "force", 0, NULL, NULL, FT_SWITCH, AT(force), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	               "release the lock even when its holder still runs" },
	/* rollout rollback --force */
	[FL_FORCE_RELEASE] = { "force", 0, NULL, NULL, FT_SWITCH, AT(force), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                       "put the release live even though it failed its checks (or never passed its exit tests)" },
	[FL_DRYRUN] = { "dry-run", 0, NULL, NULL, FT_SWITCH, AT(dry_run), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                "say what would be tagged and change nothing" },
	[FL_HISTORY] = { "history", 0, NULL, NULL, FT_SWITCH, AT(history), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                 "every recorded version, not only the current one" },
	[FL_TO_ENV] = { "to", 0, NULL, "ENV", FT_STRING, AT(to), 0, 0, NULL, NULL, NULL, NULL, CC_ENV,
	                "environment to deploy to" },
	[FL_TO_RELEASE] = { "to", 0, NULL, "RELEASE", FT_STRING, AT(to), 0, 0, NULL, "the previous release", NULL, NULL,
	                    CC_NONE, "release to roll back to" },
	[FL_FROM] = { "from", 0, NULL, "ENV", FT_STRING, AT(from), 0, 0, NULL, NULL, NULL, NULL, CC_ENV,
	              "environment whose last successful deployment is promoted" },
	[FL_TARGET] = { "target", 0, "target", "ADDR", FT_LIST, AT(targets), 0, 0, NULL, NULL, NULL, "[-target ADDR]...",
	                CC_ADDRESS,
	                "limit the run to resource ADDR (Kind/name) and what it depends on (destroy: what depends on "
	                "it); repeatable. The run is partial and says so" },
	[FL_OUT] = { "out", 0, "out", "FILE", FT_STRING, AT(plan_out), 0, 0, NULL, NULL, NULL, "[-out FILE]", CC_FILE,
	             "save the plan to FILE, for `cratis apply FILE`" },
	[FL_STREAM] = { "stream", 0, NULL, NULL, FT_SWITCH, AT(stream), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                "print each Task's output lines as they come, prefixed by its address" },
	[FL_FOLLOW] = { "follow", 'f', NULL, NULL, FT_SWITCH, AT(follow), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                "keep printing lines as they are written, until interrupted" },
	[FL_TAIL] = { "tail", 0, NULL, "N", FT_INT, AT(tail), -1, 1000000000, "a number of lines (-1: all)", "-1", NULL,
	              NULL, CC_NONE, "print only the last N lines (-1: all)" },
	[FL_SINCE] = { "since", 0, NULL, "DURATION", FT_STRING, AT(since), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	               "only lines newer than DURATION (30s, 10m, 2h)" },
	[FL_PROVIDER] = { "provider", 0, NULL, "PROVIDER", FT_STRING, AT(provider), 0, 0, NULL, NULL,
	                  NULL, NULL, CC_NONE, "the cloud provider: aws, gcp or azure (render: default the Environment's "
	                  "spec.provider; transform: required; cost: a comma-separated list, default all three)" },
	[FL_OUT_DIR] = { "output-dir", 'o', NULL, "DIR", FT_STRING, AT(out_dir), 0, 0, NULL, NULL, NULL, "-o DIR", CC_DIR,
	                 "directory the OpenTofu root module is written to (required)" },
	[FL_DENY_LOCK_IN] = { "deny-lock-in", 0, NULL, NULL, FT_SWITCH, AT(deny_lock_in), 0, 0, NULL, NULL, NULL, NULL,
	                      CC_NONE, "make lock-in warnings (provider-only options) errors, for CI" },
	[FL_INPUT] = { "input", 'i', NULL, "FILE|DIR", FT_STRING, AT(input), 0, 0, NULL, "standard input", NULL, NULL, CC_FILE,
	               "the Python file, or a directory whose *.py files are transformed" },
	[FL_OUT_PATH] = { "output", 'o', NULL, "FILE|DIR", FT_STRING, AT(out_path), 0, 0, NULL, "standard output", NULL, NULL,
	                  CC_FILE, "where the transformed file (or directory, with requirements.txt) goes" },
	[FL_CHECK] = { "check", 0, NULL, NULL, FT_SWITCH, AT(check), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	               "write nothing; exit 1 when a file would change" },
	[FL_DIFF] = { "diff", 0, NULL, NULL, FT_SWITCH, AT(diff), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	              "transform: print what would change as a unified diff; cost: price the manifests "
	              "against what state records, per resource the monthly change" },
	[FL_RULES] = { "rules", 0, NULL, "PATH", FT_LIST, AT(rules), 0, 0, NULL, "$CRATIS_RULES_PATH, then the installed plugins",
	               NULL, "[--rules PATH]...", CC_FILE,
	               "a rules.yaml file or a directory searched for */transformations/rules.yaml; repeatable" },
	[FL_RELEASE] = { "release", 0, NULL, "WHICH", FT_STRING, AT(release), 0, 0, NULL, "current", NULL, NULL, CC_NONE,
	                 "for a Rollout: the current (active) release or the preview one" },
	[FL_USAGE] = { "usage", 0, NULL, "FILE", FT_STRING, AT(usage), 0, 0, NULL, NULL, NULL, NULL, CC_FILE,
	               "usage of the usage-based cost components, in the shape of Infracost's infracost-usage.yml "
	               "(resource_usage by Kind/name, resource_type_default_usage by Kind)" },
	/* state migrate */
	[FL_TO_STATE] = { "to", 0, NULL, "URL", FT_STRING, AT(to), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                  "the state store to copy into (sqlite:PATH, postgres://...): it must hold no cratis data" },
	[FL_FROM_STATE] = { "from", 0, NULL, "URL", FT_STRING, AT(from), 0, 0, NULL, "the current store (--state)", NULL,
	                    NULL, CC_NONE, "the state store to copy from; never written" },
	/* plugin install, remove */
	[FL_SHA256] = { "sha256", 0, NULL, "HEX", FT_STRING, AT(sha256), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                "the archive's SHA-256 (64 hex digits): the install is refused when it differs" },
	[FL_GLOBAL] = { "global", 0, NULL, NULL, FT_SWITCH, AT(global), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                "the user's plugin directory ($XDG_DATA_HOME/cratis/plugins, else ~/.local/share/cratis/plugins) "
	                "instead of the project's .cratis/plugins" },
	/* serve, token */
	[FL_LISTEN] = { "listen", 0, NULL, "HOST:PORT", FT_STRING, AT(listen), 0, 0, NULL, "127.0.0.1:8080", NULL, NULL,
	                CC_NONE, "address to listen on: an IPv4 address and a port (0: any free port)" },
	[FL_POLICY] = { "policy", 0, NULL, "FILE", FT_STRING, AT(policy), 0, 0, NULL, NULL, NULL, NULL, CC_FILE,
	                "access policy in the Casbin / Argo CD CSV form (p and g lines); without it only the built-in "
	                "roles role:admin and role:readonly are allowed anything" },
	[FL_SUBJECT] = { "subject", 0, NULL, "NAME", FT_STRING, AT(subject), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                 "who the token stands for (a user or a machine)" },
	[FL_ROLE] = { "role", 0, NULL, "ROLE", FT_STRING, AT(role), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	              "the token's role, as the policy names it (deployer or role:deployer)" },
	[FL_EXPIRES] = { "expires", 0, NULL, "DURATION", FT_STRING, AT(expires), 0, 0, NULL, "never", NULL, NULL, CC_NONE,
	                 "how long the token is valid (30m, 12h, 90d)" },
	/* serve: TLS, OIDC */
	[FL_TLS_CERT] = { "tls-cert", 0, NULL, "FILE", FT_STRING, AT(tls_cert), 0, 0, NULL, NULL, NULL, NULL, CC_FILE,
	                  "serve HTTPS with this PEM certificate (chain); needs --tls-key" },
	[FL_TLS_KEY] = { "tls-key", 0, NULL, "FILE", FT_STRING, AT(tls_key), 0, 0, NULL, NULL, NULL, NULL, CC_FILE,
	                 "the certificate's unencrypted PEM private key" },
	[FL_OIDC_ISSUER] = { "oidc-issuer", 0, NULL, "URL", FT_STRING, AT(oidc_issuer), 0, 0, NULL, NULL, NULL, NULL,
	                     CC_NONE, "accept bearer JWTs (RS256, ES256) of this OpenID Connect issuer (their iss); "
	                     "needs --oidc-audience and --oidc-jwks" },
	[FL_OIDC_AUDIENCE] = { "oidc-audience", 0, NULL, "AUD", FT_STRING, AT(oidc_audience), 0, 0, NULL, NULL, NULL, NULL,
	                       CC_NONE, "the audience (aud) the JWTs must name: the server's client id" },
	[FL_OIDC_JWKS] = { "oidc-jwks", 0, NULL, "FILE", FT_STRING, AT(oidc_jwks), 0, 0, NULL, NULL, NULL, NULL, CC_FILE,
	                   "the issuer's signing keys: a JSON Web Key Set file (its jwks_uri, downloaded)" },
	[FL_OIDC_ROLES] = { "oidc-roles-claim", 0, NULL, "CLAIM", FT_STRING, AT(oidc_roles_claim), 0, 0, NULL, "groups",
	                    NULL, NULL, CC_NONE, "the JWT claim listing the subject's roles; each NAME is role:NAME" },
	/* events */
	[FL_EVENTS_TIMEOUT] = { "events-timeout", 0, NULL, "SECONDS", FT_SECONDS, AT(events_timeout_ms), 0, 86400,
	                        "seconds from 0 to 86400 (e.g. 10)", "10", NULL, NULL, CC_NONE,
	                        "deliver pending events to the Project's sinks for at most SECONDS at the end; the rest "
	                        "stays in the outbox for the next run or `cratis events deliver`" },
	[FL_EVENTS_SINCE] = { "since", 0, NULL, "SEQ|TIME", FT_STRING, AT(events_since), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                      "events after sequence number SEQ, or from RFC 3339 time TIME on" },
	[FL_EVENTS_TYPE] = { "type", 0, NULL, "TYPE", FT_STRING, AT(events_type), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                     "events of this type, or of a prefix ending in '*' (dev.cratis.resource.*)" },
	[FL_EVENTS_SINK] = { "sink", 0, NULL, "SINK", FT_STRING, AT(events_sink), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                     "only this sink" },
	/* agent */
	[FL_SERVER] = { "server", 0, NULL, "URL", FT_STRING, AT(server), 0, 0, NULL, NULL, "CRATIS_SERVER", NULL, CC_NONE,
	                "the cratis serve to take work from (http://HOST:PORT)" },
	[FL_SYSTEM] = { "system", 0, NULL, "NAME", FT_STRING, AT(system), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                "the pull-mode System (spec.agent: true) this agent applies" },
	[FL_TOKEN_FILE] = { "token-file", 0, NULL, "FILE", FT_STRING, AT(token_file), 0, 0, NULL, NULL, "CRATIS_TOKEN_FILE",
	                    NULL, CC_FILE, "file holding the bearer token (cratis token create); its first line is used" },
	[FL_AGENT_DIR] = { "dir", 0, NULL, "DIR", FT_STRING, AT(agent_dir), 0, 0, NULL, ".cratis-agent", NULL, NULL, CC_DIR,
	                   "the agent's own state directory: its state store, generation and last work" },
	[FL_INTERVAL] = { "interval", 0, NULL, "SECONDS", FT_SECONDS, AT(interval_ms), 1, 86400,
	                  "seconds from 1 to 86400 (e.g. 30)", "30", NULL, NULL, CC_NONE,
	                  "apply the last work again at least this often, repairing drift, even without new work" },
	/* experiment */
	[FL_WATCH] = { "watch", 'w', NULL, NULL, FT_SWITCH, AT(watch), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	               "print the status again every --interval until the experiment ends" },
	[FL_TICK_INTERVAL] = { "interval", 0, NULL, "SECONDS", FT_SECONDS, AT(interval_ms), 0.1, 86400,
	                  "seconds from 0.1 to 86400 (e.g. 10)", "10", NULL, NULL, CC_NONE,
	                  "time between two ticks of the decision loop (run) or two prints (status --watch)" },
	/* serve: the scheduler (experiment ticks, scheduled scale-downs) */
	[FL_SERVE_TICK] = { "tick", 0, NULL, "SECONDS", FT_SECONDS, AT(interval_ms), 0.1, 86400,
	                    "seconds from 0.1 to 86400 (e.g. 5)", "5", NULL, NULL, CC_NONE,
	                    "time between two passes of the scheduler: experiment ticks and scheduled scale-downs" },
	[FL_WINNER] = { "winner", 0, NULL, "VARIANT", FT_STRING, AT(winner), 0, 0, NULL, "the decided winner", NULL, NULL, CC_NONE,
	                "the variant to promote (the control: keep it)" },
	[FL_VERBOSE] = { "verbose", 'v', NULL, NULL, FT_SWITCH, AT(verbose), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                 "debug output and notes" },
	[FL_NO_COLOR] = { "no-color", 0, NULL, NULL, FT_SWITCH, AT(no_color), 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	                  "no colour; there is none either when NO_COLOR is set or the output is not a terminal" },
	[FL_STATE_DIR] = { "state-dir", 0, NULL, "DIR", FT_STRING, AT(state_dir), 0, 0, NULL, "PROJECT/.cratis",
	                   "CRATIS_STATE_DIR", NULL, CC_DIR, "state directory" },
	[FL_STATE] = { "state", 0, NULL, "URL", FT_STRING, AT(state_url), 0, 0, NULL, "Project spec.state.url, else sqlite:STATE_DIR/state.db",
	               "CRATIS_STATE", NULL, CC_NONE, "state store" },
	[FL_HELP] = { "help", 'h', NULL, NULL, FT_HELP, 0, 0, 0, NULL, NULL, NULL, NULL, CC_NONE,
	              "show this help" },
};

#define X_OK { 0, "success" }
#define X_ERROR { 1, "error: invalid manifests (nothing was changed), plugin or state failure" }
#define X_LOCKED { 3, "the environment is locked by another run (the holder is named)" }
#define X_USAGE { 64, "usage error: unknown flag or subcommand, stray or missing argument, unsupported -o format" }
#define X_SIGNALS { 130, "interrupted by SIGINT (143: SIGTERM): nothing new started, running commands stopped, " \
	                  "the deployment recorded as interrupted, the lock released" }
#define X_END { -1, NULL }

const struct cli_exit cli_exit_codes[] = {
	{ 0, "success (plan: no changes with --detailed-exitcode)" },
	{ 1, "error: invalid manifests, plugin failure, failed or partial apply" },
	{ 2, "plan --detailed-exitcode: there are changes" },
	X_LOCKED,
	X_USAGE,
	X_SIGNALS,
	X_END,
};

static const struct cli_exit ex_query[] = { X_OK, X_ERROR, X_USAGE, X_END };
static const struct cli_exit ex_plan[] = {
	{ 0, "success; with --detailed-exitcode: no changes" },
	{ 1, "error: invalid manifests, plugin failure, a failed refresh" },
	{ 2, "with --detailed-exitcode: the plan has changes" },
	X_USAGE, X_END,
};
static const struct cli_exit ex_apply[] = {
	{ 0, "success, nothing to do, or not confirmed" },
	{ 1, "error: invalid manifests (nothing was changed), a failed or skipped resource (a partial run)" },
	X_LOCKED, X_USAGE, X_SIGNALS, X_END,
};
static const struct cli_exit ex_locked[] = { X_OK, X_ERROR, X_LOCKED, X_USAGE, X_END };
static const struct cli_exit ex_validate[] = {
	{ 0, "the manifests are valid" },
	{ 1, "they are not: each problem printed with its file:line:col" },
	X_USAGE, X_END,
};
static const struct cli_exit ex_version[] = {
	X_OK,
	{ 1, "version check: the branch's policy refuses the version (the rule is named); or an unreadable project" },
	X_USAGE, X_END,
};

#define COMMON (FLAG(FL_FILE) | FLAG(FL_ENV))
#define RUN_FLAGS (COMMON | FLAG(FL_JOBS) | FLAG(FL_APPROVE) | FLAG(FL_LOCK) | FLAG(FL_REFRESH) | FLAG(FL_GRACE) | \
                   FLAG(FL_TARGET) | FLAG(FL_STREAM) | FLAG(FL_OUTPUT) | FLAG(FL_EVENTS_TIMEOUT))
#define END_SUBS { NULL, NULL, NULL, 0, 0, CC_NONE, 0, NULL, NULL, NULL, NULL, NULL, false, false, NULL }

static const struct cli_example ex_plan_examples[] = {
	{ "the plan of environment staging", "cratis plan --env staging" },
	{ "as a pull-request comment", "cratis plan --env staging -o markdown > plan.md" },
	{ "in CI: exit 2 when something would change", "cratis plan --env production --detailed-exitcode" },
	{ "save it, then apply exactly that plan", "cratis plan --env staging -out staging.plan" },
	{ NULL, NULL },
};
static const struct cli_example ex_apply_examples[] = {
	{ "plan, confirm and apply", "cratis apply --env staging" },
	{ "in a script, waiting up to a minute for the lock", "cratis apply --env staging --auto-approve --lock-timeout 60" },
	{ "one resource and what it depends on", "cratis apply --env staging -target Service/web" },
	{ NULL, NULL },
};
static const struct cli_example ex_destroy_examples[] = {
	{ "remove everything recorded for staging", "cratis destroy --env staging --auto-approve" },
	{ NULL, NULL },
};
static const struct cli_example ex_get_examples[] = {
	{ NULL, "cratis get --env staging" },
	{ "for a script", "cratis get --env staging -o json" },
	{ NULL, NULL },
};
static const struct cli_example ex_history_examples[] = {
	{ "the deployments of staging", "cratis history --env staging" },
	{ "the steps of deployment 12", "cratis history 12" },
	{ NULL, NULL },
};
static const struct cli_example ex_plugin_examples[] = {
	{ NULL, "cratis plugin list" },
	{ "install from a URL, checking its checksum", "cratis plugin install https://example.com/echo-1.2.0.tar.gz --sha256 HEX" },
	{ "remove it", "cratis plugin remove echo" },
	{ NULL, NULL },
};
static const struct cli_example ex_state_examples[] = {
	{ "recorded resources and held locks", "cratis state list --env staging" },
	{ "one resource's recorded spec and outputs", "cratis state show Service/web --env staging -o json" },
	{ "release the lock of a run that died", "cratis state unlock 42" },
	{ "forget a resource (it keeps running)", "cratis state rm Service/old --env staging" },
	{ "rename without destroying", "cratis state mv Service/web Service/frontend --env staging" },
	{ "move the state to a shared PostgreSQL database", "cratis state migrate --to 'postgres://deploy@db.internal/ops'" },
	{ NULL, NULL },
};
static const struct cli_example ex_version_examples[] = {
	{ "cratis' own version", "cratis version" },
	{ "the project's version and what the branch policy says", "cratis version show" },
	{ "in CI, before publishing", "cratis version check" },
	{ NULL, NULL },
};
static const struct cli_example ex_release_examples[] = {
	{ NULL, "cratis release --dry-run" },
	{ NULL, "cratis release && git push origin --tags" },
	{ NULL, NULL },
};
static const struct cli_example ex_promote_examples[] = {
	{ NULL, "cratis promote --from staging --to production" },
	{ NULL, NULL },
};
static const struct cli_example ex_rollout_examples[] = {
	{ NULL, "cratis rollout status --env production" },
	{ NULL, "cratis rollout promote web --env production" },
	{ NULL, "cratis rollout rollback web --env production" },
	{ NULL, NULL },
};
static const struct cli_example ex_experiment_examples[] = {
	{ "after cratis apply started it: decide, ticking every 10 s", "cratis experiment run checkout --env production" },
	{ NULL, "cratis experiment status checkout --env production -o json" },
	{ "promotion: manual", "cratis experiment conclude checkout --env production" },
	{ NULL, "cratis experiment abort checkout --env production" },
	{ NULL, NULL },
};
static const struct cli_example ex_artifact_examples[] = {
	{ "after pushing an image", "cratis artifact record app 1.2.0 sha256:4f2a..." },
	{ NULL, "cratis artifact list app --history" },
	{ NULL, NULL },
};
static const struct cli_example ex_output_examples[] = {
	{ "every output of staging", "cratis output --env staging" },
	{ "one, unquoted, for a script", "curl \"$(cratis output url --env staging -o raw)\"" },
	{ NULL, NULL },
};
static const struct cli_example ex_logs_examples[] = {
	{ NULL, "cratis logs Service/web --env staging --tail 50" },
	{ "follow a Rollout's current release", "cratis logs Rollout/web -f --env production" },
	{ NULL, NULL },
};
static const struct cli_example ex_env_examples[] = {
	{ NULL, "cratis env list" },
	{ NULL, NULL },
};
static const struct cli_example ex_render_examples[] = {
	{ "the production environment for its provider", "cratis render --env production -o infra/production" },
	{ "the same manifests for another provider", "cratis render --env production --provider gcp -o /tmp/gcp" },
	{ NULL, NULL },
};
static const struct cli_exit ex_render[] = {
	X_OK,
	{ 1, "error: invalid manifests or capabilities, or a lock-in warning with --deny-lock-in; nothing was rendered" },
	X_USAGE, X_END,
};
static const struct cli_example ex_cost_examples[] = {
	{ "the production environment on aws, gcp and azure side by side", "cratis cost --env production" },
	{ "two providers, with expected usage", "cratis cost --env production --provider aws,gcp --usage usage.yml" },
	{ "what a change of the manifests costs per month", "cratis cost --env production --diff" },
	{ NULL, NULL },
};
static const struct cli_exit ex_cost[] = {
	X_OK,
	{ 1, "error: invalid manifests, usage file or cost model, a failing formula, or a lock-in warning with --deny-lock-in" },
	X_USAGE, X_END,
};
static const struct cli_example ex_transform_examples[] = {
	{ "an application directory, for AWS", "cratis transform --provider aws -i app -o build/app" },
	{ "in CI: would anything change?", "cratis transform --provider gcp -i app --check --diff" },
	{ NULL, NULL },
};
static const struct cli_exit ex_transform[] = {
	X_OK,
	{ 1, "error: a file could not be transformed (file:line:col named), bad rules, --check found changes, or a lock-in warning with --deny-lock-in" },
	X_USAGE, X_END,
};
static const struct cli_example ex_explain_examples[] = {
	{ NULL, "cratis explain Service" },
	{ NULL, "cratis explain Service.health" },
	{ NULL, NULL },
};
static const struct cli_example ex_validate_examples[] = {
	{ NULL, "cratis validate" },
	{ "diagnostics for an editor or CI", "cratis validate -o json" },
	{ NULL, NULL },
};
static const struct cli_example ex_completion_examples[] = {
	{ "bash, for the current shell", "source <(cratis completion bash)" },
	{ "bash, for every shell", "cratis completion bash > ~/.local/share/bash-completion/completions/cratis" },
	{ "zsh (with compinit)", "cratis completion zsh > \"${fpath[1]}/_cratis\"" },
	{ "fish", "cratis completion fish > ~/.config/fish/completions/cratis.fish" },
	{ NULL, NULL },
};
static const struct cli_example ex_help_examples[] = {
	{ NULL, "cratis help apply" },
	{ NULL, "cratis help state rm" },
	{ NULL, NULL },
};

static const struct cli_command plugin_subs[] = {
	{ "list", "the loaded plugins: name, version, form, fields, kinds, path", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "install", "install a plugin from a .tar.gz path or URL (checksum, ABI and dependencies checked)", "PATH|URL", 1, 1,
	  CC_FILE, FLAG(FL_FILE) | FLAG(FL_SHA256) | FLAG(FL_GLOBAL) | FLAG(FL_OUTPUT), "text|json",
	  "Unpacks a .tar.gz of a plugin (a .so or an exec plugin folder with plugin.yaml) into the\n"
	  "project's .cratis/plugins (--global: the user's plugin directory), after checking the\n"
	  "checksum (--sha256), the member names, the ABI and the dependency ranges; an older version\n"
	  "is replaced with one rename. Project installs are recorded in .cratis/plugins.lock.",
	  NULL, NULL, NULL, false, false, NULL },
	{ "remove", "remove an installed plugin", "NAME", 1, 1, CC_NONE, FLAG(FL_FILE) | FLAG(FL_GLOBAL), NULL,
	  "Removes NAME from the project's .cratis/plugins (--global: the user's plugin directory) and\n"
	  "its entry of .cratis/plugins.lock.", NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

static const struct cli_command events_subs[] = {
	{ "list", "the events of the outbox, oldest first", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT) | FLAG(FL_EVENTS_SINCE) | FLAG(FL_EVENTS_TYPE), "text|json",
	  "-o json prints each in the CloudEvents JSON format with its sequence number (seq).", NULL, NULL, NULL, false,
	  false, NULL },
	{ "tail", "print events as they are written, until Ctrl-C", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT) | FLAG(FL_EVENTS_SINCE) | FLAG(FL_EVENTS_TYPE), "text|json",
	  "Polls the outbox every 500 ms. Without --since it starts at the end (only new events); -o json\n"
	  "prints one CloudEvents JSON line per event. SIGINT or SIGTERM ends it (exit 0).", NULL, NULL, NULL, false,
	  false, NULL },
	{ "deliver", "deliver pending events to the Project's sinks now", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT) | FLAG(FL_EVENTS_TIMEOUT), "text|json",
	  "Per sink: delivered, dead-lettered, skipped (filtered out) and left pending.", NULL, NULL, NULL, false, false,
	  NULL },
	{ "redeliver", "deliver an event again, or every event since a time", "[ID]", 0, 1, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_EVENTS_SINK) | FLAG(FL_EVENTS_SINCE), NULL,
	  "Resets the deliveries (delivered, dead or pending) of event ID, or with --sink S --since TIME of\n"
	  "every event from TIME on; the next delivery sends them again.", NULL, NULL, NULL, false, false, NULL },
	{ "enable", "enable a sink a 410 Gone disabled; its pending events go out again", "SINK", 1, 1, CC_NONE,
	  FLAG(FL_FILE), NULL, NULL, NULL, NULL, NULL, false, false, NULL },
	{ "sinks", "the sinks of the manifests: status, backlog, last error", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

static const struct cli_command state_subs[] = {
	{ "list", "the recorded resources of the environment and every held lock", NULL, 0, 0, CC_NONE,
	  COMMON | FLAG(FL_OUTPUT), "text|json",
	  "Without --env: the environment of the latest deployment.", NULL, NULL, NULL, false, false, NULL },
	{ "show", "one recorded resource: status, spec, outputs, the deployment that wrote it", "ADDRESS", 1, 1,
	  CC_ADDRESS, COMMON | FLAG(FL_OUTPUT), "text|json",
	  "ADDRESS is Kind/name, or project/Kind/name when several projects define it.", NULL, NULL, NULL, false, false,
	  NULL },
	{ "unlock", "release the lock LOCK_ID (from state list) of a run that is gone", "LOCK_ID", 1, 1, CC_NONE,
	  COMMON | FLAG(FL_OUTPUT) | FLAG(FL_FORCE), "text|json",
	  "A holder that is alive (on this host with a running pid, or elsewhere with an unexpired lease) is\n"
	  "refused unless --force; a dead holder's deployment is closed as interrupted.",
	  NULL, NULL, NULL, false, false, NULL },
	{ "rm", "forget resources: state no longer records them, the things themselves stay", "ADDRESS...", 1, -1, CC_ADDRESS,
	  COMMON | FLAG(FL_LOCK), NULL,
	  "Takes the environment's lock, is recorded in history, and is refused for a resource that is\n"
	  "pending. The next plan proposes to create it again unless its manifest is removed too.",
	  NULL, NULL, NULL, false, false, NULL },
	{ "mv", "rename a recorded resource without destroying it", "OLD NEW", 2, 2, CC_ADDRESS,
	  COMMON | FLAG(FL_LOCK), NULL,
	  "For a resource renamed in its manifest: the next plan sees the new name as unchanged instead of\n"
	  "a delete and a create. Locked, recorded in history, refused for a pending resource.",
	  NULL, NULL, NULL, false, false, NULL },
	{ "migrate", "copy the whole state into another store (sqlite <-> postgres), verified", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT) | FLAG(FL_TO_STATE) | FLAG(FL_FROM_STATE), "text|json",
	  "Copies resources, deployments, steps, artifacts, releases and the event outbox (not locks) in\n"
	  "one transaction on the target, reads them back and compares row counts and SHA-256 digests.\n"
	  "The source (--from, else the store other commands open: --state, CRATIS_STATE, Project\n"
	  "spec.state.url or the project's SQLite file) is never written. Refused while the source holds\n"
	  "a lock, and when the target already holds cratis data (nothing is written). Then point\n"
	  "--state, CRATIS_STATE or spec.state.url at the target.",
	  NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

#define EXPERIMENT_FLAGS (COMMON | FLAG(FL_OUTPUT) | FLAG(FL_LOCK) | FLAG(FL_EVENTS_TIMEOUT))
static const struct cli_command experiment_subs[] = {
	{ "status", "variants, exposures, values, lifts with intervals, p-values, guardrails and the verdict so far", "[NAME]", 0, 1,
	  CC_NONE, COMMON | FLAG(FL_OUTPUT) | FLAG(FL_WATCH) | FLAG(FL_TICK_INTERVAL), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "run", "the decision loop: tick every --interval until the experiment concludes", "[NAME]", 0, 1, CC_NONE,
	  EXPERIMENT_FLAGS | FLAG(FL_TICK_INTERVAL), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "conclude", "promote the decided winner (or --winner VARIANT) by hand", "NAME", 1, 1, CC_NONE,
	  EXPERIMENT_FLAGS | FLAG(FL_WINNER), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "abort", "stop the experiment: the Route back to the live release, the variants stopped", "NAME", 1, 1, CC_NONE,
	  EXPERIMENT_FLAGS, "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

static const struct cli_command version_subs[] = {
	{ "show", "the project's version, where it comes from, the branch, its rule and the verdict", NULL, 0, 0,
	  CC_NONE, FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "check", "exit 1 naming the rule when the branch's policy refuses the project's version", NULL, 0, 0,
	  CC_NONE, FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

#define ROLLOUT_FLAGS (COMMON | FLAG(FL_OUTPUT) | FLAG(FL_LOCK) | FLAG(FL_EVENTS_TIMEOUT))
static const struct cli_command rollout_subs[] = {
	{ "status", "releases that run: id, colour, status, stage, age, port, health", "[NAME]", 0, 1, CC_ROLLOUT,
	  ROLLOUT_FLAGS, "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "promote", "promote the release in preview (manual promotion)", "[NAME]", 0, 1, CC_ROLLOUT,
	  ROLLOUT_FLAGS, "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "abort", "tear down the release in preview", "[NAME]", 0, 1, CC_ROLLOUT,
	  ROLLOUT_FLAGS, "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "rollback", "switch traffic back to the previous release (or --to RELEASE) at once", "[NAME]", 0, 1,
	  CC_ROLLOUT, ROLLOUT_FLAGS | FLAG(FL_TO_RELEASE) | FLAG(FL_FORCE_RELEASE), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "history", "every release with its stages", "[NAME]", 0, 1, CC_ROLLOUT,
	  ROLLOUT_FLAGS, "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

static const struct cli_command artifact_subs[] = {
	{ "record", "record that artifact NAME VERSION has DIGEST", "NAME VERSION DIGEST", 3, 3, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json",
	  "What a pipeline calls after pushing an image or package. A different digest for a recorded stable\n"
	  "version is refused (exit 1); a snapshot's replaces the previous one, which history keeps.",
	  NULL, NULL, NULL, false, false, NULL },
	{ "list", "the recorded artifacts (of NAME), newest first", "[NAME]", 0, 1, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT) | FLAG(FL_HISTORY), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

/* serve, token */
static const struct cli_example ex_serve_examples[] = {
	{ "serve the API on the default address", "cratis serve" },
	{ "on a shared PostgreSQL state, with a policy", "cratis serve --listen 127.0.0.1:9090 --state postgres://cratis@db/cratis --policy policy.csv" },
	{ NULL, NULL },
};
static const struct cli_exit ex_serve[] = {
	{ 0, "stopped by SIGINT or SIGTERM after a graceful shutdown" },
	{ 1, "cannot start: an address in use, an invalid policy or projects file, libmicrohttpd missing" },
	X_USAGE, X_END,
};
/* agent */
static const struct cli_example ex_agent_examples[] = {
	{ "apply System web-1's work from a server", "cratis agent --server http://10.0.0.5:8080 --system web-1 --token-file /etc/cratis/token" },
	{ "reconcile every 10 seconds, state kept in /var/lib/cratis-agent", "cratis agent --server http://127.0.0.1:8080 --system web-1 --interval 10 --dir /var/lib/cratis-agent" },
	{ NULL, NULL },
};
static const struct cli_exit ex_agent[] = {
	{ 0, "stopped by SIGINT or SIGTERM (a running apply is interrupted as Ctrl-C does)" },
	{ 1, "cannot run: the server refuses the token (401, 403), libcurl missing, the directory unusable" },
	X_USAGE, X_END,
};
static const struct cli_example ex_token_examples[] = {
	{ "a token for CI that may deploy to staging", "cratis token create --subject ci --role deployer --expires 90d" },
	{ NULL, "cratis token list" },
	{ NULL, "cratis token revoke 3f2a9c0d1e4b5a6f" },
	{ NULL, NULL },
};
static const struct cli_command token_subs[] = {
	{ "create", "create a token and print it once", NULL, 0, 0, CC_NONE,
	  FLAG(FL_SUBJECT) | FLAG(FL_ROLE) | FLAG(FL_EXPIRES), NULL, NULL, NULL, NULL, NULL, false, false, NULL },
	{ "list", "the tokens: id, subject, role, created, expires (never the secret)", NULL, 0, 0, CC_NONE,
	  FLAG(FL_OUTPUT), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	{ "revoke", "remove a token: the server refuses it from the next request on", "ID", 1, 1, CC_NONE, 0, NULL, NULL,
	  NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

static const struct cli_command env_subs[] = {
	{ "list", "the project's environments with their systems and last deployment", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json", NULL, NULL, NULL, NULL, false, false, NULL },
	END_SUBS,
};

const struct cli_command cli_commands[] = {
	{ "plan", "show what apply would change", NULL, 0, 0, CC_NONE,
	  COMMON | FLAG(FL_OUTPUT) | FLAG(FL_DETAILED) | FLAG(FL_REFRESH) | FLAG(FL_JOBS) | FLAG(FL_TARGET) | FLAG(FL_OUT) |
	  FLAG(FL_DENY_LOCK_IN),
	  "text|json|markdown",
	  "Diff the manifests against the recorded state of the environment: a line per resource with its\n"
	  "action (create, update, replace, delete, no-op), the fields that change and why when it is not a\n"
	  "spec change (drift, an interrupted run). Unless --refresh=false, resources that did not change are\n"
	  "observed, -j at a time, so drift shows. Nothing is changed and no lock is taken.\n\n"
	  "-o json is the plan for programs, -o markdown a pull-request comment with a collapsible block per\n"
	  "change.",
	  ex_plan_examples, ex_plan, NULL, false, false, cmd_plan },
	{ "apply", "make the environment match the manifests, or apply a saved plan", "[PLAN]", 0, 1, CC_FILE, RUN_FLAGS, NULL,
	  "Take the environment's lock, plan, show the plan and ask for confirmation (--auto-approve skips\n"
	  "it; without a terminal cratis refuses to ask), then create, update, replace and delete resources\n"
	  "as a dependency graph, -j at a time. Every step and the deployment are recorded (cratis history).\n\n"
	  "Ctrl-C (or SIGTERM) starts nothing new, sends SIGTERM to running commands and SIGKILL to what is\n"
	  "left after --grace, records the run as interrupted and releases the lock; a second Ctrl-C stops\n"
	  "at once. Progress and diagnostics go to stderr, results to stdout.",
	  ex_apply_examples, ex_apply, NULL, false, false, cmd_apply },
	{ "destroy", "remove everything recorded for the environment", NULL, 0, 0, CC_NONE, RUN_FLAGS, NULL,
	  "Delete every resource state records for the environment, dependents first, with the same lock,\n"
	  "confirmation, parallelism and interruption rules as apply.",
	  ex_destroy_examples, ex_apply, NULL, false, false, cmd_destroy },
	{ "get", "resources with their recorded status", NULL, 0, 0, CC_NONE, COMMON | FLAG(FL_OUTPUT), "text|json",
	  "Every resource of the manifests with its status in the environment: ready, pending, failed,\n"
	  "absent, or orphaned (recorded, no longer in the manifests), when it was updated and its outputs.",
	  ex_get_examples, ex_query, NULL, false, false, cmd_get },
	{ "history", "deployments, or the steps of one", "[ID]", 0, 1, CC_NONE, COMMON | FLAG(FL_OUTPUT), "text|json",
	  "Without ID: the deployments of the environment (every environment without --env), newest first:\n"
	  "id, who, when, the command, the result. With ID: that deployment's steps.",
	  ex_history_examples, ex_query, NULL, false, false, cmd_history },
	{ "plugin", "the plugins cratis loaded; install and remove them", NULL, 0, 0, CC_NONE, 0, NULL,
	  "Plugins are searched in CRATIS_PLUGIN_PATH, the project's .cratis/plugins and the installed\n"
	  "plugin directory (docs/plugins.md).",
	  ex_plugin_examples, ex_query, plugin_subs, false, false, cmd_plugin },
	{ "state", "inspect and repair recorded state", NULL, 0, 0, CC_NONE, 0, NULL,
	  "What cratis recorded about an environment's resources and the locks runs hold. rm and mv are\n"
	  "state surgery, like terraform state rm and mv: they change the record, never the resources.",
	  ex_state_examples, ex_locked, state_subs, false, false, cmd_state },
	{ "events", "the event outbox: list, tail, deliver, redeliver, enable, sinks", NULL, 0, 0, CC_NONE, 0, NULL,
	  "Every deployment, resource change and lock is recorded as a CloudEvent in the same transaction\n"
	  "as the change; apply and destroy deliver them to the Project's sinks at their end\n"
	  "(--events-timeout), at least once and in order per subject (docs/events.md).",
	  NULL, ex_query, events_subs, false, false, cmd_events },
	{ "version", "cratis' version, or the project's", NULL, 0, 0, CC_NONE, FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json",
	  "Without a subcommand: cratis' version and plugin ABI. show and check read the project's version\n"
	  "(pom.xml, package.json, VERSION) and its branch policy (docs/versioning.md).",
	  ex_version_examples, ex_version, version_subs, true, false, cmd_version },
	{ "release", "tag a new stable version vX.Y.Z on HEAD", NULL, 0, 0, CC_NONE, FLAG(FL_FILE) | FLAG(FL_DRYRUN), NULL,
	  "On a stable branch, when the project's version is not yet released: create the annotated tag\n"
	  "vX.Y.Z on HEAD. Refused when the tag exists on another commit; says so and exits 0 when there is\n"
	  "nothing to do. Tags are local: push them with git push origin --tags.",
	  ex_release_examples, ex_query, NULL, false, false, cmd_release },
	{ "promote", "deploy to one environment what another last deployed successfully", NULL, 0, 0, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_FROM) | FLAG(FL_TO_ENV) | FLAG(FL_JOBS) | FLAG(FL_APPROVE) | FLAG(FL_LOCK) | FLAG(FL_GRACE) |
	  FLAG(FL_EVENTS_TIMEOUT),
	  NULL,
	  "Apply --to with the artifacts and promoted variables of --from's last successful deployment\n"
	  "(Project spec.promotion). Refused when --from's last deployment failed or was a destroy.",
	  ex_promote_examples, ex_apply, NULL, false, false, cmd_promote },
	{ "rollout", "steer the blue/green releases of a Rollout", NULL, 0, 0, CC_NONE, 0, NULL,
	  "NAME is the Rollout's name, needed when the environment has several. promote, abort and rollback\n"
	  "take the environment's lock (docs/releases.md).",
	  ex_rollout_examples, ex_locked, rollout_subs, false, false, cmd_rollout },
	{ "experiment", "run, watch and conclude an Experiment: variants under a split, the winner promoted", NULL, 0, 0,
	  CC_NONE, 0, NULL,
	  "cratis apply starts an Experiment (its variants beside the Rollout's live release, the split\n"
	  "live); experiment run decides and promotes the winner, or keeps the control. run, conclude and\n"
	  "abort take the environment's lock for each write (docs/experiments.md).",
	  ex_experiment_examples, ex_locked, experiment_subs, false, false, cmd_experiment },
	{ "artifact", "the artifact registry: record and list versions and digests", NULL, 0, 0, CC_NONE, 0, NULL,
	  "Stable versions are immutable, snapshots may be recorded again. In manifests, ${artifact:NAME} is\n"
	  "the digest recorded last and ${artifact:NAME.version} its version.",
	  ex_artifact_examples, ex_query, artifact_subs, false, false, cmd_artifact },
	{ "output", "the project's outputs as the last apply left them", "[NAME]", 0, 1, CC_NONE,
	  COMMON | FLAG(FL_OUTPUT), "text|json|raw",
	  "Project spec.outputs, like terraform output: every output, or the one called NAME. Sensitive\n"
	  "outputs show as (sensitive) unless named. -o raw prints one output's value alone, for scripts.",
	  ex_output_examples, ex_query, NULL, false, false, cmd_output },
	{ "logs", "the output of a Service (or a Rollout's release)", "ADDRESS", 1, 1, CC_ADDRESS,
	  FLAG(FL_FILE_LONG) | FLAG(FL_ENV) | FLAG(FL_FOLLOW) | FLAG(FL_TAIL) | FLAG(FL_SINCE) | FLAG(FL_RELEASE), NULL,
	  "Print what Service ADDRESS (Kind/name) wrote, like kubectl logs. For a Rollout: its current\n"
	  "release, or the preview one while there is one.",
	  ex_logs_examples, ex_query, NULL, false, false, cmd_logs },
	{ "env", "the project's environments", NULL, 0, 0, CC_NONE, 0, NULL, NULL,
	  ex_env_examples, ex_query, env_subs, false, false, cmd_env },
	{ "explain", "the kinds, or the fields of a kind: types, defaults and help", "[KIND[.FIELD]]", 0, 1, CC_NONE,
	  FLAG(FL_FILE) | FLAG(FL_OUTPUT), "text|json",
	  "Like kubectl explain: the fields of a core kind or of a plugin's kind that declares its fields,\n"
	  "or of one field (Service.health).",
	  ex_explain_examples, ex_query, NULL, false, false, cmd_explain },
	{ "validate", "check the manifests offline", NULL, 0, 0, CC_NONE, COMMON | FLAG(FL_OUTPUT) | FLAG(FL_JOBS), "text|json",
	  "Every check that needs neither state nor the systems: YAML, kinds, fields, variables, scope,\n"
	  "dependencies, and each plugin's validate. -o json prints the diagnostics for editors and CI.",
	  ex_validate_examples, ex_validate, NULL, false, false, cmd_validate },
	{ "render", "an environment's capabilities as an OpenTofu root module", NULL, 0, 0, CC_NONE,
	  COMMON | FLAG(FL_PROVIDER) | FLAG(FL_OUT_DIR) | FLAG(FL_DENY_LOCK_IN), NULL,
	  "Render the capability resources (WebApplication, ObjectStorage, RelationalDatabase, MessageQueue,\n"
	  "Cache) of the environment for its provider (or --provider) into DIR: module calls, provider\n"
	  "blocks, outputs and the modules themselves, byte for byte the same for the same input. A\n"
	  "provider-only option is a lock-in warning (an error with --deny-lock-in). docs/capabilities.md.",
	  ex_render_examples, ex_render, NULL, false, false, cmd_render },
	{ "cost", "the monthly cost of an environment's capabilities on each provider", NULL, 0, 0, CC_NONE,
	  COMMON | FLAG(FL_PROVIDER) | FLAG(FL_USAGE) | FLAG(FL_DIFF) | FLAG(FL_DENY_LOCK_IN) | FLAG(FL_OUTPUT), "table|json",
	  "Price the capability resources of the environment with the plugins' cost models\n"
	  "(cost_models/PROVIDER.yaml): per resource and cost component the monthly quantity, unit price and\n"
	  "monthly cost on each provider side by side (730 hours a month), totals, and the cheapest provider\n"
	  "per resource and overall. Usage-based components take their quantity from --usage FILE; without\n"
	  "it they show as usage-based and count 0. --diff prices the manifests against the specs state\n"
	  "records (default: the Environment's provider). -o json uses Infracost's field names.\n"
	  "docs/capabilities.md.",
	  ex_cost_examples, ex_cost, NULL, false, false, cmd_cost },
	{ "transform", "rewrite provider-agnostic SDK calls in Python code for one provider", NULL, 0, 0, CC_NONE,
	  FLAG(FL_PROVIDER) | FLAG(FL_INPUT) | FLAG(FL_OUT_PATH) | FLAG(FL_CHECK) | FLAG(FL_DIFF) | FLAG(FL_RULES) | FLAG(FL_DENY_LOCK_IN), NULL,
	  "Calls of the infrar SDK (storage, database, messaging) become the provider's own code (boto3,\n"
	  "google.cloud, azure, psycopg2) by the capability plugins' transformations/rules.yaml; everything\n"
	  "else stays byte for byte. Running it again changes nothing. A provider-specific SDK module\n"
	  "(infrar.aws.*) is kept with a lock-in warning (an error with --deny-lock-in). docs/transform.md.",
	  ex_transform_examples, ex_transform, NULL, false, false, cmd_transform },
	{ "serve", "serve the HTTP API: projects, plans, deployments, health and metrics", NULL, 0, 0, CC_NONE,
	  FLAG(FL_LISTEN) | FLAG(FL_POLICY) | FLAG(FL_JOBS) | FLAG(FL_GRACE) | FLAG(FL_TLS_CERT) | FLAG(FL_TLS_KEY) |
	  FLAG(FL_OIDC_ISSUER) | FLAG(FL_OIDC_AUDIENCE) | FLAG(FL_OIDC_JWKS) | FLAG(FL_OIDC_ROLES) | FLAG(FL_SERVE_TICK), NULL,
	  "Serve the REST API under /v1 (GET /v1/openapi.json describes it), /livez and /readyz, and\n"
	  "/metrics for Prometheus. Projects are registered by directory (POST /v1/projects) as records\n"
	  "of the server's state store (--state), which they use. Every /v1 route needs a bearer token\n"
	  "(cratis token create, or an OIDC JWT with --oidc-issuer) whose role the policy allows; with\n"
	  "--tls-cert and --tls-key the server speaks HTTPS only. SIGINT or SIGTERM stops\n"
	  "accepting, interrupts running deployments as Ctrl-C does, waits for them and exits 0.\n"
	  "docs/server.md.",
	  ex_serve_examples, ex_serve, NULL, false, false, cmd_serve },
	{ "agent", "apply a pull-mode System's deployments from cratis serve on its host", NULL, 0, 0, CC_NONE,
	  FLAG(FL_SERVER) | FLAG(FL_SYSTEM) | FLAG(FL_TOKEN_FILE) | FLAG(FL_AGENT_DIR) | FLAG(FL_INTERVAL) | FLAG(FL_JOBS) |
	          FLAG(FL_GRACE),
	  NULL,
	  "Ask the server for the work of a System marked spec.agent: true (a long poll of\n"
	  "GET /v1/agents/NAME/work), apply the resources on that System with the same engine as\n"
	  "cratis apply, with its own state in --dir, and report the result (POST\n"
	  "/v1/agents/NAME/reports). The last work is applied again every --interval, repairing drift.\n"
	  "An unreachable server is retried with backoff; the generation is kept across restarts.\n"
	  "SIGINT or SIGTERM interrupts a running apply as Ctrl-C does and exits 0. docs/agents.md.",
	  ex_agent_examples, ex_agent, NULL, false, false, cmd_agent },
	{ "token", "bearer tokens of cratis serve", NULL, 0, 0, CC_NONE, 0, NULL,
	  "Tokens are kept in the state store (--state, else STATE_DIR/state.db, as cratis serve) as salted\n"
	  "SHA-256 hashes: a token is shown once, when it is created. Every server on the store reads it on\n"
	  "each request, so a revoked token is refused at once.",
	  ex_token_examples, ex_query, token_subs, false, false, cmd_token },
	{ "completion", "print the shell completion script for bash, zsh or fish", "SHELL", 1, 1, CC_SHELL, 0, NULL,
	  "The script completes commands, subcommands, flags, -o formats and, by asking cratis, the\n"
	  "environments (--env) and resource addresses (Kind/name) of the project in the current directory\n"
	  "(or -f's). It takes no lock and changes nothing.",
	  ex_completion_examples, ex_query, NULL, false, false, cmd_completion },
	{ "help", "help on a command", "[COMMAND [SUBCOMMAND]]", 0, 2, CC_COMMAND, 0, NULL,
	  "The same text as cratis COMMAND --help; without COMMAND, the list of commands.",
	  ex_help_examples, ex_query, NULL, false, false, cmd_help },
	{ "__complete", "completion candidates for the shell scripts", "WORD...", 0, -1, CC_NONE, 0, NULL, NULL,
	  NULL, ex_query, NULL, false, true, cmd___complete },
	{ "__man", "write the man pages", "--dir DIR NAME...", 0, -1, CC_NONE, 0, NULL, NULL,
	  NULL, ex_query, NULL, false, true, cmd___man },
	END_SUBS,
};

const struct cli_command *cli_find(const struct cli_command *parent, const char *name)
{
	const struct cli_command *t = parent ? parent->subs : cli_commands;
	for (; t && t->name; t++)
		if (!strcmp(t->name, name))
			return t;
	return NULL;
}

bool cli_has_format(const struct cli_command *cmd, const char *format)
{
	if (!strcmp(format, "text"))
		return true;
	size_t n = strlen(format);
	for (const char *p = cmd->formats; p && *p;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);
		if (len == n && !strncmp(p, format, n))
			return true;
		p = bar ? bar + 1 : p + len;
	}
	return false;
}
