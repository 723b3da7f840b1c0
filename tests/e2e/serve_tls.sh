#!/bin/sh
# cratis serve with TLS and OIDC (issue 14): a self-signed certificate made here with the openssl
# CLI (curl --cacert succeeds, plain HTTP to the TLS port fails, bad certificates and keys stop the
# start naming the file); bearer JWTs signed by keys made here (tests/server/jwt_gen.py) are
# verified against the JWKS file, their groups mapped to roles (200 / 403 by role, 401 for
# expired, tampered, alg none, wrong audience); every denial is a dev.cratis.access.denied event
# without the token, rate-limited; the event routes answer only the events of the projects the
# subject may read (table-driven).
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
unset CRATIS_STATE CRATIS_STATE_DIR
S="$T/srv"
mkdir -p "$S" "$T/demo" "$T/other" "$T/keys"

# ---- certificates ----
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/key.pem" -out "$T/cert.pem" \
	-days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1
check "a self-signed certificate is made" test -s "$T/cert.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$T/other.pem" >/dev/null 2>&1
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --tls-cert "$T/nope.pem" --tls-key "$T/key.pem" >"$T/e1" 2>&1
expect_rc "a missing certificate stops the start" 1 $?
expect_in "naming the file" "cannot read --tls-cert '$T/nope.pem'" "$T/e1"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --tls-cert "$T/key.pem" --tls-key "$T/key.pem" >"$T/e2" 2>&1
expect_rc "a key given as the certificate stops the start" 1 $?
expect_in "naming the file and what was expected" "$T/key.pem:1:1: --tls-cert: expected a PEM certificate" "$T/e2"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" --tls-key "$T/other.pem" >"$T/e3" 2>&1
expect_rc "a key of another certificate stops the start" 1 $?
expect_in "naming it" "$T/other.pem:1:1: --tls-key: the key is not the private key of the certificate" "$T/e3"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --tls-cert "$T/cert.pem" >"$T/e4" 2>&1
expect_rc "a certificate without its key is a usage error" 64 $?
expect_in "saying what is missing" "--tls-cert needs --tls-key" "$T/e4"

# ---- OIDC keys and tokens (claims relative to now; 1 h validity) ----
ISS=https://idp.example AUD=cratis
python3 "$SRC/tests/server/jwt_gen.py" "$T/keys" "$(date +%s)" "$ISS" "$AUD"
check "keys and tokens are made" test -s "$T/keys/tokens.txt"
jwt() { sed -n "s/^$1 //p" "$T/keys/tokens.txt"; }
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --oidc-issuer "$ISS" --oidc-jwks "$T/keys/jwks.json" >"$T/e5" 2>&1
expect_rc "an OIDC issuer without an audience is a usage error" 64 $?
expect_in "naming the missing flag" "missing --oidc-audience" "$T/e5"
"$CRATIS" serve --state-dir "$S" --listen 127.0.0.1:0 --oidc-issuer "$ISS" --oidc-audience "$AUD" \
	--oidc-jwks "$T/keys/short.json" >"$T/e6" 2>&1
expect_rc "a JWKS with a short RSA key is refused" 1 $?
expect_in "located" "short.json:1:1: keys[0].n: expected an RSA modulus of at least 2048 bits, got 1024" "$T/e6"

# ---- two projects, each with its own environment ----
demo_core "$T/demo/m.yaml"
cat >>"$T/demo/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: a}
spec:
  apply: [sh, -c, 'true']
YAML
demo_core "$T/other/m.yaml"
sed -i 's/name: staging/name: dev/; s/name: demo/name: other/' "$T/other/m.yaml"
cat >>"$T/other/m.yaml" <<'YAML'
---
apiVersion: exec/v1
kind: Task
metadata: {name: b}
spec:
  apply: [sh, -c, 'true']
YAML
ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
cat >"$T/policy.csv" <<'CSV'
# the deployer group reads deployments; ops read the events of demo in staging only
p, role:deployer, deployments, get, *, allow
p, role:ops, events, get, staging/demo, allow
CSV

LOG="$T/serve.log"
check "serve starts with TLS and OIDC" start_server "$S" "$LOG" --policy "$T/policy.csv" \
	--tls-cert "$T/cert.pem" --tls-key "$T/key.pem" \
	--oidc-issuer "$ISS" --oidc-audience "$AUD" --oidc-jwks "$T/keys/jwks.json"
server_cleanup() { stop_server KILL; }
cleanup_hooks="server_cleanup $cleanup_hooks"
expect_in "it says it listens on https://" "listening on https://127.0.0.1:" "$LOG"
PORT=${URL##*:}
# req as serve_lib.sh's, trusting the test's certificate
req() {
	_m=$1; _p=$2; _t=$3; _b=${4:-}
	set -- -s --cacert "$T/cert.pem" -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' -X "$_m"
	[ "$_t" = "-" ] || set -- "$@" -H "Authorization: Bearer $_t"
	[ -z "$_b" ] || set -- "$@" -H 'Content-Type: application/json' --data "$_b"
	curl "$@" "$URL$_p"
}
check "curl --cacert: livez over TLS" test "$(req GET /livez -)" = 200
curl -s -o /dev/null "https://127.0.0.1:$PORT/livez"
expect_rc "curl without the certificate refuses it (not trusted)" 60 $?
c=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "http://127.0.0.1:$PORT/livez")
check "plain HTTP to the TLS port fails" test "$c" != 200

# ---- JWTs: 200 / 403 by role, 401 when invalid (table-driven) ----
# TOKEN-NAME METHOD PATH WANT
while read -r name m p want; do
	c=$(req "$m" "$p" "$(jwt "$name")")
	[ "$c" = "$want" ] && ok "JWT $name: $m $p $want" || { fail "JWT $name: $m $p: $c, expected $want"; cat "$T/resp"; }
done <<EOF
good_rs GET /v1/deployments 200
good_es GET /v1/deployments 403
reader GET /v1/deployments 200
reader GET /v1/locks 200
good_rs GET /v1/locks 403
good_rs GET /v1/projects/demo/environments/staging/resources 403
norole GET /v1/deployments 403
expired GET /v1/deployments 401
tampered GET /v1/deployments 401
alg_none GET /v1/deployments 401
hs256 GET /v1/deployments 401
wrong_aud GET /v1/deployments 401
wrong_iss GET /v1/deployments 401
wrong_key GET /v1/deployments 401
EOF
req GET /v1/deployments "$(jwt expired)" >/dev/null
expect_in "an expired JWT is named as such" "token expired at" "$T/resp"
req GET /v1/deployments "$(jwt good_es)" >/dev/null
expect_in "the subject is the email when there is no sub, the group its role" "'bob@example.org' (role:viewer) may not get deployments" "$T/resp"
check "a cratis token still works beside OIDC" test "$(req GET /v1/deployments "$ADMIN")" = 200

# ---- per-project events ----
check "register demo" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"demo\",\"path\":\"$T/demo\"}")" = 201
check "register other" test "$(req POST /v1/projects "$ADMIN" "{\"name\":\"other\",\"path\":\"$T/other\"}")" = 201
for pe in demo:staging other:dev; do
	check "deploy ${pe%%:*}" test "$(req POST "/v1/projects/${pe%%:*}/deployments" "$ADMIN" "{\"env\":\"${pe#*:}\"}")" = 202
	ID=$(jq_py 'd["id"]' <"$T/resp")
	dep_done() { req GET "/v1/deployments/$ID" "$ADMIN" >/dev/null; r=$(jq_py 'd["result"]' <"$T/resp"); [ "$r" = succeeded ]; }
	check "it succeeds" wait_for 60 dep_done
done
# TOKEN(JWT name, or admin) WANT-CODE WANT-SOURCES (of deployment events)
while read -r who want sources; do
	if [ "$who" = admin ]; then tok=$ADMIN; else tok=$(jwt "$who"); fi
	c=$(req GET '/v1/events?since=0&type=dev.cratis.deployment.*' "$tok")
	[ "$c" = "$want" ] || { fail "events as $who: $c, expected $want"; continue; }
	[ "$want" = 200 ] || { ok "events as $who: $want"; continue; }
	got=$(jq_py '",".join(sorted(set(e["source"].split("/")[2] + "/" + e["source"].split("/")[4] for e in d)))' <"$T/resp")
	[ "$got" = "$sources" ] && ok "events as $who: $sources" || fail "events as $who: sources $got, expected $sources"
done <<EOF
admin 200 demo/staging,other/dev
reader 200 demo/staging,other/dev
good_rs 200 demo/staging
norole 403 -
EOF
curl -sN --cacert "$T/cert.pem" --max-time 3 -H "Authorization: Bearer $(jwt good_rs)" \
	"$URL/v1/events/stream?since=0" >"$T/sse" 2>/dev/null
check "the stream shows ops the demo events" grep -q '"source":"/projects/demo/environments/staging"' "$T/sse"
expect_not_in "and none of the other project" '/projects/other/' "$T/sse"
check "the stream refuses a subject allowed no events" test "$(req GET /v1/events/stream "$(jwt norole)")" = 403
req GET '/v1/events?since=0&limit=1' "$(jwt good_rs)" >/dev/null
check "limit counts the visible events" test "$(jq_py 'len(d)' <"$T/resp")" = 1

# ---- access events ----
req GET '/v1/events?since=0&type=dev.cratis.access.denied' "$ADMIN" >/dev/null
cp "$T/resp" "$T/denied.json"
check "denials are events" test "$(jq_py 'len(d)' <"$T/denied.json")" -ge 10
check "a 403 names subject, role, action, object, route and method" test "$(jq_py '[[e["data"][k] for k in ("status","subject","role","action","resource","object","route","method")] for e in d if e["data"]["subject"]=="nora"][0]' <"$T/denied.json")" = '[403, "nora", "no role", "get", "deployments", "", "/v1/deployments", "GET"]'
check "a 401 with a token presented says why, without a subject" test "$(jq_py 'sorted(set(str(e["data"]["subject"]) for e in d if e["data"]["status"]==401 and "expired" in e["data"]["reason"]))' <"$T/denied.json")" = '["None"]'
check "a project route's denial has the project's source" test "$(jq_py '[e["source"] for e in d if e["data"]["path"].startswith("/v1/projects/demo/")][0]' <"$T/denied.json")" = /projects/demo/environments/staging
check "another route's denial has none" test "$(jq_py '[e["source"] for e in d if e["data"]["route"]=="/v1/locks"][0]' <"$T/denied.json")" = /projects/_/environments/_
for name in good_rs expired tampered alg_none; do
	sig=$(jwt "$name" | cut -d. -f3)
	grep -qF "$sig" "$T/denied.json" "$LOG" && fail "a token's signature ($name) is in the events or the log" \
		|| ok "the $name token is neither in the events nor in the log"
done
c=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$T/cert.pem" "$URL/v1/deployments")
before=$(jq_py 'len(d)' <"$T/denied.json")
req GET '/v1/events?since=0&type=dev.cratis.access.denied' "$ADMIN" >/dev/null
check "a request without a token is a 401 but no event" test "$c" = 401 -a "$(jq_py 'len(d)' <"$T/resp")" = "$before"
# a flood: 150 denials within a minute or two write at most 60 events a minute
i=0
while [ $i -lt 150 ]; do req GET /v1/deployments "$(jwt norole)" >/dev/null; i=$((i + 1)); done
req GET /metrics - >/dev/null
cp "$T/resp" "$T/metrics"
suppressed=$(sed -n 's/^cratis_access_events_suppressed_total //p' "$T/metrics")
written=$(sed -n 's/^cratis_access_events_total //p' "$T/metrics")
check "the flood is bounded: denials beyond the rate are not written" test "${suppressed:-0}" -ge 30
req GET '/v1/events?since=0&type=dev.cratis.access.denied&limit=10000' "$ADMIN" >/dev/null
check "the outbox holds exactly the events counted as written" test "$(jq_py 'len(d)' <"$T/resp")" = "$written"
expect_in "403s are counted" 'cratis_access_denied_total{code="403"}' "$T/metrics"

stop_server TERM
expect_rc "serve exits 0 after SIGTERM" 0 "$SERVER_RC"
finish
