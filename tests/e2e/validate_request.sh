#!/bin/sh
# The validate request (issue 10, docs/plugins.md): it carries the resource's statedir and the
# spec as the plan shows it: variables expanded, escapes undone ($${x} is "${x}", a '$' from a
# variable is a '$'), secrets and sensitive variables redacted (never the value), and references
# to outputs of other resources as written (not known before the plan decides).
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P" "$T/plugins/probe"
cat >"$T/plugins/probe/plugin.yaml" <<'YAML'
name: probe
version: 0.1.0
abi: 1
executable: probe.py
ops: [validate, apply, destroy]
handlers:
  - {group: probe, kind: Probe, versions: [v1]}
YAML
cat >"$T/plugins/probe/probe.py" <<'PY'
#!/usr/bin/env python3
import json, os, sys
for line in sys.stdin:
    msg = json.loads(line)
    reply = {"id": msg["id"], "ok": True, "result": None}
    if msg["op"] == "handshake":
        reply["result"] = {"abi": 1}
    elif msg["op"] == "validate":
        with open(os.environ["PROBE_LOG"], "a") as f:
            f.write(json.dumps(msg["request"]) + "\n")
    elif msg["op"] == "apply":
        reply["result"] = {"outputs": {"x": "1"}}
    print(json.dumps(reply), flush=True)
PY
chmod +x "$T/plugins/probe/probe.py"
export CRATIS_PLUGIN_PATH="$T/plugins" PROBE_LOG="$T/validate.log" CRATIS_T_PRICE='5$' CRATIS_T_SEC="pw-Hq71"
demo_core "$P/m.yaml"
sed -i 's/^  systems: \[local\]$/  systems: [local]\n  variables: {price: "${env:CRATIS_T_PRICE}", pw: {value: "${env:CRATIS_T_SEC}", sensitive: true}}/' "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: probe/v1
kind: Probe
metadata: {name: a}
spec: {v: 1}
---
apiVersion: probe/v1
kind: Probe
metadata: {name: b}
spec: {price: "${price}", escaped: "$${literal}", secret: "${pw}", ref: "${Probe/a.outputs.x}"}
YAML
"$CRATIS" plan -f "$P" >"$T/plan.out" 2>&1
expect_rc "plan" 0 $?
python3 - "$T/validate.log" "$P" >"$T/check.out" 2>&1 <<'PY'
import json, sys
reqs = {r["name"]: r for r in map(json.loads, open(sys.argv[1]))}
b = reqs["b"]
assert b["statedir"] == sys.argv[2] + "/.cratis/run/staging/demo/Probe-b", b["statedir"]
assert reqs["a"]["statedir"].endswith("/Probe-a"), reqs["a"]
s = b["spec"]
assert s["price"] == "5$", s
assert s["escaped"] == "${literal}", s
assert s["secret"].startswith("(sensitive)"), s
assert s["ref"] == "${Probe/a.outputs.x}", s
print("validate ok")
PY
expect_in "validate gets statedir and the resolved spec" "validate ok" "$T/check.out"
expect_not_in "never the sensitive value" "$CRATIS_T_SEC" "$T/validate.log"
finish
