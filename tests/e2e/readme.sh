#!/bin/sh
# Runs the README's example commands (between the readme-test markers) on a copy of the
# repository's examples, so the README cannot rot. Port 8181 is swapped for a free one.
. "$(dirname "$0")/lib.sh"
PORT=$(free_port)
export HELLO_STAGING_PORT="$PORT"
mkdir -p "$T/repo/bin"
cp -r "$SRC/examples" "$T/repo/"
rm -rf "$T/repo/examples/hello/.cratis"
ln -s "$CRATIS" "$T/repo/bin/cratis"
sed -n '/<!-- readme-test:begin -->/,/<!-- readme-test:end -->/p' "$SRC/README.md" |
	grep -v -e '^<!--' -e '^```' | sed "s/8181/$PORT/g" >"$T/commands"
check "the README has example commands" test -s "$T/commands"
stop_servers() { pkill -f "http.server $PORT" 2>/dev/null; return 0; }
cleanup_hooks="stop_servers"
n=0
while IFS= read -r cmd; do
	n=$((n + 1))
	(cd "$T/repo" && PATH="$T/repo/bin:$PATH" sh -c "$cmd") >"$T/out.$n" 2>&1 </dev/null
	rc=$?
	expect_rc "README: $cmd" 0 "$rc"
	[ "$rc" -eq 0 ] || sed 's/^/    /' "$T/out.$n"
done <"$T/commands"
expect_in "the page was served" "<h1>hello from staging</h1>" "$T/out.3"
finish
