/* Built-in plugin `router`: kind Route (router/v1). Runs cratis' own nginx instance per Route
 * (prefix, configuration, pid and logs in the resource's statedir; no system configuration is
 * touched) that proxies a public listen address to the active upstream and, optionally, a preview
 * address to the preview upstream; with spec.split the public address deals each user to one of N
 * variants instead (nginx split_clients over a user id, for experiments). A spec change is
 * applied with a graceful reload (`nginx -s reload`: new workers take new connections, old ones
 * finish theirs), never a restart.
 * Fields: docs/manifests.md#route. nginx directives: https://nginx.org/en/docs/ */
#define _GNU_SOURCE
#include <dirent.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "../common/proc.h"
#include "log_format.h"

static const struct cratis_host *host;

/* "127.0.0.1:8080", or a bare port meaning 127.0.0.1:PORT; NULL when unusable. Caller frees. */
static char *address(json_t *v)
{
	char buf[300];
	if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) < 65536)
		snprintf(buf, sizeof(buf), "127.0.0.1:%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_string(v) && strchr(json_string_value(v), ':') && strlen(json_string_value(v)) < 256 &&
	         strspn(json_string_value(v), "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:[]") == json_string_length(v))
		snprintf(buf, sizeof(buf), "%s", json_string_value(v));
	else if (json_is_string(v) && strspn(json_string_value(v), "0123456789") == json_string_length(v) && json_string_length(v) &&
	         json_string_length(v) < 6)
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", json_string_value(v));
	else
		return NULL;
	return strdup(buf);
}

/* True when v is one address (is_upstream false) or, for an upstream, an address or a non-empty
 * sequence of them. */
static bool addr_ok(json_t *v, bool is_upstream)
{
	if (json_is_array(v)) {
		bool ok = is_upstream && json_array_size(v) > 0;
		for (size_t k = 0; k < json_array_size(v) && ok; k++) {
			char *a = address(json_array_get(v, k));
			ok = a != NULL;
			free(a);
		}
		return ok;
	}
	char *a = address(v);
	bool ok = a != NULL;
	free(a);
	return ok;
}

/* Check the address at field (a listen address, or an upstream); 0 or CRATIS_EINVAL, error set. */
static int check_addr(const struct cratis_request *req, json_t *v, const char *field, bool is_upstream)
{
	if (addr_ok(v, is_upstream))
		return CRATIS_OK;
	host->error(req->call, field, "expected %s as HOST:PORT or a port number%s",
	            is_upstream ? "the backend address" : "the address to listen on", is_upstream ? " (or a sequence of them)" : "");
	return CRATIS_EINVAL;
}

/* Check one {listen, upstream} pair at field; 0 or CRATIS_EINVAL with the error set. The upstream
 * may be absent when upstream_optional. */
static int check_pair(const struct cratis_request *req, json_t *o, const char *field, bool upstream_optional)
{
	char f[64];
	snprintf(f, sizeof(f), "%slisten", field);
	int rc = check_addr(req, json_object_get(o, "listen"), f, false);
	json_t *up = json_object_get(o, "upstream");
	if (!rc && (up || !upstream_optional)) {
		snprintf(f, sizeof(f), "%supstream", field);
		rc = check_addr(req, up, f, true);
	}
	return rc;
}

/* The dealer (spec.split, docs/manifests.md#route): N variants behind the public address. */
#define SPLIT_MIN 2
#define SPLIT_MAX 16
enum stickiness { STICKY_COOKIE, STICKY_HEADER, STICKY_NONE };
struct split_variant {
	const char *name;            /* borrowed from the spec */
	json_t *upstream;            /* borrowed */
	double weight;
	int hundredths;              /* share of the users in 0.01 %, the N shares sum to 10000 */
};
struct split {
	const char *key, *cookie, *user_header, *pin_header;   /* borrowed */
	enum stickiness stickiness;
	char *access_log;            /* owned: absolute path */
	size_t n;
	struct split_variant v[SPLIT_MAX];
};

/* True when s is 1..max characters, each a letter, a digit or one of extra. */
static bool word_ok(const char *s, size_t max, const char *extra)
{
	size_t n = s ? strlen(s) : 0;
	if (n == 0 || n > max)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || strchr(extra, *p)))
			return false;
	return true;
}

/* An optional string field k of o: *out = its value, or def when absent. False (error set at
 * where.k) when present but not a string matching word_ok(max, extra); what says what is expected. */
static bool split_word(const struct cratis_request *req, json_t *o, const char *k, const char *def, size_t max,
                       const char *extra, const char *what, const char **out)
{
	json_t *v = json_object_get(o, k);
	*out = v ? (json_is_string(v) ? json_string_value(v) : NULL) : def;
	if (*out && word_ok(*out, max, extra))
		return true;
	char f[64];
	snprintf(f, sizeof(f), "spec.split.%s", k);
	host->error(req->call, f, "expected %s", what);
	return false;
}

/* Share out 10000 hundredths of a percent by weight, largest remainder first, so that they sum to
 * exactly 100 %. Returns the index of a variant whose share rounds to 0 (nginx's split_clients
 * step is 0.01 %), or -1. */
static int split_shares(struct split *sp)
{
	double total = 0, frac[SPLIT_MAX];
	for (size_t i = 0; i < sp->n; i++)
		total += sp->v[i].weight;
	int given = 0;
	for (size_t i = 0; i < sp->n; i++) {
		double exact = sp->v[i].weight / total * 10000.0;
		sp->v[i].hundredths = (int)exact;
		frac[i] = exact - sp->v[i].hundredths;
		given += sp->v[i].hundredths;
	}
	for (; given < 10000; given++) {
		size_t best = 0;
		for (size_t i = 1; i < sp->n; i++)
			if (frac[i] > frac[best])
				best = i;
		sp->v[best].hundredths++;
		frac[best] = -1;
	}
	for (size_t i = 0; i < sp->n; i++)
		if (sp->v[i].hundredths < 1)
			return (int)i;
	return -1;
}

/* Read and check spec.split of s into *sp (borrowing from s; release with split_release).
 * Returns 0, or CRATIS_EINVAL with the error set naming the field. */
static int split_parse(const struct cratis_request *req, json_t *s, struct split *sp)
{
	memset(sp, 0, sizeof(*sp));
	json_t *o = json_object_get(s, "split");
	char f[80];
	if (!json_is_object(o)) {
		host->error(req->call, "spec.split", "expected a mapping with key and variants");
		return CRATIS_EINVAL;
	}
	const char *st = NULL;
	if (!json_object_get(o, "key")) {
		host->error(req->call, "spec.split", "expected a key (the salt of the split's hash)");
		return CRATIS_EINVAL;
	}
	if (!split_word(req, o, "key", NULL, 128, "_-.:/", "the salt of the split: 1 to 128 letters, digits, '_', '-', '.', ':' or '/'", &sp->key) ||
	    !split_word(req, o, "stickiness", "cookie", 16, "", "cookie, header or none", &st) ||
	    !split_word(req, o, "cookie", "cratis_uid", 64, "_", "a cookie name: 1 to 64 letters, digits or '_'", &sp->cookie) ||
	    !split_word(req, o, "userHeader", "X-User-Id", 64, "-", "a header name: 1 to 64 letters, digits or '-'", &sp->user_header) ||
	    !split_word(req, o, "pinHeader", "X-Cratis-Variant", 64, "-", "a header name: 1 to 64 letters, digits or '-'", &sp->pin_header))
		return CRATIS_EINVAL;
	if (strcmp(st, "cookie") == 0) {
		sp->stickiness = STICKY_COOKIE;
	} else if (strcmp(st, "header") == 0) {
		sp->stickiness = STICKY_HEADER;
	} else if (strcmp(st, "none") == 0) {
		sp->stickiness = STICKY_NONE;
	} else {
		host->error(req->call, "spec.split.stickiness", "expected cookie, header or none, not '%s'", st);
		return CRATIS_EINVAL;
	}
	json_t *al = json_object_get(o, "accessLog");
	if (al) {
		const char *p = json_is_string(al) ? json_string_value(al) : "";
		bool ok = *p;
		for (const char *c = p; *c && ok; c++)
			ok = (unsigned char)*c >= 0x20 && *c != 0x7f && *c != '$';
		if (!ok) {
			host->error(req->call, "spec.split.accessLog", "expected a file path (no control character or '$')");
			return CRATIS_EINVAL;
		}
		sp->access_log = spec_path(req, p);
	} else {
		sp->access_log = join(req->statedir, "access.log");
	}
	json_t *vs = json_object_get(o, "variants");
	if (!json_is_array(vs) || json_array_size(vs) < SPLIT_MIN || json_array_size(vs) > SPLIT_MAX) {
		host->error(req->call, "spec.split.variants", "expected a sequence of %d to %d variants, each {name, weight, upstream}",
		            SPLIT_MIN, SPLIT_MAX);
		return CRATIS_EINVAL;
	}
	sp->n = json_array_size(vs);
	for (size_t i = 0; i < sp->n; i++) {
		json_t *v = json_array_get(vs, i);
		struct split_variant *sv = &sp->v[i];
		if (!json_is_object(v)) {
			snprintf(f, sizeof(f), "spec.split.variants[%zu]", i);
			host->error(req->call, f, "expected a mapping with name, weight and upstream");
			return CRATIS_EINVAL;
		}
		json_t *name = json_object_get(v, "name"), *w = json_object_get(v, "weight");
		sv->name = json_is_string(name) ? json_string_value(name) : NULL;
		if (!word_ok(sv->name, 64, "_-")) {
			snprintf(f, sizeof(f), "spec.split.variants[%zu].name", i);
			host->error(req->call, f, "expected a variant name: 1 to 64 letters, digits, '_' or '-'");
			return CRATIS_EINVAL;
		}
		for (size_t k = 0; k < i; k++)
			if (strcasecmp(sp->v[k].name, sv->name) == 0) {
				/* nginx's map compares case-insensitively: a pin could not tell them apart */
				snprintf(f, sizeof(f), "spec.split.variants[%zu].name", i);
				host->error(req->call, f, "expected a name not used by another variant (case-insensitively): '%s' is variants[%zu]",
				            sv->name, k);
				return CRATIS_EINVAL;
			}
		sv->weight = w ? (json_is_number(w) ? json_number_value(w) : -1) : 1;
		if (!(sv->weight > 0) || sv->weight > 1e12) {
			snprintf(f, sizeof(f), "spec.split.variants[%zu].weight", i);
			host->error(req->call, f, "expected a number > 0 (and at most 1e12)");
			return CRATIS_EINVAL;
		}
		sv->upstream = json_object_get(v, "upstream");
		snprintf(f, sizeof(f), "spec.split.variants[%zu].upstream", i);
		if (check_addr(req, sv->upstream, f, true))
			return CRATIS_EINVAL;
	}
	int tiny = split_shares(sp);
	if (tiny >= 0) {
		double total = 0;
		for (size_t i = 0; i < sp->n; i++)
			total += sp->v[i].weight;
		snprintf(f, sizeof(f), "spec.split.variants[%d].weight", tiny);
		host->error(req->call, f, "expected at least 0.01%% of the total weight (the step of nginx's split_clients): %g of %g is %.4g%%",
		            sp->v[tiny].weight, total, sp->v[tiny].weight / total * 100);
		return CRATIS_EINVAL;
	}
	return CRATIS_OK;
}

static void split_release(struct split *sp)
{
	free(sp->access_log);
	sp->access_log = NULL;
}

static int validate(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	json_t *s = spec_parse(req, 0);
	json_t *so = json_object_get(s, "split");
	int rc = check_pair(req, s, "spec.", so != NULL);
	json_t *pv = json_object_get(s, "preview");
	if (!rc && pv && !json_is_object(pv)) {
		host->error(req->call, "spec.preview", "expected a mapping with listen and upstream");
		rc = CRATIS_EINVAL;
	} else if (!rc && pv) {
		rc = check_pair(req, pv, "spec.preview.", false);
	}
	if (!rc && so) {
		struct split sp;
		rc = split_parse(req, s, &sp);
		split_release(&sp);
	}
	json_decref(s);
	return rc;
}

/* "upstream NAME { server ...; keepalive 16; }" for up (an address or a sequence of them). */
static void put_upstream(FILE *f, const char *name, json_t *up)
{
	fprintf(f, "    upstream %s {\n", name);
	for (size_t k = 0; k < (json_is_array(up) ? json_array_size(up) : 1); k++) {
		char *a = address(json_is_array(up) ? json_array_get(up, k) : up);
		fprintf(f, "        server %s max_fails=0;\n", a);
		free(a);
	}
	fprintf(f, "        keepalive 16;\n    }\n");
}

/* The proxying lines of a location: to upstream target (a name, or a name with a variable). */
static void put_proxy(FILE *f, const char *target)
{
	fprintf(f, "            proxy_pass http://%s;\n", target);
	fprintf(f, "            proxy_set_header Host $host;\n            proxy_set_header Connection \"\";\n");
	fprintf(f, "            proxy_next_upstream error timeout http_502;\n");
}

static void add_server(FILE *f, const char *name, json_t *pair)
{
	char *listen = address(json_object_get(pair, "listen"));
	put_upstream(f, name, json_object_get(pair, "upstream"));
	fprintf(f, "    server {\n        listen %s;\n        location / {\n", listen);
	put_proxy(f, name);
	fprintf(f, "        }\n    }\n");
	free(listen);
}

/* Write s to f as one double-quoted nginx configuration token: '"' and '\' escaped with a
 * backslash, the only escapes nginx's parser gives meaning to besides \t, \r and \n
 * (src/core/ngx_conf_file.c, ngx_conf_read_token). A value with a control character is refused:
 * false, nothing written. Spaces, ';', '{', '}', '#' and '$' are literal inside the quotes for
 * the directives this plugin writes (pid, error_log, *_temp_path: no variables). */
static bool put_quoted(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return false;
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fputc('\\', f);
		fputc(*p, f);
	}
	fputc('"', f);
	return true;
}

/* Write s into a comment line: control characters (which would end the comment) become '?'. */
static void put_comment_text(FILE *f, const char *s)
{
	for (const char *p = s; *p; p++)
		fputc((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p, f);
}

/* "DIRECTIVE "STATEDIR/SUFFIX"[ REST];\n" with the path quoted; false when the statedir is refused. */
static bool put_path_directive(FILE *f, const char *indent, const char *directive, const char *statedir,
                               const char *suffix, const char *rest)
{
	char *path = join(statedir, suffix);
	fprintf(f, "%s%s ", indent, directive);
	bool ok = put_quoted(f, path);
	fprintf(f, "%s;\n", rest);
	free(path);
	return ok;
}

/* nginx's variable for request header h: $http_ and the name lowercased, '-' as '_'. */
static void put_header_var(FILE *f, const char *h)
{
	fputs("$http_", f);
	for (const char *p = h; *p; p++)
		fputc(*p == '-' ? '_' : (*p >= 'A' && *p <= 'Z' ? *p - 'A' + 'a' : *p), f);
}

/* The dealer: the public server deals each user to a variant (docs/manifests.md#route).
 *   $cratis_user     the user id: the cookie (set from $request_id when absent), the user
 *                    header, or $request_id (stickiness none: every request dealt afresh)
 *   $cratis_split    split_clients "KEY$cratis_user" over the variants' shares
 *   $cratis_variant  the pin header's value when it names a variant, else $cratis_split
 * Names and headers are restricted to safe characters by split_parse; the log path is quoted. */
static bool add_split_server(FILE *f, json_t *s, const struct split *sp)
{
	const char *c = sp->cookie;
	switch (sp->stickiness) {
	case STICKY_COOKIE:
		fprintf(f, "    map $cookie_%s $cratis_user {\n        \"\" $request_id;\n        default $cookie_%s;\n    }\n", c, c);
		/* add_header with an empty value sends nothing: the cookie is set only when absent */
		fprintf(f, "    map $cookie_%s $cratis_set_cookie {\n"
		           "        \"\" \"%s=$request_id; Path=/; Max-Age=31536000; SameSite=Lax\";\n        default \"\";\n    }\n",
		        c, c);
		break;
	case STICKY_HEADER:
		fputs("    map ", f);
		put_header_var(f, sp->user_header);
		fputs(" $cratis_user {\n        \"\" $request_id;\n        default ", f);
		put_header_var(f, sp->user_header);
		fputs(";\n    }\n", f);
		break;
	case STICKY_NONE:
		fputs("    map $request_id $cratis_user {\n        default $request_id;\n    }\n", f);
		break;
	}
	fprintf(f, "    split_clients \"%s$cratis_user\" $cratis_split {\n", sp->key);
	for (size_t i = 0; i + 1 < sp->n; i++)
		fprintf(f, "        %d.%02d%% %s;\n", sp->v[i].hundredths / 100, sp->v[i].hundredths % 100, sp->v[i].name);
	fprintf(f, "        * %s;\n    }\n", sp->v[sp->n - 1].name);
	/* a map key starting with '\' is taken literally (a variant may be called "default") */
	fputs("    map ", f);
	put_header_var(f, sp->pin_header);
	fputs(" $cratis_variant {\n        default $cratis_split;\n", f);
	for (size_t i = 0; i < sp->n; i++)
		fprintf(f, "        \\%s %s;\n", sp->v[i].name, sp->v[i].name);
	/* pinned requests (tests, QA) are not part of the experiment: they are not logged */
	fputs("    }\n    map ", f);
	put_header_var(f, sp->pin_header);
	fputs(" $cratis_dealt {\n        default 1;\n", f);
	for (size_t i = 0; i < sp->n; i++)
		fprintf(f, "        \\%s \"\";\n", sp->v[i].name);
	fputs("    }\n    " ROUTER_LOG_FORMAT "\n", f);
	for (size_t i = 0; i < sp->n; i++) {
		char name[80];
		snprintf(name, sizeof(name), "cratis_v_%s", sp->v[i].name);
		put_upstream(f, name, sp->v[i].upstream);
	}
	char *listen = address(json_object_get(s, "listen"));
	fprintf(f, "    server {\n        listen %s;\n        location / {\n", listen);
	free(listen);
	if (sp->stickiness == STICKY_COOKIE)
		fputs("            add_header Set-Cookie $cratis_set_cookie always;\n", f);
	fputs("            access_log ", f);
	bool ok = put_quoted(f, sp->access_log);
	fputs(" " ROUTER_LOG_FORMAT_NAME " if=$cratis_dealt;\n", f);
	put_proxy(f, "cratis_v_$cratis_variant");
	fputs("        }\n    }\n", f);
	return ok;
}

/* The whole configuration for spec s into *out (caller frees). Every value from outside the
 * plugin is quoted per nginx's syntax or already restricted to safe characters (addresses, see
 * address()). Returns 0, or CRATIS_EINVAL (error set) when the statedir holds a control
 * character, CRATIS_ENOMEM when memory runs out. */
static int render(char **out, const struct cratis_request *req, json_t *s)
{
	char *text = NULL;
	size_t len = 0;
	*out = NULL;
	FILE *f = open_memstream(&text, &len);
	if (!f) {
		host->error(req->call, NULL, "cannot render nginx.conf: %s", strerror(errno));
		return CRATIS_ENOMEM;
	}
	bool ok = true;
	fprintf(f, "# rendered by cratis (router plugin) for ");
	put_comment_text(f, req->kind);
	fputc('/', f);
	put_comment_text(f, req->name);
	fprintf(f, "; changes are overwritten\ndaemon off;\nworker_processes 1;\n");
	ok &= put_path_directive(f, "", "pid", req->statedir, "nginx.pid", "");
	ok &= put_path_directive(f, "", "error_log", req->statedir, "error.log", " warn");
	fprintf(f, "events {\n    worker_connections 1024;\n}\nhttp {\n    access_log off;\n    proxy_http_version 1.1;\n");
	static const char *const temps[][2] = { { "client_body_temp_path", "tmp/body" }, { "proxy_temp_path", "tmp/proxy" },
	                                        { "fastcgi_temp_path", "tmp/fastcgi" }, { "uwsgi_temp_path", "tmp/uwsgi" },
	                                        { "scgi_temp_path", "tmp/scgi" } };
	for (size_t i = 0; i < sizeof(temps) / sizeof(temps[0]); i++)
		ok &= put_path_directive(f, "    ", temps[i][0], req->statedir, temps[i][1], "");
	if (json_object_get(s, "split")) {
		struct split sp;
		int rc = split_parse(req, s, &sp);
		if (!rc)
			ok &= add_split_server(f, s, &sp);
		split_release(&sp);
		if (rc) {
			fclose(f);
			free(text);
			return rc;
		}
	} else {
		add_server(f, "active", s);
	}
	json_t *pv = json_object_get(s, "preview");
	if (pv)
		add_server(f, "preview", pv);
	fprintf(f, "}\n");
	if (fclose(f) != 0) {
		free(text);
		host->error(req->call, NULL, "cannot render nginx.conf: %s", strerror(errno));
		return CRATIS_ENOMEM;
	}
	if (!ok) {
		free(text);
		host->error(req->call, NULL, "cannot write the state directory '%s' into nginx.conf: it holds a control character", req->statedir);
		return CRATIS_EINVAL;
	}
	*out = text;
	return CRATIS_OK;
}

static const char *nginx_bin(json_t *s)
{
	const char *b = spec_str(s, "nginx", NULL);
	if (b)
		return b;
	return access("/usr/sbin/nginx", X_OK) == 0 ? "/usr/sbin/nginx" : "nginx";
}

/* Run nginx with args after -p/-c/-e; 0, or an error with its stderr. */
static int nginx_run(const struct cratis_request *req, json_t *s, const char *conf, const char *const *args)
{
	char *errlog = join(req->statedir, "error.log");
	const char *argv[12] = { nginx_bin(s), "-p", req->statedir, "-c", conf, "-e", errlog };
	size_t n = 7;
	for (size_t i = 0; args[i] && n < 11; i++)
		argv[n++] = args[i];
	argv[n] = NULL;
	struct cratis_run_result res = { .size = sizeof(res) };
	int rc = host->run(req->call, argv, NULL, req->statedir, 20000, &res);
	if (!rc && (res.exit_code || res.timed_out)) {
		host->error(req->call, NULL, "nginx %s failed (exit %d): %s", args[0], res.exit_code, res.err ? res.err : "");
		rc = CRATIS_ERROR;
	}
	if (!rc || rc == CRATIS_ERROR) {
		host->free(res.out);
		host->free(res.err);
	}
	free(errlog);
	return rc;
}

static bool listening(const char *hostport)
{
	const char *colon = strrchr(hostport, ':');
	char *h = strndup(hostport, (size_t)(colon - hostport));
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai = NULL;
	bool ok = false;
	if (getaddrinfo(h, colon + 1, &hints, &ai) == 0) {
		int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, 0);
		ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
	}
	free(h);
	return ok;
}

/* Child pids of nginx master `master` (from /proc) into pids (at most max); returns the count. */
static size_t workers_of(long master, long *pids, size_t max)
{
	size_t count = 0;
	DIR *d = opendir("/proc");
	struct dirent *de;
	while (d && (de = readdir(d))) {
		long pid = strtol(de->d_name, NULL, 10);
		if (pid <= 0)
			continue;
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
		FILE *f = fopen(path, "r");
		if (!f)
			continue;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		char *p = strrchr(buf, ')');
		long ppid = 0;
		if (p && sscanf(p + 2, "%*c %ld", &ppid) == 1 && ppid == master && count < max)
			pids[count++] = pid;
	}
	if (d)
		closedir(d);
	return count;
}

/* True while any of the n pids is still a child of master. */
static bool any_left(long master, const long *old, size_t n)
{
	long now[64];
	size_t m = workers_of(master, now, 64);
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < m; k++)
			if (old[i] == now[k])
				return true;
	return false;
}

static int apply(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	json_t *s = spec_parse(req, 0);
	char *pidfile = join(req->statedir, "nginx.pid.cratis"), *conf = join(req->statedir, "nginx.conf");
	char *next = join(req->statedir, "nginx.conf.next"), *tmp = join(req->statedir, "tmp");
	char *listen = address(json_object_get(s, "listen"));
	int rc = CRATIS_OK;
	char *text = NULL;
	if (make_dirs(tmp) < 0) {
		host->error(req->call, NULL, "cannot create '%s': %s", tmp, strerror(errno));
		rc = CRATIS_EIO;
		goto out_free;
	}
	if ((rc = render(&text, req, s)))
		goto out_free;
	if (json_object_get(s, "split")) {
		/* the access log's directory, as the statedir: nginx -t refuses a log it cannot open */
		struct split sp;
		if (!(rc = split_parse(req, s, &sp))) {
			char *slash = strrchr(sp.access_log, '/');
			if (slash && slash != sp.access_log) {
				*slash = '\0';
				if (make_dirs(sp.access_log) < 0) {
					host->error(req->call, "spec.split.accessLog", "cannot create '%s': %s", sp.access_log, strerror(errno));
					rc = CRATIS_EIO;
				}
			}
		}
		split_release(&sp);
		if (rc)
			goto out_free;
	}
	FILE *f = fopen(next, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0) {
		host->error(req->call, NULL, "cannot write '%s': %s", next, strerror(errno));
		rc = CRATIS_EIO;
		goto out_free;
	}
	const char *test[] = { "-t", "-q", NULL };
	if ((rc = nginx_run(req, s, next, test)))
		goto out_free;
	rename(next, conf);
	long pid = running_pid(pidfile);
	if (pid) {
		/* graceful: the master re-reads the configuration, starts new workers, and lets the old
		 * ones finish the requests they hold */
		long old[64];
		size_t nold = workers_of(pid, old, 64);
		const char *reload[] = { "-s", "reload", NULL };
		if ((rc = nginx_run(req, s, conf, reload)))
			goto out_free;
		/* the switch is complete when the old workers have stopped taking connections and left */
		long long until = now_ms() + 10000;
		while (any_left(pid, old, nold) && now_ms() < until)
			usleep(2000);
	} else {
		char *log = join(req->statedir, "nginx.out");
		char *errlog = join(req->statedir, "error.log");
		const char *argv[] = { nginx_bin(s), "-p", req->statedir, "-c", conf, "-e", errlog, NULL };
		pid_t np;
		char *env[] = { NULL };
		int sr = proc_spawn_detached(&np, argv, env, req->statedir, log);
		if (sr) {
			host->error(req->call, NULL, "cannot start nginx '%s': %s", argv[0], strerror(sr));
			rc = CRATIS_ERROR;
		} else {
			write_pidfile(pidfile, np);
			long long until = now_ms() + 10000;
			while (!listening(listen) && running_pid(pidfile) && now_ms() < until)
				usleep(5000);
			if (!listening(listen)) {
				char *t = tail_of(errlog, 1500);
				stop(pidfile, 3000);
				host->error(req->call, "spec.listen", "nginx did not listen on %s; error log tail:\n%s", listen, t);
				free(t);
				rc = CRATIS_ERROR;
			}
		}
		free(log);
		free(errlog);
		if (rc)
			goto out_free;
		pid = np;
	}
	/* nginx answers on every address only when it is its own: a port another program holds makes
	 * a reload keep the old configuration (and a first start fail) with no exit status to see */
	json_t *pv0 = json_object_get(s, "preview");
	const char *which[] = { "spec.listen", "spec.preview.listen" };
	json_t *addrs[] = { json_object_get(s, "listen"), pv0 ? json_object_get(pv0, "listen") : NULL };
	for (int i = 0; i < 2 && !rc; i++) {
		char *a = addrs[i] ? address(addrs[i]) : NULL;
		bool local = false;
		int port = a ? local_port(a, &local) : 0;
		long owner = port && local ? port_listener(port) : 0;
		if (port && local && !in_tree(owner, pid)) {
			char cmd[200], holder[260];
			if (owner > 0) {
				cmdline_of(owner, cmd, sizeof(cmd));
				snprintf(holder, sizeof(holder), "it is held by process %ld (%s)", owner, cmd);
			} else {
				snprintf(holder, sizeof(holder), owner < 0 ? "it is held by a process this user cannot see" : "nothing listens there");
			}
			char *errlog = join(req->statedir, "error.log");
			char *t = tail_of(errlog, 1500);
			host->error(req->call, which[i], "cratis' nginx (pid %ld) does not listen on %s: %s; error log tail:\n%s", pid, a,
			            holder, t);
			free(t);
			free(errlog);
			rc = CRATIS_ERROR;
		}
		free(a);
	}
	if (rc)
		goto out_free;
	json_t *o = json_pack("{s:s,s:I}", "url", "", "pid", (json_int_t)pid);
	char url[300];
	snprintf(url, sizeof(url), "http://%s/", listen);
	json_object_set_new(o, "url", json_string(url));
	json_t *pv = json_object_get(s, "preview");
	if (pv) {
		char *pl = address(json_object_get(pv, "listen"));
		snprintf(url, sizeof(url), "http://%s/", pl);
		json_object_set_new(o, "previewUrl", json_string(url));
		free(pl);
	}
	if (json_object_get(s, "split")) {
		struct split sp;
		if (!split_parse(req, s, &sp))
			json_object_set_new(o, "accessLog", json_string(sp.access_log));
		split_release(&sp);
	}
	json_t *doc = json_pack("{s:o}", "outputs", o);
	*out = spec_out(host, doc);
	json_decref(doc);
out_free:
	free(text);
	free(listen);
	free(pidfile);
	free(conf);
	free(next);
	free(tmp);
	json_decref(s);
	return rc;
}

static int destroy(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	(void)out;
	char *pidfile = join(req->statedir, "nginx.pid.cratis");
	long pid = running_pid(pidfile);
	if (pid)
		kill((pid_t)pid, SIGQUIT); /* graceful shutdown: finish requests, then exit */
	stop(pidfile, 10000);
	free(pidfile);
	return CRATIS_OK;
}

static int observe(void *data, const struct cratis_request *req, char **out)
{
	(void)data;
	char *pidfile = join(req->statedir, "nginx.pid.cratis"), *conf = join(req->statedir, "nginx.conf");
	json_t *s = spec_parse(req, 1);
	json_t *doc;
	long pid = running_pid(pidfile);
	char *listen = address(json_object_get(s, "listen"));
	if (pid && listen && !listening(listen)) {
		/* a master told to stop closes its sockets first and exits once its workers have: give
		 * it a moment, so that one on its way out is reported as not running */
		long long until = now_ms() + 3000;
		while ((pid = running_pid(pidfile)) && !listening(listen) && now_ms() < until)
			usleep(20000);
	}
	if (!pid) {
		doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "nginx is not running");
	} else if (listen && !listening(listen)) {
		char reason[400];
		snprintf(reason, sizeof(reason), "nginx (pid %ld) does not listen on %s", pid, listen);
		doc = json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", reason);
	} else {
		char *want = NULL;
		if (render(&want, req, s)) {
			json_decref(s);
			free(listen);
			free(pidfile);
			free(conf);
			return CRATIS_EINVAL;
		}
		FILE *f = fopen(conf, "r");
		char have[65536];
		size_t n = f ? fread(have, 1, sizeof(have) - 1, f) : 0;
		if (f)
			fclose(f);
		have[n] = '\0';
		doc = strcmp(have, want) ? json_pack("{s:b,s:b,s:s}", "exists", 1, "drift", 1, "reason", "nginx configuration changed on disk")
		                         : json_pack("{s:b,s:b}", "exists", 1, "drift", 0);
		free(want);
	}
	*out = spec_out(host, doc);
	json_decref(doc);
	json_decref(s);
	free(listen);
	free(pidfile);
	free(conf);
	return CRATIS_OK;
}

static const struct cratis_ops ops = {
	.size = sizeof(struct cratis_ops),
	.validate = validate,
	.apply = apply,
	.destroy = destroy,
	.observe = observe,
};
static const char *const versions[] = { "v1", NULL };
/* The kind's fields (ABI 1.3): any other field is refused at its location (docs/manifests.md). */
static const struct cratis_field fields[] = {
	{ sizeof(struct cratis_field), "spec.listen", "any", "public HOST:PORT or port", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.upstream", "any", "active backend(s): HOST:PORT, port or a sequence (optional with split)", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.preview.listen", "any", "preview HOST:PORT or port", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.preview.upstream", "any", "preview backend(s)", NULL, 0 },
	{ sizeof(struct cratis_field), "spec.split.key", "string", "the dealer: salt of the split's hash (split_clients \"KEY$user\")", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.split.stickiness", "string", "cookie, header or none: where the user id comes from", "cookie", 0 },
	{ sizeof(struct cratis_field), "spec.split.cookie", "string", "the user-id cookie, set when absent", "cratis_uid", 0 },
	{ sizeof(struct cratis_field), "spec.split.userHeader", "string", "stickiness header: the header carrying the user id", "X-User-Id", 0 },
	{ sizeof(struct cratis_field), "spec.split.pinHeader", "string", "a request carrying it goes to the variant it names", "X-Cratis-Variant", 0 },
	{ sizeof(struct cratis_field), "spec.split.accessLog", "string", "the experiment's access log (METRICS_NGINX_LOG_FORMAT)", "STATEDIR/access.log", 0 },
	{ sizeof(struct cratis_field), "spec.split.variants.name", "string", "variant name: letters, digits, _ and -", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.split.variants.weight", "number", "share of the users, any scale (normalised)", "1", 0 },
	{ sizeof(struct cratis_field), "spec.split.variants.upstream", "any", "the variant's backend(s): HOST:PORT, port or a sequence", NULL, 1 },
	{ sizeof(struct cratis_field), "spec.nginx", "string", "the nginx binary", "/usr/sbin/nginx when executable, else nginx from PATH", 0 },
	{ 0 },
};
static const struct cratis_handler route = {
	sizeof(struct cratis_handler), "router", "Route", versions, &ops, NULL, fields,
};

CRATIS_PLUGIN_EXPORT int cratis_plugin_init(uint32_t abi_major, const struct cratis_host *h,
                                            struct cratis_plugin_ctx *ctx)
{
	if (abi_major != CRATIS_ABI_MAJOR)
		return CRATIS_EABI;
	if (host != h) /* loaded again by another app of the process (cratis serve): the same host */
		host = h;
	int rc = ctx->set_info(ctx, CRATIS_ABI_MAJOR, "router", "0.1.0", NULL, NULL);
	if (!rc)
		rc = ctx->register_handler(ctx, &route);
	return rc;
}
