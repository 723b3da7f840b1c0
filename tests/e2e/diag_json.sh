#!/bin/sh
# Diagnostics as data: `cratis plan -o json` on invalid manifests prints a JSON list of
# diagnostics on stdout (severity, status, file, line, column, field, message; hint when present)
# and exits 1, while stderr keeps today's text. Run over every error case of tests/e2e/cases whose
# expectation is a manifest error: the JSON must carry the same file, line, column, field and
# message as the text (checked by rendering each JSON diagnostic as text). Without -o json, stdout stays empty.
. "$(dirname "$0")/lib.sh"
cases=$(cd "$(dirname "$0")" && pwd)/cases
unset CRATIS_E2E_UNSET

# check_json FILE EXPECT-LINE: FILE holds a JSON list of well-formed diagnostics, one of which,
# rendered as stderr shows it ("file:line:col: field: message", absent parts left out), contains
# EXPECT-LINE (as cases.sh greps stderr for it); prints what is wrong and exits 1 otherwise
check_json() {
	python3 - "$1" "$2" <<'PY'
import json, re, sys
path, want = sys.argv[1], sys.argv[2]
try:
    with open(path) as f:
        diags = json.load(f)
except ValueError as e:
    sys.exit("stdout is not JSON: %s" % e)
if not isinstance(diags, list) or not diags:
    sys.exit("not a non-empty JSON list: %r" % (diags,))
types = {"severity": str, "status": str, "file": str, "line": int, "column": int,
         "field": str, "message": str, "hint": str}
for d in diags:
    if not isinstance(d, dict):
        sys.exit("a diagnostic is not an object: %r" % (d,))
    for k, v in d.items():
        if k not in types:
            sys.exit("unknown member %r in %r" % (k, d))
        if not isinstance(v, types[k]) or isinstance(v, bool):
            sys.exit("member %r of %r is not a %s" % (k, d, types[k].__name__))
    for k in ("severity", "status", "message"):
        if k not in d:
            sys.exit("member %r missing in %r" % (k, d))
    if d["severity"] not in ("error", "warning", "note"):
        sys.exit("severity %r" % d["severity"])
    if not d["status"].startswith("CRATIS_E"):
        sys.exit("status %r is not a status name" % d["status"])
if not any(d["severity"] == "error" for d in diags):
    sys.exit("no diagnostic of severity error in %r" % diags)
def render(d):
    """the text stderr shows for d (diag_format in src/util/diag.c)"""
    t = ""
    if "file" in d:
        t = d["file"]
        if d.get("line", 0) > 0:
            t += ":%d" % d["line"]
            if d.get("column", 0) > 0:
                t += ":%d" % d["column"]
        t += ": "
    if "field" in d:
        t += d["field"] + ": "
    return t + d["message"]
located = re.match(r"^[^: ]+:\d+:\d+: ", want) is not None
for d in diags:
    if want in render(d) and (not located or ("line" in d and "column" in d)):
        sys.exit(0)
sys.exit("no diagnostic renders as %r; they render as:\n  %s" %
         (want, "\n  ".join(render(d) for d in diags)))
PY
}

located=0
for dir in "$cases"/*/; do
	name=$(basename "$dir")
	# _base is shared; no-tty is apply's refusal to run without a terminal, not a manifest error
	case $name in _base | no-tty) continue ;; esac
	want_rc=$(head -n 1 "$dir/expect")
	first=$(sed -n 2p "$dir/expect")
	# only the cases that are manifest errors (exit 1 from plan or apply)
	[ "$want_rc" = 1 ] || continue
	case $(cat "$dir/cmd") in plan* | apply*) ;; *) continue ;; esac
	env=$(sed -n 's/.*--env \([a-z]*\).*/\1/p' "$dir/cmd")
	work="$T/$name"
	mkdir -p "$work"
	cp "$cases/_base/core.yaml" "$work/_base.yaml"
	[ -s "$dir/m.yaml" ] && cp "$dir/m.yaml" "$work/m.yaml"
	(cd "$work" && "$CRATIS" plan ${env:+--env "$env"} -o json -f . </dev/null >json.out 2>json.err)
	rc=$?
	expect_rc "$name: plan -o json" 1 "$rc"
	if msg=$(check_json "$work/json.out" "$first" 2>&1); then
		ok "$name: stdout is a JSON list of diagnostics matching '$first'"
	else
		fail "$name: $msg"
		sed 's/^/    out: /' "$work/json.out"
	fi
	case $first in ./*:*:*:\ *) located=$((located + 1)) ;; esac
	# text mode: the same message on stderr as today, nothing on stdout
	(cd "$work" && "$CRATIS" plan ${env:+--env "$env"} -f . </dev/null >text.out 2>text.err)
	expect_rc "$name: plan in text mode" 1 $?
	expect_in "$name: text mode keeps the message on stderr" "$first" "$work/text.err"
	check "$name: text mode prints nothing on stdout" test ! -s "$work/text.out"
	expect_in "$name: -o json keeps the text on stderr" "$first" "$work/json.err"
done
check "located cases were checked field by field ($located)" test "$located" -ge 5

# the unknown-kind case by hand: exact file, line, column and field
w="$T/unknown-kind"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == 1, d
d = d[0]
assert (d["file"], d["line"], d["column"], d["field"]) == ("./m.yaml", 2, 7, "kind"), d
assert d["severity"] == "error" and d["status"] == "CRATIS_EINVAL", d
assert d["message"].startswith("unknown kind '"'"'Widget'"'"' in group '"'"'acme'"'"'"), d
assert "hint" not in d or isinstance(d["hint"], str), d
' "$w/json.out"
expect_rc "unknown-kind: ./m.yaml, line 2, column 7, field kind, CRATIS_EINVAL" 0 $?

# a valid project: -o json prints the plan (an object), not diagnostics, and exits 0
mkdir -p "$T/valid"
cp "$cases/_base/core.yaml" "$T/valid/_base.yaml"
(cd "$T/valid" && "$CRATIS" plan --env staging -o json -f . >out 2>err)
expect_rc "valid project: plan -o json" 0 $?
check "valid project: the plan is a JSON object" python3 -c 'import json,sys; assert isinstance(json.load(open(sys.argv[1])), dict)' "$T/valid/out"
finish
