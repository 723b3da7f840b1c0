#!/bin/sh
# The Prometheus metrics provider (issue 12, src/experiment/metrics_prom.c) against Debian's
# Prometheus on loopback: a temporary configuration and storage directory, scraping a small
# exporter (Python http.server, text format, per-variant counters) every second; one query per
# variant and statistic with ${variant} interpolated. Then the errors: a query Prometheus rejects,
# one with no data, one with several series, one whose value is not finite.
. "$(dirname "$0")/lib.sh"
command -v prometheus >/dev/null || { echo "prometheus is not installed (scripts/setup.sh)"; exit 1; }
MR=${CRATIS_BUILD_DIR:-$SRC/build}/tests/metrics_read
EXP=$(free_port)
PROM=$(free_port)
cat >"$T/exporter.py" <<'PY'
import http.server, sys
# visitors, buyers, latency count, sum and sum of squares per variant
data = {"a": (1000, 100, 400, 48.5, 7.25), "b": (990, 131, 380, 40.25, 5.5), "c": (1010, 99, 410, 61.0, 11.75)}
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/metrics":
            self.send_error(404)
            return
        out = ["# TYPE shop_visitors_total counter", "# TYPE shop_buyers_total counter"]
        for v, (vis, buy, n, s, ss) in data.items():
            out += [f'shop_visitors_total{{variant="{v}"}} {vis}', f'shop_buyers_total{{variant="{v}"}} {buy}',
                    f'shop_latency_seconds_count{{variant="{v}"}} {n}', f'shop_latency_seconds_sum{{variant="{v}"}} {s}',
                    f'shop_latency_seconds_sumsq{{variant="{v}"}} {ss}']
        body = ("\n".join(out) + "\n").encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PY
python3 "$T/exporter.py" "$EXP" >"$T/exporter.log" 2>&1 &
EXP_PID=$!
mkdir -p "$T/prom/data"
cat >"$T/prom/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: shop
    static_configs: [{targets: ['127.0.0.1:$EXP']}]
EOF
prometheus --config.file="$T/prom/prometheus.yml" --storage.tsdb.path="$T/prom/data" \
	--web.listen-address="127.0.0.1:$PROM" >"$T/prom/prometheus.log" 2>&1 &
PROM_PID=$!
stop_servers() { kill "$PROM_PID" "$EXP_PID" 2>/dev/null; wait "$PROM_PID" 2>/dev/null; return 0; }
cleanup_hooks="$cleanup_hooks stop_servers"

# wait (bounded by meson's timeout, no clock assertion) until every variant has been scraped
until curl -sf "http://127.0.0.1:$PROM/api/v1/query?query=count(shop_latency_seconds_sumsq)" 2>/dev/null |
	grep -q '"value":\[[0-9.]*,"3"\]'; do
	kill -0 "$PROM_PID" 2>/dev/null || { fail "prometheus exited:"; sed 's/^/    /' "$T/prom/prometheus.log"; finish; exit 1; }
	sleep 0.2
done
ok "prometheus scraped the exporter"

cat >"$T/cfg.json" <<EOF
{"provider": "prometheus", "url": "http://127.0.0.1:$PROM/", "variants": ["a", "b", "c"],
 "metrics": [{"name": "buy", "kind": "ratio",
              "exposures": "sum(shop_visitors_total{variant=\"\${variant}\"})",
              "conversions": "sum(shop_buyers_total{variant=\"\${variant}\"})"},
             {"name": "latency", "kind": "mean",
              "count": "sum(shop_latency_seconds_count{variant=\"\${variant}\"})",
              "sum": "sum(shop_latency_seconds_sum{variant=\"\${variant}\"})",
              "sumsq": "shop_latency_seconds_sumsq{variant=\"\${variant}\"} + 0 * time()"}]}
EOF
"$MR" "$T/cfg.json" --decide >"$T/got.json" 2>"$T/got.err"
expect_rc "the provider queries every variant" 0 $?
python3 - "$T/got.json" >"$T/compare.out" 2>&1 <<'PY'
import json, sys
want = {"a": (1000, 100, 400, 48.5, 7.25), "b": (990, 131, 380, 40.25, 5.5), "c": (1010, 99, 410, 61.0, 11.75)}
got = {v["name"]: v["metrics"] for v in json.load(open(sys.argv[1]))["variants"]}
bad = []
for v, (vis, buy, n, s, ss) in want.items():
    g = got[v]
    pairs = [(g["buy"]["exposures"], vis), (g["buy"]["conversions"], buy), (g["latency"]["n"], n),
             (g["latency"]["sum"], s), (g["latency"]["sumsq"], ss),
             (g["latency"]["var"], (ss - s * s / n) / (n - 1))]
    for a, b in pairs:
        print(v, a, b)
        if abs(a - b) > 1e-9 * max(1, abs(b)):
            bad.append(f"{v}: {a} != {b}")
print("\n".join(bad) if bad else "all values equal")
sys.exit(1 if bad else 0)
PY
expect_rc "the values are the exporter's, per variant" 0 $?
expect_in "decide_tick reads them" '"verdict":' "$T/got.json"

# err NAME QUERY EXPECTED: a ratio whose exposures query is QUERY fails with EXPECTED
err() {
	python3 - "$T/cfg.json" "$2" >"$T/bad.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["metrics"] = [{"name": "buy", "kind": "ratio", "exposures": sys.argv[2], "conversions": "vector(0)"}]
print(json.dumps(c))
PY
	"$MR" "$T/bad.json" >/dev/null 2>"$T/bad.err"
	expect_rc "$1: fails" 1 $?
	expect_in "$1: says why" "$3" "$T/bad.err"
}
err "a query prometheus rejects" 'sum(shop_visitors_total{variant="${variant}"' "prometheus answered status 'error' (HTTP 400): bad_data:"
err "no data" 'sum(no_such_metric{variant="${variant}"})' "metric 'buy', variant 'a': query 'sum(no_such_metric{variant=\"a\"})': no data (an empty instant vector)"
err "several series" 'shop_visitors_total' "3 series, expected one"
err "a non-finite value" 'sum(shop_visitors_total{variant="${variant}"}) / 0' "the value '+Inf' is not a finite number"
cat >"$T/down.json" <<EOF
{"provider": "prometheus", "url": "http://127.0.0.1:$EXP/nothing", "variants": ["a"],
 "metrics": [{"name": "x", "kind": "ratio", "exposures": "vector(1)", "conversions": "vector(0)"}]}
EOF
"$MR" "$T/down.json" >/dev/null 2>"$T/down.err"
expect_rc "not a Prometheus: fails" 1 $?
expect_in "not a Prometheus: says so" "HTTP 404, not a Prometheus answer" "$T/down.err"
finish
