#!/bin/sh
# Install what cratis needs to build, test and run its example, on Debian (run as root).
# Idempotent: packages already present are left alone; apt-get runs only when one is missing.
set -eu
# python3-boto3: runs the AWS-transformed example against s3rver (tests/transform/aws_s3rver.sh)
# python3-psycopg2: runs the AWS-transformed database example (tests/transform/aws_postgres.sh)
# python3-azure: azure.storage.blob for the Azure-transformed example (tests/transform/azure_azurite.sh)
# libtree-sitter-dev: the parser runtime of `cratis transform`; nodejs + npm: meson fetches the
# generated Python grammar with `npm pack` (scripts/fetch-tree-sitter-python.sh)
# zsh, fish: tests/e2e/cli.sh loads and drives the completion scripts of those shells
# openssh-server, openssh-client: ssh Systems (docs/systems.md) and their tests (sshd on loopback)
# libnats-dev, nats-server: the NATS JetStream event sink and its tests; libmicrohttpd-dev: cratis serve
# prometheus: tests/e2e/metrics_prometheus.sh; python3-scipy: reference values of tests/stats
# chromium: the headless browser tests/e2e/dashboard.sh drives (through playwright-core from npm)
pkgs="build-essential meson ninja-build pkg-config libfyaml-dev libjansson-dev libsqlite3-dev \
libcmocka-dev libssl-dev libcurl4-openssl-dev libxml2-dev libgit2-dev git nginx-light wrk python3 curl hyperfine time sqlite3 \
clang libclang-rt-dev libpq-dev postgresql-15 man-db \
libtree-sitter-dev nodejs python3-boto3 python3-psycopg2 bsdutils liblua5.4-dev zsh fish \
python3-scipy python3-azure libnats-dev nats-server libmicrohttpd-dev prometheus \
openssh-server openssh-client python3-cryptography \
chromium"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
# npm: Debian's package, unless a nodejs that carries its own npm (NodeSource's, which conflicts
# with Debian's npm) is installed
command -v npm >/dev/null 2>&1 || missing="$missing npm"
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
# Test tools from npm, used by the tests only (tests/tools/package.json): an HCL parser for the
# OpenTofu that `cratis render` writes (tests/e2e/render.sh; without npm that test skips parsing)
# and playwright-core, which drives Debian's chromium in tests/e2e/dashboard.sh (it downloads no
# browser of its own).
tools="$(cd "$(dirname "$0")/.." && pwd)/tests/tools"
if command -v npm >/dev/null 2>&1; then
	if [ ! -d "$tools/node_modules/@cdktf/hcl2json" ] || [ ! -d "$tools/node_modules/playwright-core" ]; then
		(cd "$tools" && npm install --no-audit --no-fund --silent) ||
			echo "setup: npm install in tests/tools failed; tests/e2e/render.sh and dashboard.sh try again" >&2
	fi
else
	echo "setup: npm not found: tests/e2e/render.sh will not parse the rendered HCL (install npm to enable it)" >&2
fi
# s3rver (npm), the S3 emulator of tests/transform/aws_s3rver.sh, in build-tools/ (ignored by git)
s3rver_dir="$(cd "$(dirname "$0")/.." && pwd)/build-tools/s3rver"
if [ ! -f "$s3rver_dir/node_modules/s3rver/bin/s3rver.js" ]; then
	echo "setup: installing s3rver@3.7.1 into $s3rver_dir" >&2
	npm install --prefix "$s3rver_dir" --no-audit --no-fund --ignore-scripts --silent s3rver@3.7.1 >&2
fi
# Azurite (npm), the Azure Storage emulator of tests/transform/azure_azurite.sh, in build-tools/:
# 3.35.0 is the newest whose engines allow the Node 20 here (3.36 needs 21, 3.37 needs 22)
azurite_dir="$(cd "$(dirname "$0")/.." && pwd)/build-tools/azurite"
if [ ! -f "$azurite_dir/node_modules/azurite/dist/src/blob/main.js" ]; then
	echo "setup: installing azurite@3.35.0 into $azurite_dir" >&2
	npm install --prefix "$azurite_dir" --no-audit --no-fund --ignore-scripts --silent azurite@3.35.0 >&2
fi
