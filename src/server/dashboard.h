/* The dashboard of `cratis serve` (docs/server.md "Dashboard"): one page of static files under
 * /ui/, built into the binary (src/server/gen_ui.py writes them as byte arrays at build time).
 * Internal to src/server. */
#ifndef CRATIS_SERVER_DASHBOARD_H
#define CRATIS_SERVER_DASHBOARD_H

#include <stdbool.h>
#include <stddef.h>

struct req;

/* A file of the dashboard: its name under /ui/, content type, bytes (len bytes, then a NUL) and
 * strong ETag (quoted, from its SHA-256). Static data. */
struct ui_asset {
	const char *name;
	const char *ctype;
	const unsigned char *data;
	size_t len;
	const char *etag;
};
/* The dashboard's files (ui.c, generated); ends with a row whose name is NULL. */
extern const struct ui_asset server_ui_assets[];

/* The file of the dashboard named name ("index.html"), or NULL when there is none. */
const struct ui_asset *ui_asset_find(const char *name);

/* Whether an If-None-Match header value (NULL: absent) matches the strong ETag etag: "*", or
 * one of its comma-separated tags equal to etag (a W/ prefix ignored: If-None-Match uses the
 * weak comparison, RFC 9110 13.1.2). */
bool ui_etag_matches(const char *if_none_match, const char *etag);

/* GET / from a browser: when the request's Accept header names text/html and not
 * application/json, set the reply to a 302 redirect to /ui/ (Vary: Accept) and return true;
 * otherwise leave the reply alone and return false (the JSON index answers). */
bool dashboard_redirect(struct req *r);

/* Route handlers (public: the page holds no data; its fetches carry the user's token).
 * h_ui_root: GET /ui, a 301 redirect to /ui/. h_ui_index: GET /ui/, the page (index.html).
 * h_ui_asset: GET /ui/{file}, one file, 404 when there is no such file. Each file is answered
 * with its content type, its ETag, Cache-Control: no-cache (revalidate every time) and a
 * Content-Security-Policy of default-src 'self'; a request whose If-None-Match matches the ETag
 * gets 304 without a body. */
void h_ui_root(struct req *r);
void h_ui_index(struct req *r);
void h_ui_asset(struct req *r);

#endif
