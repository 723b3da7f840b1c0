#!/bin/sh
# Install what cratis needs to build, test and run its example, on Debian (run as root).
# Idempotent: packages already present are left alone; apt-get runs only when one is missing.
set -eu
pkgs="build-essential meson ninja-build pkg-config libfyaml-dev libjansson-dev libsqlite3-dev \
libcmocka-dev libssl-dev libcurl4-openssl-dev libxml2-dev libgit2-dev git nginx-light wrk python3 curl hyperfine time sqlite3 \
clang libclang-rt-dev bsdutils"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	$sudo apt-get update -qq
	# cratis runs nginx itself, with its own prefix; keep the package from starting the system's
	# nginx service (policy-rc.d exit 101: "action forbidden") unless the host already has a policy
	policy=""
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		policy=/usr/sbin/policy-rc.d
		printf '#!/bin/sh\nexit 101\n' | $sudo tee "$policy" >/dev/null
		$sudo chmod +x "$policy"
	fi
	# shellcheck disable=SC2086
	$sudo apt-get install -y -qq --no-install-recommends $missing >&2 || { [ -z "$policy" ] || $sudo rm -f "$policy"; exit 1; }
	[ -z "$policy" ] || $sudo rm -f "$policy"
fi
