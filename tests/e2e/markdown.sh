#!/bin/sh
# plan -o markdown escapes every value (CommonMark/GFM): a failed command's stderr with '|', line
# breaks, '## heading', backticks and HTML, or a field name with '|', cannot rewrite the
# pull-request comment (issue 9, item 10).
. "$(dirname "$0")/lib.sh"
P="$T/p"
mkdir -p "$P"
cat >"$P/m.yaml" <<'YAML'
apiVersion: cratis/v1
kind: System
metadata: {name: local}
---
apiVersion: exec/v1
kind: Task
metadata: {name: evil}
spec:
  system: local
  apply: [sh, -c, "exit 0"]
YAML
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "the Task is applied" 0 $?
sed -i "s/exit 0/printf 'a|b\\\\n## owned\\\\n<img src=x>\\\\n\\\`\\\`\\\`\\\\n' >\\&2; exit 1/" "$P/m.yaml"
grep -q 'owned' "$P/m.yaml" || fail "the Task was changed to fail"
"$CRATIS" apply -f "$P" --auto-approve >/dev/null 2>&1
expect_rc "the changed Task fails" 1 $?
"$CRATIS" plan -f "$P" -o markdown >"$T/md" 2>"$T/md.err"
expect_rc "plan -o markdown" 0 $?
python3 - "$T/md" >"$T/check" 2>&1 <<'PY'
import re, sys
md = open(sys.argv[1]).read()
lines = md.split("\n")
problems = []
# the table: the header, the delimiter row, one row per changed resource, each with 5 cells
# what is inside fenced code blocks is shown as code: leave it out of the checks
outside, fence = [], None
for l in lines:
    m = re.match(r"^(`{3,})", l)
    if m and (fence is None or m.group(1) == fence):
        fence = None if fence else m.group(1)
        continue
    if fence is None:
        outside.append(l)
lines = outside
rows = [l for l in lines if l.startswith("|")]
for r in rows:
    cells = re.split(r"(?<!\\)\|", r)[1:-1]
    if len(cells) != 5:
        problems.append(f"row with {len(cells)} cells: {r!r}")
if len(rows) != 3:
    problems.append(f"{len(rows)} table rows, expected 3")
for l in lines:
    if l.startswith("#") and not l.startswith("### cratis plan"):
        problems.append(f"a heading escaped the table: {l!r}")
    if "<img" in l:
        problems.append(f"raw HTML: {l!r}")
if not any("a\\|b" in r for r in rows):
    problems.append("the stderr text is not in the row, escaped")
if fence is not None:
    problems.append("a code block is left open")
print("\n".join(problems) if problems else "clean")
PY
expect_in "the markdown keeps its shape" "clean" "$T/check"
[ "$(cat "$T/check")" = clean ] || sed 's/^/    /' "$T/md"
finish
