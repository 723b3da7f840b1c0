#!/bin/sh
# The C plugin walk-through of docs/plugins.md: install cratis into a staging root, build the
# example plugin with pkg-config exactly as documented, drop it in the project's plugin
# directory, and apply a manifest of its kind.
. "$(dirname "$0")/lib.sh"
BUILD=${CRATIS_BUILD_DIR:-$SRC/build}
ROOT="$T/root"
DESTDIR="$ROOT" meson install -C "$BUILD" --no-rebuild >"$T/install.log" 2>&1
expect_rc "meson install into a staging root" 0 $?
pc=$(find "$ROOT" -name cratis-plugin.pc | head -n 1)
check "cratis-plugin.pc is installed" test -n "$pc"
check "plugin.h is installed" test -n "$(find "$ROOT" -path '*/cratis/plugin.h')"
check "built-in plugins are installed" test -n "$(find "$ROOT" -name cratis-exec.so)"
export PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$ROOT"
P="$T/project"
mkdir -p "$P/.cratis/plugins"
cp "$SRC/examples/echo/echo.yaml" "$P/"
# shellcheck disable=SC2046
cc -shared -fPIC -fvisibility=hidden -Wall -Wextra -Werror -o "$P/.cratis/plugins/cratis-echo.so" \
	"$SRC/examples/plugins/c-echo/echo.c" $(pkg-config --cflags --libs cratis-plugin)
expect_rc "the example plugin builds with pkg-config" 0 $?
check "it exports only cratis_plugin_init" sh -c "nm -D --defined-only '$P/.cratis/plugins/cratis-echo.so' | grep ' T ' | grep -v cratis_plugin_init | wc -l | grep -qx 0"
"$CRATIS" plugin list -f "$P" >"$T/list.out" 2>&1
expect_in "plugin list shows it" "echo/v1 Echo" "$T/list.out"
"$CRATIS" apply -f "$P" --auto-approve >"$T/apply.out" 2>"$T/apply.err"
expect_rc "apply with the C plugin" 0 $?
expect_in "the plugin logged through the host" "Echo/greeting: echo Echo/greeting in '': {\"message\":\"hello from a C plugin\"}" "$T/apply.err"
"$CRATIS" state show Echo/greeting -f "$P" >"$T/show.out" 2>&1
expect_in "its output is recorded" "\"bytes\": 35" "$T/show.out"
sed 's/message:/mesage:/' "$SRC/examples/echo/echo.yaml" >"$P/echo.yaml"
"$CRATIS" plan -f "$P" >/dev/null 2>"$T/typo.err"
expect_rc "a field the plugin's table does not declare is refused" 1 $?
expect_in "with the hint from the table" "hint: did you mean 'message'?" "$T/typo.err"
finish
