#!/bin/sh
# Fetch the generated Python grammar of tree-sitter (parser.c, scanner.c and their headers) from
# npm into a build directory: fetch-tree-sitter-python.sh VERSION SHA256 DEST. Run by meson at
# configure time (meson.build); does nothing when DEST already holds VERSION. The tarball is
# checked against SHA256 (pinned in meson.build) before anything is unpacked. npm is used only
# for `npm pack` (download to the cache, no install scripts run); --prefer-offline lets a
# second build directory reuse npm's cache without the network.
set -eu
version=$1 sha=$2 dest=$3
if [ -f "$dest/VERSION" ] && [ "$(cat "$dest/VERSION")" = "$version" ] && [ -f "$dest/src/parser.c" ]; then
	exit 0
fi
command -v npm >/dev/null 2>&1 || { echo "fetch-tree-sitter-python: npm not found (sh scripts/setup.sh installs it)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --prefer-offline --silent "tree-sitter-python@$version" >/dev/null) ||
	{ echo "fetch-tree-sitter-python: npm pack tree-sitter-python@$version failed" >&2; exit 1; }
tgz="$tmp/tree-sitter-python-$version.tgz"
got=$(sha256sum "$tgz" | cut -d' ' -f1)
if [ "$got" != "$sha" ]; then
	echo "fetch-tree-sitter-python: tree-sitter-python-$version.tgz has sha256 $got, expected $sha" >&2
	exit 1
fi
tar -xzf "$tgz" -C "$tmp" package/src package/LICENSE
rm -rf "$dest.new"
mkdir -p "$dest.new"
mv "$tmp/package/src" "$dest.new/src"
mv "$tmp/package/LICENSE" "$dest.new/LICENSE"
echo "$version" >"$dest.new/VERSION"
rm -rf "$dest"
mv "$dest.new" "$dest"
