/* The dashboard of `cratis serve`: its static files (built in by gen_ui.py), served under /ui/
 * with ETags, revalidation and a strict Content-Security-Policy; GET / redirects browsers there.
 * The page itself is public and holds no data: every fetch it makes carries the user's bearer
 * token and is authorised as any other API request (docs/server.md "Dashboard"). */
#define _GNU_SOURCE /* strncasecmp, strcasestr */
#include "dashboard.h"
#include "http.h"

#include <string.h>
#include <strings.h>

#include "banned.h"

/* default-src 'self': no inline script or style, nothing from another origin; the page is never
 * framed, has no <base> and posts no forms elsewhere */
#define UI_CSP "default-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"

static void add_header(struct req *r, const char *name, const char *value)
{
	if (r->nheaders < REQ_MAX_HEADERS) {
		r->headers[r->nheaders][0] = name;
		r->headers[r->nheaders][1] = value;
		r->nheaders++;
	}
}

const struct ui_asset *ui_asset_find(const char *name)
{
	for (const struct ui_asset *a = server_ui_assets; a->name; a++)
		if (!strcmp(a->name, name))
			return a;
	return NULL;
}

static void serve_asset(struct req *r, const struct ui_asset *a)
{
	add_header(r, "ETag", a->etag);
	add_header(r, "Cache-Control", "no-cache");
	add_header(r, "Content-Security-Policy", UI_CSP);
	add_header(r, "X-Content-Type-Options", "nosniff");
	add_header(r, "Referrer-Policy", "no-referrer");
	r->ctype = a->ctype;
	if (ui_etag_matches(req_header(r, "If-None-Match"), a->etag)) {
		r->code = 304;
		r->text = xstrdup("");
		return;
	}
	r->code = 200;
	r->text = xstrdup((const char *)a->data); /* text without NUL bytes (gen_ui.py checks), NUL-terminated */
}

bool dashboard_redirect(struct req *r)
{
	const char *accept = req_header(r, "Accept");
	/* a browser's navigation asks for text/html and not for JSON; a client that names
	 * application/json (or only "any type", as curl does) gets the JSON index */
	if (!accept || !strcasestr(accept, "text/html") || strcasestr(accept, "application/json"))
		return false;
	add_header(r, "Vary", "Accept");
	r->code = 302;
	r->location = xstrdup("/ui/");
	r->text = xstrdup("the dashboard is at /ui/\n");
	r->ctype = "text/plain; charset=utf-8";
	return true;
}

void h_ui_root(struct req *r)
{
	r->code = 301;
	r->location = xstrdup("/ui/");
	r->text = xstrdup("the dashboard is at /ui/\n");
	r->ctype = "text/plain; charset=utf-8";
}

void h_ui_index(struct req *r)
{
	const struct ui_asset *a = ui_asset_find("index.html");
	if (!a) {
		reply_problem(r, 404, "the dashboard is not built into this server", NULL);
		return;
	}
	serve_asset(r, a);
}

void h_ui_asset(struct req *r)
{
	const struct ui_asset *a = ui_asset_find(r->params[0]);
	if (!a) {
		reply_problem(r, 404, "no such file of the dashboard", NULL);
		return;
	}
	serve_asset(r, a);
}
