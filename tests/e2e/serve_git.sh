#!/bin/sh
# cratis serve with a project registered by its git location (issue 14: "projects (registered by
# location: a directory or a git URL + ref + path)", "deployments (POST ... a project at a ref)"):
# a repository with two tags, the project registered at v1 under //app, a deployment at its ref
# writes v1, a deployment with {"ref": "v2"} writes v2 without changing the registration, a plan
# at a ref shows the change, a saved plan is applied exactly and refused once stale, and bad
# locations, refs and plans are refused naming the field.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/server/serve_lib.sh"
command -v git >/dev/null || { echo "git is not installed (scripts/setup.sh)"; exit 1; }
unset CRATIS_STATE CRATIS_STATE_DIR
S="$T/srv"
R="$T/repo"
mkdir -p "$R/app" "$T/out"
git_() { git -C "$R" -c user.name=t -c user.email=t@t.invalid "$@" >/dev/null 2>&1; }
release() { # release VERSION: the manifests write VERSION into $T/out/page, committed and tagged
	demo_core "$R/app/m.yaml"
	cat >>"$R/app/m.yaml" <<YAML
---
apiVersion: file/v1
kind: File
metadata: {name: page}
spec: {path: "$T/out/page", content: "$1\n"}
YAML
	git_ add -A && git_ commit -m "$1" && git_ tag "$1"
}
git_ init -q -b main
release v1
release v2
ADMIN=$("$CRATIS" token create --state-dir "$S" --subject root --role admin 2>/dev/null)
LOG="$T/serve.log"
# the server's working directory holds the clones (.cratis/git), as for `cratis apply -f LOCATION`
mkdir -p "$T/cwd"
cd "$T/cwd" || exit 1
check "serve starts" start_server "$S" "$LOG"
server_cleanup() { stop_server KILL; }
cleanup_hooks="server_cleanup $cleanup_hooks"
LOC="git::file://$R//app?ref=v1"
code=$(req POST /v1/projects "$ADMIN" "{\"name\":\"site\",\"location\":\"$LOC\"}")
expect_rc "a project registered by its git location" 201 "$code"
check "the registration keeps the location" test "$(jq_py 'd["location"]' <"$T/resp")" = "$LOC"
check "with the environments of its manifests" test "$(jq_py '[e["name"] for e in d["environments"]]' <"$T/resp")" = '["staging"]'

wait_done() { # wait_done ID: the deployment finished; its result on stdout
	i=0
	while [ $i -lt 600 ]; do
		req GET "/v1/deployments/$1" "$ADMIN" >/dev/null
		r=$(jq_py 'd.get("result") or ""' <"$T/resp")
		case "$r" in running | "") ;; *) echo "$r"; return 0 ;; esac
		sleep 0.1
		i=$((i + 1))
	done
	echo timeout
}
code=$(req POST /v1/projects/site/deployments "$ADMIN" '{"env":"staging"}')
expect_rc "deploy at the registered ref" 202 "$code"
check "succeeds" test "$(wait_done "$(jq_py 'd["id"]' <"$T/resp")")" = succeeded
check "v1 is deployed" grep -qx v1 "$T/out/page"

code=$(req POST /v1/projects/site/plans "$ADMIN" '{"env":"staging","ref":"v2"}')
expect_rc "plan at another ref" 200 "$code"
check "the plan at v2 updates the File" test "$(jq_py 'd["summary"]["update"]' <"$T/resp")" = 1
code=$(req POST /v1/projects/site/deployments "$ADMIN" '{"env":"staging","ref":"v2"}')
expect_rc "deploy at ref v2" 202 "$code"
check "succeeds" test "$(wait_done "$(jq_py 'd["id"]' <"$T/resp")")" = succeeded
check "v2 is deployed" grep -qx v2 "$T/out/page"
req GET /v1/projects "$ADMIN" >/dev/null
check "the registration still names v1" test "$(jq_py '[p["location"] for p in d if p["name"] == "site"][0]' <"$T/resp")" = "$LOC"

# a saved plan (POST .../plans with save), applied exactly (POST .../deployments with plan), as
# `cratis plan -out FILE` and `cratis apply FILE`; a plan the state has moved past is refused
code=$(req POST /v1/projects/site/plans "$ADMIN" '{"env":"staging","ref":"v1","save":true}')
expect_rc "a saved plan at v1" 200 "$code"
check "it carries the saved plan" test "$(jq_py 'd["saved"]["kind"]' <"$T/resp")" = cratis-plan
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps({"env": "staging", "ref": "v1", "plan": d["saved"]}))' "$T/resp" >"$T/apply-v1.json"
cp "$T/apply-v1.json" "$T/apply-v1-again.json"
code=$(req POST /v1/projects/site/deployments "$ADMIN" "$(cat "$T/apply-v1.json")")
expect_rc "the saved plan is applied" 202 "$code"
check "succeeds" test "$(wait_done "$(jq_py 'd["id"]' <"$T/resp")")" = succeeded
check "v1 is deployed again" grep -qx v1 "$T/out/page"
code=$(req POST /v1/projects/site/deployments "$ADMIN" "$(cat "$T/apply-v1-again.json")")
check "applied a second time, the state has moved past it: refused as stale" test "$code" = 422
expect_in "saying so" "saved plan is stale" "$T/resp"
code=$(req POST /v1/projects/site/deployments "$ADMIN" '{"env":"staging","plan":"not a plan"}')
expect_rc "a plan that is not an object" 422 "$code"
expect_in "names the field plan" '"field":"plan"' "$T/resp"

# refusals, each naming its field
code=$(req POST /v1/projects/site/deployments "$ADMIN" '{"env":"staging","ref":"no-such-tag"}')
expect_rc "a ref that names nothing" 404 "$code"
expect_in "says so, naming the location" "has no branch, tag or commit 'no-such-tag'" "$T/resp"
code=$(req POST /v1/projects/site/deployments "$ADMIN" '{"env":"staging","ref":""}')
expect_rc "an empty ref" 422 "$code"
expect_in "names the field ref" '"field":"ref"' "$T/resp"
code=$(req POST /v1/projects "$ADMIN" '{"name":"bad","location":"git::file:///x//../y"}')
expect_rc "a location with .. in its directory" 422 "$code"
expect_in "names the field location" '"field":"location"' "$T/resp"
code=$(req POST /v1/projects "$ADMIN" '{"name":"bad","location":"/not/git"}')
expect_rc "a local path as location" 422 "$code"
mkdir -p "$T/dir"
demo_core "$T/dir/m.yaml"
code=$(req POST /v1/projects "$ADMIN" "{\"name\":\"plain\",\"path\":\"$T/dir\"}")
expect_rc "a directory project" 201 "$code"
code=$(req POST /v1/projects/plain/deployments "$ADMIN" '{"env":"staging","ref":"v1"}')
expect_rc "a ref for a directory project" 422 "$code"
expect_in "says it is a directory" "the project is a directory, not a git location" "$T/resp"
finish
