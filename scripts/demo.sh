#!/bin/sh
# README command 1: install what is missing, build cratis, and deploy the bundled example
# (examples/hello, environment staging), then print where it is reachable.
set -eu
cd "$(dirname "$0")/.."
sh scripts/setup.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
./build/cratis apply -f examples/hello --env staging --auto-approve
url=$(./build/cratis output url -o raw -f examples/hello --env staging)
printf '\nhello is live at %s\n' "$url"
printf 'try: curl %s   then: ./build/cratis destroy -f examples/hello --env staging --auto-approve\n' "$url"
