#!/bin/sh
# The dashboard of `cratis serve` (issue 14, docs/server.md "Dashboard") in headless Chromium
# (Debian's /usr/bin/chromium driven by playwright-core from tests/tools, see
# tests/tools/dashboard_check.js):
# - the page's files: ETag, Cache-Control: no-cache, 304 on If-None-Match, the strict
#   Content-Security-Policy, GET / redirects a browser (Accept: text/html) and answers JSON otherwise;
# - a deployment the CLI made a moment before (on the server's store) appears with its id and
#   result; a revoked token shows the sign-in again; a deployment through the API while the page
#   is open appears without a reload (the SSE stream read with fetch); its steps open; a Rollout
#   shows its active and preview releases, then the promote made through the API; the server
#   restarts under the open page, which resumes the stream with Last-Event-ID and shows a
#   rollback made through the new server; the
#   experiment chart (SVG) is drawn from a fixture document and the teams view from fixtures
#   (Playwright answers those routes); a role the policy denies the events and the rollouts sees
#   "no live updates (HTTP 403)" and the denial, and the rest; no console errors.
# Screenshots are kept in $CRATIS_ARTIFACTS, else BUILD_DIR/meson-logs/dashboard/.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
TOOLS="$SRC/tests/tools"
ART=${CRATIS_ARTIFACTS:-${CRATIS_BUILD_DIR:-$SRC/build}/meson-logs/dashboard}
mkdir -p "$ART"
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

if [ ! -x "$CHROMIUM" ] || ! command -v node >/dev/null 2>&1; then
	fail "chromium ($CHROMIUM) and node are needed (scripts/setup.sh installs them)"
	finish; exit
fi
if [ ! -d "$TOOLS/node_modules/playwright-core" ]; then
	(cd "$TOOLS" && npm install --no-audit --no-fund >"$T/npm.log" 2>&1) ||
		{ fail "npm install in tests/tools (playwright-core)"; cat "$T/npm.log"; finish; exit; }
fi

S="$T/srv"
P="$T/proj"
mkdir -p "$P"
cat >"$P/m.yaml" <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: staging}
spec:
  systems: [local]
---
apiVersion: cratis/v1
kind: Project
metadata: {name: web}
---
apiVersion: exec/v1
kind: Task
metadata: {name: a}
spec:
  apply: [sh, -c, 'echo a >"$T/a.ran"']
---
apiVersion: exec/v1
kind: Task
metadata: {name: b}
spec:
  apply: [sh, -c, 'echo b1 >"$T/b.ran"']
  dependsOn: [Task/a]
YAML

ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
OLD=$("$CRATIS" token create --state-dir "$S" --subject leaver --role admin 2>/dev/null)
OLD_ID=$(echo "$OLD" | sed -n 's/^cratis_\([^_]*\)_.*/\1/p')
check "a token is revoked" "$CRATIS" token revoke --state-dir "$S" "$OLD_ID"

VIEWER=$("$CRATIS" token create --state-dir "$S" --subject watcher --role viewer 2>/dev/null)
# a viewer reads everything but the events and the rollouts
cat >"$T/policy.csv" <<'CSV'
p, role:viewer, *, get, *, allow
p, role:viewer, events, get, *, deny
p, role:viewer, rollouts, get, *, deny
CSV
LOG="$T/serve.log"
check "serve starts" start_server "$S" "$LOG" --policy "$T/policy.csv"
cleanup_hooks="stop_server $cleanup_hooks"
check "register the project" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"web\",\"path\":\"$P\"}")" = 201

# ---- the page's files over HTTP ----
check "GET /ui/ answers the page" test "$(req GET /ui/ -)" = 200
grep -qi '^content-type: text/html' "$T/resp.h" && ok "the page is text/html" || fail "content type: $(cat "$T/resp.h")"
grep -qi "^content-security-policy: default-src 'self'" "$T/resp.h" && ok "a strict CSP (default-src 'self')" || fail "no CSP"
grep -qi '^cache-control: no-cache' "$T/resp.h" && ok "Cache-Control: no-cache" || fail "cache-control"
ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: \("[0-9a-f]*"\).*/\1/p' "$T/resp.h")
check "a strong ETag" test -n "$ETAG"
SUM=$(python3 -c 'import hashlib,sys; print(hashlib.sha256(open(sys.argv[1],"rb").read()).hexdigest()[:32])' "$SRC/src/server/ui/index.html")
check "the ETag is the page's SHA-256 (it changes with the bytes)" test "$ETAG" = "\"$SUM\""
out=$(curl -s -o /dev/null -D "$T/resp.h" -w '%{http_code} %{size_download}' -H "If-None-Match: $ETAG" "$URL/ui/")
check "If-None-Match with the ETag: 304 without a body" test "$out" = "304 0"
grep -qiF "etag: $ETAG" "$T/resp.h" && ok "the 304 names the ETag" || fail "304 headers: $(cat "$T/resp.h")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'If-None-Match: "other"' "$URL/ui/")
check "another ETag: 200" test "$code" = 200
for f in app.js app.css favicon.svg; do
	check "GET /ui/$f" test "$(req GET "/ui/$f" -)" = 200
done
grep -qi '^content-type: image/svg+xml' "$T/resp.h" && ok "favicon.svg is image/svg+xml" || fail "svg type"
check "an unknown file is 404" test "$(req GET /ui/nope.js -)" = 404
grep -qE 'https?://' "$SRC/src/server/ui/index.html" && fail "the page names another origin" || ok "the page fetches nothing from elsewhere"
code=$(curl -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' -H 'Accept: text/html,*/*;q=0.8' "$URL/")
check "GET / for a browser redirects" test "$code" = 302
grep -qi '^location: /ui/' "$T/resp.h" && ok "to /ui/" || fail "location: $(cat "$T/resp.h")"
code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/json, text/html;q=0.5' "$URL/")
check "GET / asking for JSON (and HTML) answers the JSON index" test "$code" = 200
check "GET / for JSON stays the route list" test "$(req GET / -)" = 200
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert any(r["path"]=="/ui/" for r in d["routes"])' "$T/resp" &&
	ok "the index lists /ui/" || fail "the index lacks /ui/"
req GET / - >/dev/null; cp "$T/resp" "$T/index.json"
req GET /v1/openapi.json - >/dev/null; cp "$T/resp" "$T/openapi.json"
check "the OpenAPI document documents exactly the routes" python3 "$SRC/tests/server/openapi_check.py" "$T/openapi.json" "$T/index.json"

# ---- a deployment by the CLI a moment before, on the server's store ----
CRATIS_STATE="sqlite:$S/state.db" "$CRATIS" apply -f "$P" --auto-approve >"$T/apply.out" 2>&1
expect_rc "cratis apply on the server's store" 0 $?
DEP1=$(sed -n 's/.*(deployment \([0-9][0-9]*\)).*/\1/p' "$T/apply.out")
check "the CLI names its deployment" test -n "$DEP1"
# the next deployment (through the API, while the page is open) has a change to make
sed -i 's/echo b1/echo b2/' "$P/m.yaml"

# ---- a Rollout with v1 active and v2 in preview (examples/rollout, deployed through the API) ----
R="$T/shop"
cp -r "$SRC/examples/rollout" "$R"
rm -rf "$R/.cratis"
sed -i 's/version: "\${env:APP_VERSION:-v1}"/version: "v1"/' "$R/shop.yaml"
grep -q 'version: "v1"' "$R/shop.yaml" || fail "the rollout example's version line changed"
export ROLLOUT_ACTIVE_PORT=$(free_port) ROLLOUT_PREVIEW_PORT=$(free_port)
destroy_shop() {
	"$CRATIS" destroy --state-dir "$S" -f "$R" --auto-approve >/dev/null 2>&1
	return 0
}
cleanup_hooks="destroy_shop $cleanup_hooks" # runs before stop_server
check "register shop" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"shop\",\"path\":\"$R\"}")" = 201
dep_done() { req GET "/v1/deployments/$1" "$ADMIN" >/dev/null; r=$(jq_py 'd["result"]' <"$T/resp"); [ "$r" != running ] && [ "$r" != None ]; }
check "shop v1 is deployed" test "$(req POST /v1/projects/shop/deployments "$ADMIN" '{"env":"staging"}')" = 202
SID=$(jq_py 'd["id"]' <"$T/resp")
check "v1 finishes" wait_for 120 dep_done "$SID"
check "v1 succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
sed -i 's/version: "v1"/version: "v2"/; s/autoPromotion: true/autoPromotion: false/' "$R/shop.yaml"
check "shop v2 is deployed" test "$(req POST /v1/projects/shop/deployments "$ADMIN" '{"env":"staging"}')" = 202
SID2=$(jq_py 'd["id"]' <"$T/resp")
check "v2 finishes (in preview)" wait_for 120 dep_done "$SID2"
check "v2's deployment succeeded" test "$(jq_py 'd["result"]' <"$T/resp")" = succeeded
check "rollout status" test "$(req GET /v1/projects/shop/environments/staging/rollouts/web "$ADMIN")" = 200
ACTIVE=$(jq_py '[r["release"] for r in d["releases"] if r["status"]=="active"][0]' <"$T/resp")
PREVIEW=$(jq_py '[r["release"] for r in d["releases"] if r["status"]=="preview"][0]' <"$T/resp")
check "one release active, one in preview" test -n "$ACTIVE" -a -n "$PREVIEW"

# ---- the browser ----
URL="$URL" TOKEN="$ADMIN" BAD_TOKEN="$OLD" PROJECT=web ENV=staging DEP1="$DEP1" ARTIFACTS="$ART" \
	ROLLOUT_PROJECT=shop ROLLOUT=web ACTIVE="$ACTIVE" PREVIEW="$PREVIEW" \
	SERVER_PID="$SERVER_PID" CRATIS="$CRATIS" STATE_DIR="$S" SERVER_LOG="$LOG" POLICY="$T/policy.csv" \
	VIEWER_TOKEN="$VIEWER" \
	CHROMIUM="$CHROMIUM" NODE_PATH="$TOOLS/node_modules" node "$TOOLS/dashboard_check.js" >"$T/browser.out" 2>&1
rc=$?
cat "$T/browser.out"
# the script stopped this server and ran (and stopped) one of its own on the same port
stop_server
check "the first server shut down cleanly (exit 0)" test "$SERVER_RC" = 0
kill_own_servers() {
	for p in $(own_procs "cratis serve"); do kill "$p" 2>/dev/null; done
	return 0
}
cleanup_hooks="$cleanup_hooks kill_own_servers"
passed=$((passed + $(grep -c '^ok - ' "$T/browser.out")))
failed=$((failed + $(grep -c '^FAIL - ' "$T/browser.out")))
expect_rc "the browser checks" 0 $rc
check "the screenshot is kept" test -s "$ART/dashboard.png"
check "b ran again through the API" grep -q b2 "$T/b.ran"
grep -q "$ADMIN" "$LOG" && fail "the server logged a token" || ok "no token in the server's log"
expect_in "the viewer's denied stream is logged" "denied watcher (role:viewer): get events" "$LOG"
echo "screenshots: $ART/dashboard.png $ART/dashboard-experiment.png"
finish
