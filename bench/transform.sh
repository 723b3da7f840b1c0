#!/bin/sh
# Transformation at scale (issue 16): `cratis transform --provider aws` of a generated Python
# project of 100,000 lines (FILES modules of about 100000/FILES lines each: classes, functions,
# nested blocks, comments, docstrings, and SDK calls of storage, database and messaging in
# every import form, about one line in 25) into a new tree, against `python3 -m py_compile` of
# the same files (one process, bytecode to a scratch prefix), in one hyperfine run. Prints both
# medians and the ratio transform / py_compile, then checks the transformed tree compiles.
# Usage: sh bench/transform.sh [BUILD_DIR] [RUNS] [FILES]   (default: build-release, 10 runs, 200 files)
set -eu
cd "$(dirname "$0")/.."
B=${1:-build-release}
RUNS=${2:-10}
FILES=${3:-200}
command -v hyperfine >/dev/null || sh scripts/setup.sh
[ -f "$B/build.ninja" ] || meson setup "$B" -Dbuildtype=release >/dev/null
ninja -C "$B" cratis >/dev/null
C="$PWD/$B/cratis"
W=$(mktemp -d "${TMPDIR:-/tmp}/cratis-bench-transform-XXXXXX")
trap 'rm -rf "$W"' EXIT
python3 - "$W/src" 100000 "$FILES" <<'PY'
import os, sys
root, total, nfiles = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
per = total // nfiles
heads = [
    "from infrar.storage import upload, download as fetch, list_objects, delete\n",
    "import infrar.storage as st\nfrom infrar import database\n",
    "from infrar import messaging\nfrom infrar.storage import *\n",
    "import infrar.database\nimport infrar.storage\n",
]
calls = [
    ["upload('b{i}', path, 'k/{i}')", "st.upload('b{i}', path, 'k/{i}')", "messaging.publish('t{i}', {{'n': {i}}})", "infrar.storage.upload('b{i}', path, 'k/{i}')"],
    ["keys = list_objects(bucket='b{i}',\n{ind}    prefix='p/')", "rows = database.query('db', 'SELECT {i}')", "keys = list_objects('b{i}')", "rows = infrar.database.query('db', 'SELECT %s', [{i}])"],
    ["fetch('b{i}', 'k/{i}', path)", "database.execute('db', 'UPDATE t SET n = %s', [{i}])", "messaging.send_message('q{i}', [{i}, path])", "infrar.database.execute('db', 'DELETE FROM t')"],
    ["delete('b{i}', 'k/{i}')", "st.delete('b{i}', 'k/{i}')", "msgs = messaging.receive_messages('q{i}', max_count=5)", "infrar.storage.delete('b{i}', 'k/{i}')"],
]
os.makedirs(root, exist_ok=True)
lines_written = 0
for f in range(nfiles):
    sub = os.path.join(root, "pkg%d" % (f % 10))
    os.makedirs(sub, exist_ok=True)
    form = f % len(heads)
    out = ['"""Generated module %d of the transform benchmark."""\n' % f, "import os\nimport sys\n", heads[form], "\n"]
    n = sum(s.count("\n") for s in out)
    i = 0
    while n < per:
        body = [
            "\n",
            "class Worker%d:\n" % i,
            "    \"\"\"Does job %d.\"\"\"\n" % i,
            "\n",
            "    limit = %d  # items per batch\n" % (i * 7 % 100),
            "\n",
            "    def run(self, path, items):\n",
            "        total = 0\n",
            "        for item in items:\n",
            "            if item %% %d == 0:\n" % (i % 5 + 2),
            "                total += item * 2  # doubled\n",
            "            elif item > self.limit:\n",
            "                total -= 1\n",
            "            else:\n",
            "                total += len(str(item))\n",
            "        with open(os.devnull, 'w') as sink:\n",
            "            print(total, path, file=sink)\n",
            "        try:\n",
            "            %s\n" % calls[i % 4][form].format(i=i, ind="            "),
            "        except OSError as e:\n",
            "            print(e, file=sys.stderr)\n",
            "        return {'total': total, 'path': path, 'n': %d}\n" % i,
            "\n",
            "\n",
            "def helper_%d(values, scale=%d):\n" % (i, i % 9 + 1),
            "    # scale every value, skip the negative ones\n",
            "    result = [v * scale for v in values if v >= 0]\n",
            "    return sum(result) / max(len(result), 1)\n",
        ]
        out.extend(body)
        n += sum(s.count("\n") for s in body)
        i += 1
    text = "".join(out)
    lines_written += text.count("\n")
    with open(os.path.join(sub, "mod%d.py" % f), "w") as fh:
        fh.write(text)
print("generated %d files, %d lines, %d bytes" % (nfiles, lines_written, sum(
    os.path.getsize(os.path.join(d, x)) for d, _, fs in os.walk(root) for x in fs)))
PY
find "$W/src" -name '*.py' | sort >"$W/files"
# the same work once before timing: both must succeed on this input
"$C" transform --provider aws -v -i "$W/src" -o "$W/out" 2>&1 | tail -1
PYTHONPYCACHEPREFIX="$W/pyc" xargs python3 -m py_compile <"$W/files"
find "$W/out" -name '*.py' | PYTHONPYCACHEPREFIX="$W/pyc3" xargs python3 -m py_compile && echo "transformed tree compiles: yes"
hyperfine --warmup 1 --runs "$RUNS" --export-json "$W/h.json" \
	--prepare "rm -rf $W/out $W/pyc" \
	-n "python3 -m py_compile" "PYTHONPYCACHEPREFIX=$W/pyc xargs python3 -m py_compile <$W/files" \
	-n "cratis transform" "$C transform --provider aws -i $W/src -o $W/out" >/dev/null
python3 - "$W/h.json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
t, p = r["cratis transform"]["median"], r["python3 -m py_compile"]["median"]
print("cratis transform --provider aws: median %.1f ms" % (t * 1e3))
print("python3 -m py_compile:           median %.1f ms" % (p * 1e3))
print("ratio transform / py_compile: %.2f" % (t / p))
PY
