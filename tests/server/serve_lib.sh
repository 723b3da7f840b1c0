# Helpers for tests and benchmarks of `cratis serve` (sourced after tests/e2e/lib.sh, which sets
# CRATIS and T). The server listens on 127.0.0.1:0 (a free port it picks) and says which in its log.

# start_server STATE_DIR LOG [FLAGS...]: start cratis serve in the background; sets SERVER_PID and
# URL (http:// or https://) once it listens (fails after 20 s)
start_server() {
	_sd=$1; _log=$2; shift 2
	: >"$_log"
	"$CRATIS" serve --state-dir "$_sd" --listen 127.0.0.1:0 "$@" 2>>"$_log" &
	SERVER_PID=$!
	_i=0
	while [ $_i -lt 400 ]; do
		_url=$(sed -n 's/.*listening on \(https\{0,1\}:\/\/127\.0\.0\.1:[0-9][0-9]*\)$/\1/p' "$_log" | tail -1)
		if [ -n "$_url" ]; then URL=$_url; return 0; fi
		kill -0 "$SERVER_PID" 2>/dev/null || return 1
		sleep 0.05
		_i=$((_i + 1))
	done
	return 1
}

# stop_server [SIGNAL]: signal the server (TERM) and wait for it; sets SERVER_RC
stop_server() {
	[ -n "${SERVER_PID:-}" ] || return 0
	kill "-${1:-TERM}" "$SERVER_PID" 2>/dev/null
	wait "$SERVER_PID"
	SERVER_RC=$?
	SERVER_PID=
}

# req METHOD PATH TOKEN [BODY]: the HTTP status code on stdout, the body in $T/resp, the headers
# in $T/resp.h (TOKEN "-": none)
req() {
	_m=$1; _p=$2; _t=$3; _b=${4:-}
	set -- -s -o "$T/resp" -D "$T/resp.h" -w '%{http_code}' -X "$_m"
	[ "$_t" = "-" ] || set -- "$@" -H "Authorization: Bearer $_t"
	[ -z "$_b" ] || set -- "$@" -H 'Content-Type: application/json' --data "$_b"
	curl "$@" "$URL$_p"
}

# jq_py EXPR < JSON: a value of the JSON on stdin (EXPR in Python, the document is d)
jq_py() {
	python3 -c "import json,sys; d=json.load(sys.stdin); v=($1); print(v if not isinstance(v,(dict,list,bool)) and v is not None else json.dumps(v))"
}
