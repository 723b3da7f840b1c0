#!/bin/sh
# The command line (issue 10, "help and usage", "shell completion", "man pages"): every command's
# help by --help, -h and `cratis help CMD` (stdout, exit 0, naming its flags); usage errors (an
# unknown flag, a stray argument, an -o format the command lacks, a bad value) exit 64 with
# "error: ..." and the usage on stderr; "did you mean" for commands, subcommands and flags; the
# bash, zsh (driven in a pseudo-terminal) and fish (complete -C) completion scripts complete the
# commands, flags, environments and addresses of the project in the current directory (or -f's);
# every man page renders.
. "$(dirname "$0")/lib.sh"
BUILD=${CRATIS_BUILD_DIR:-$(dirname "$CRATIS")}

# command: the flags its help must name
table='plan:--file --env --jobs --output --detailed-exitcode --refresh=false --target --out text|json|markdown
apply:--file --env --jobs --auto-approve --lock-timeout --grace --target --stream --refresh=false
destroy:--file --env --auto-approve --lock-timeout --grace --target --stream
get:--file --env --output text|json
history:--file --env --output [ID]
plugin:--file --output list
state:--file --env --output --force --lock-timeout list show unlock rm mv
version:--file --output show check
release:--file --dry-run
promote:--from --to --auto-approve --grace --lock-timeout
rollout:--file --env --lock-timeout --to status promote abort rollback history
artifact:--file --output --history record list
output:--file --env --output text|json|raw
logs:--file --env --follow --tail --since ADDRESS
env:--file --output list
explain:--file --output KIND[.FIELD]
validate:--file --env --output text|json
completion:bash zsh fish
help:COMMAND'
echo "$table" | while IFS=: read -r cmd flags; do
	for how in "--help" "-h" "help"; do
		if [ "$how" = help ]; then
			"$CRATIS" help "$cmd" >"$T/h.out" 2>"$T/h.err"
		else
			"$CRATIS" "$cmd" "$how" >"$T/h.out" 2>"$T/h.err"
		fi
		rc=$?
		miss=""
		for f in $flags --verbose --no-color --state-dir --state --help "Exit codes:" "Usage:"; do
			grep -qF -- "$f" "$T/h.out" || miss="$miss $f"
		done
		head -n 1 "$T/h.out" | grep -q "^cratis $cmd - " || miss="$miss (title)"
		if [ "$rc" = 0 ] && [ -z "$miss" ] && [ ! -s "$T/h.err" ]; then
			echo "ok - $cmd $how: exit 0, names its flags" >>"$T/oks"
		else
			echo "FAIL - $cmd $how: exit $rc, missing:$miss" >>"$T/fails"
			sed 's/^/    /' "$T/h.out" "$T/h.err" >>"$T/fails"
		fi
	done
done
[ -f "$T/oks" ] && cat "$T/oks" && passed=$((passed + $(wc -l <"$T/oks")))
[ -f "$T/fails" ] && cat "$T/fails" && failed=$((failed + $(grep -c '^FAIL' "$T/fails")))

# a subcommand's own help, and the overview
"$CRATIS" state rm --help >"$T/sub" 2>&1
expect_rc "state rm --help" 0 $?
expect_in "its title" "cratis state rm - forget resources" "$T/sub"
expect_in "its usage" "cratis state rm ADDRESS" "$T/sub"
expect_not_in "no other subcommand's flag" "--force" "$T/sub"
"$CRATIS" help state unlock >"$T/sub2" 2>&1
expect_rc "help state unlock" 0 $?
expect_in "names --force" "--force" "$T/sub2"
for how in --help -h help; do
	"$CRATIS" $how >"$T/ov" 2>"$T/ov.err"
	expect_rc "cratis $how" 0 $?
	expect_in "cratis $how lists the commands" "completion  print the shell completion script" "$T/ov"
	expect_in "cratis $how lists the exit codes" "64    usage error" "$T/ov"
done
"$CRATIS" >/dev/null 2>"$T/none"
expect_rc "cratis alone is a usage error" 64 $?
expect_in "and prints the overview on stderr" "Commands:" "$T/none"
"$CRATIS" __complete "" >"$T/cmds"
expect_not_in "hidden commands are not offered" "__man" "$T/cmds"

# usage errors: exit 64, "error: ...", the command's usage on stderr, nothing on stdout
usage_error() { # NAME NEEDLE ARGS...
	name=$1; needle=$2; shift 2
	"$CRATIS" "$@" >"$T/u.out" 2>"$T/u.err"
	expect_rc "$name" 64 $?
	expect_in "$name: the error" "$needle" "$T/u.err"
	expect_in "$name: the usage" "usage:" "$T/u.err"
	check "$name: nothing on stdout" test ! -s "$T/u.out"
}
usage_error "unknown flag" "error: unknown flag '--bogus' for 'cratis plan'" plan --env staging --bogus
usage_error "stray argument" "error: unexpected argument 'extra' for 'cratis plan'" plan --env staging extra
expect_in "stray argument: plan's usage" "cratis plan [-f PATH]..." "$T/u.err"
usage_error "apply -o json" "cratis apply has no output format 'json'; accepted: text" apply -o json
usage_error "get -o markdown" "cratis get has no output format 'markdown'; accepted: text, json" get -o markdown
usage_error "-o= form checked too" "accepted: text, json" history -o=yaml
usage_error "a second history id" "unexpected argument '2' for 'cratis history', which takes [ID]" history 1 2
usage_error "state show without an address" "cratis state show needs ADDRESS" state show
usage_error "state list takes no address" "unexpected argument 'x'" state list x
usage_error "--force only for unlock" "unknown flag '--force' for 'cratis state list'" state list --force
usage_error "artifact record needs three" "needs NAME VERSION DIGEST" artifact record app 1.0.0
usage_error "unknown subcommand" "unknown subcommand 'lst' for 'cratis state'; did you mean 'list'?" state lst
usage_error "a missing subcommand" "'cratis rollout' needs a subcommand" rollout
usage_error "a missing value" "error: --env needs a value" plan --env
usage_error "a bad -j" "error: -j: expected a number of parallel jobs from 1 to 1024" apply -j0
usage_error "a bad --grace" "error: --grace: expected seconds from 0 to 86400" apply --grace=soon
usage_error "a bad switch value" "error: --auto-approve: expected true or false" apply --auto-approve=maybe
usage_error "did you mean a flag" "unknown flag '--auto-aprove' for 'cratis apply'; did you mean '--auto-approve'?" apply --auto-aprove
usage_error "Terraform's single dash" "did you mean '--auto-approve'?" apply -auto-approve
usage_error "completion for an unknown shell" "no completion for shell 'bsh' (did you mean 'bash'?)" completion bsh
"$CRATIS" plna >"$T/u.out" 2>"$T/u.err"
expect_rc "unknown command" 64 $?
expect_in "did you mean a command" "error: unknown command 'plna'; did you mean 'plan'?" "$T/u.err"
"$CRATIS" help destory >/dev/null 2>"$T/u.err"
expect_rc "help of an unknown command" 64 $?
expect_in "help: did you mean" "did you mean 'destroy'?" "$T/u.err"

# flags still work as before: -fPATH, -j4, --refresh=false, --state-dir, -v, -- and -target/-out
P="$T/p"
mkdir -p "$P"
demo_core "$P/m.yaml"
cat >>"$P/m.yaml" <<'YAML'
---
apiVersion: cratis/v1
kind: Environment
metadata: {name: production}
spec:
  systems: [local]
---
apiVersion: exec/v1
kind: Task
metadata: {name: build}
spec:
  system: local
  apply: ["true"]
---
apiVersion: file/v1
kind: File
metadata: {name: page}
spec:
  system: local
  path: out/page.txt
  content: hi
YAML
"$CRATIS" plan -f"$P" --env=staging -j2 --refresh=false -o=json --state-dir "$T/sd" -v -target Task/build -out "$T/x.plan" >"$T/plan.json" 2>"$T/plan.err"
expect_rc "every form of flag parses" 0 $?
expect_in "the plan is JSON" '"environment": "staging"' "$T/plan.json"
check "--state-dir is honoured" test -f "$T/sd/state.db"
"$CRATIS" get --env staging -- -f >/dev/null 2>"$T/dd.err"
expect_rc "after --, a word is an argument, not a flag" 64 $?
expect_in "-- ends the flags" "unexpected argument '-f'" "$T/dd.err"

# bash completion: the script loads, registers _cratis, and completes from the table and the project
if command -v bash >/dev/null 2>&1; then
	PATH="$BUILD:$PATH"
	export PATH
	(cd "$P" && bash -c '
		source <(cratis completion bash) || exit 9
		complete -p cratis
		c() { COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=(); _cratis; echo "${COMPREPLY[*]}"; }
		echo "env: $(c cratis plan --env "")"
		echo "env=: $(c cratis apply --env = pro)"
		echo "cmd: $(c cratis pl)"
		echo "sub: $(c cratis state "")"
		echo "addr: $(c cratis state show "")"
		echo "target: $(c cratis destroy -target T)"
		echo "flag: $(c cratis apply --auto)"
		echo "fmt: $(c cratis plan -o "")"
		echo "file: $(c cratis plan -f m)"
		echo "other: $(c cratis plan -f "'"$P"'" --env "")"
	') >"$T/comp" 2>"$T/comp.err"
	expect_rc "the bash script loads" 0 $?
	expect_in "complete -p names the function" "complete -F _cratis cratis" "$T/comp"
	expect_in "--env completes both environments" "env: staging production" "$T/comp"
	expect_in "--env=VALUE (bash splits at =)" "env=: production" "$T/comp"
	expect_in "commands complete" "cmd: plan plugin" "$T/comp"
	expect_in "subcommands complete" "sub: list show unlock rm mv" "$T/comp"
	expect_in "addresses complete" "addr: Task/build File/page" "$T/comp"
	expect_in "-target completes addresses" "target: Task/build" "$T/comp"
	expect_in "flags complete" "flag: --auto-approve" "$T/comp"
	expect_in "-o completes the command's formats" "fmt: text json markdown" "$T/comp"
	expect_in "-f completes files" "file: m.yaml" "$T/comp"
	expect_in "-f's project is the one asked" "other: staging production" "$T/comp"
	check "completion took no lock and made no state" test ! -e "$P/.cratis"
	mkdir -p "$T/empty"
	(cd "$T/empty" && cratis __complete plan --env "") >"$T/noproj" 2>&1
	expect_rc "no project: no candidates, no error" 0 $?
	check "no project: nothing printed" test ! -s "$T/noproj"
else
	echo "ok - bash completion skipped: no bash"
fi
# bash on a terminal (the issue's check): an interactive bash in a pseudo-terminal with the
# script sourced; the line is typed and Tab pressed twice, and readline shows the completion
if command -v bash >/dev/null 2>&1 && command -v python3 >/dev/null 2>&1; then
	"$CRATIS" completion bash >"$T/comp.bash"
	cat >"$T/term_bash.py" <<'PY'
import os, pty, re, select, sys
script, line, want = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
def read_until(pat, polls=300):
    out = b""
    for _ in range(polls):
        if select.select([fd], [], [], 0.1)[0]:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
        if pat.encode() in out:
            break
    return out.decode(errors="replace")
os.write(fd, ("PS1='> '; source '%s'; echo RE''ADY\n" % script).encode())
read_until("READY\r\n")
os.write(fd, line.encode() + b"\t\t")
out = read_until(want)
os.kill(pid, 9)
os.waitpid(pid, 0)
print(re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out))
PY
	bc() { (cd "$P" && PATH="$BUILD:$PATH" python3 "$T/term_bash.py" "$T/comp.bash" "$1" "$2") >"$T/bash.out" 2>&1; }
	bc 'cratis state show ' 'Task/build'
	expect_in "bash on a terminal lists the addresses after 'state show '" "File/page" "$T/bash.out"
	expect_in "both of them" "Task/build" "$T/bash.out"
	bc 'cratis state show T' 'cratis state show Task/build'
	expect_in "bash on a terminal completes an address" "cratis state show Task/build" "$T/bash.out"
	bc 'cratis plan --env pro' 'cratis plan --env production'
	expect_in "bash on a terminal completes an environment" "cratis plan --env production" "$T/bash.out"
fi

# zsh and fish: each script parses, loads in its shell and completes from the table and the project
for sh in zsh fish; do
	"$CRATIS" completion $sh >"$T/comp.$sh"
	expect_rc "completion $sh" 0 $?
	expect_in "the $sh script calls __complete" "__complete" "$T/comp.$sh"
done
if command -v zsh >/dev/null 2>&1; then
	zsh -n "$T/comp.zsh"
	expect_rc "the zsh script parses (zsh -n)" 0 $?
	# real completion: an interactive zsh in a pseudo-terminal (zpty) with compinit and the
	# script loaded; the line is typed and Tab pressed twice (the second lists the candidates)
	cat >"$T/drive.zsh" <<'ZSH'
zmodload zsh/zpty || exit 3
zpty z zsh -f -i
zpty -w z "PS1='> '; autoload -Uz compinit; compinit -u -D; source ${(q)1}; print READY"
while zpty -r z line; do [[ $line == *READY* ]] && break; done
zpty -w -n z "$2"$'\t\t'
out=
for i in {1..300}; do
  while zpty -r -t z chunk; do out+=$chunk; done
  [[ $out == *$3* ]] && break
  sleep 0.1
done
zpty -d z
print -r -- "${out//$'\e'\[[0-9;?]#[a-zA-Z]/}"
ZSH
	zc() { (cd "$P" && PATH="$BUILD:$PATH" zsh -f "$T/drive.zsh" "$T/comp.zsh" "$1" "$2") >"$T/zsh.out" 2>&1; }
	zc 'cratis plan --env ' 'production  staging'
	expect_in "zsh lists both environments for --env" "production  staging" "$T/zsh.out"
	zc 'cratis plan --env pro' 'cratis plan --env production'
	expect_in "zsh completes an environment name" "cratis plan --env production" "$T/zsh.out"
	zc 'cratis state show T' 'cratis state show Task/build'
	expect_in "zsh completes a resource address" "cratis state show Task/build" "$T/zsh.out"
	zc 'cratis destr' 'cratis destroy'
	expect_in "zsh completes a command" "cratis destroy" "$T/zsh.out"
else
	echo "ok - zsh not installed (scripts/setup.sh installs it): its script is not loaded"
fi
if command -v fish >/dev/null 2>&1; then
	fish -n "$T/comp.fish"
	expect_rc "the fish script parses (fish -n)" 0 $?
	(cd "$P" && PATH="$BUILD:$PATH" fish --no-config -c "source '$T/comp.fish'
		echo env: (complete -C 'cratis plan --env ' | cut -f1)
		echo env=: (complete -C 'cratis apply --env=pro' | cut -f1)
		echo addr: (complete -C 'cratis state show ' | cut -f1)
		echo cmd: (complete -C 'cratis pl' | cut -f1)
		echo flag: (complete -C 'cratis apply --auto' | cut -f1)
		echo other: (cd /; complete -C 'cratis plan -f $P --env ' | cut -f1)") >"$T/fish.out" 2>&1
	expect_rc "the fish script loads" 0 $?
	expect_in "fish completes both environments" "env: production staging" "$T/fish.out"
	expect_in "fish completes --env=VALUE" "env=: --env=production" "$T/fish.out"
	expect_in "fish completes addresses" "addr: File/page Task/build" "$T/fish.out"
	expect_in "fish completes commands" "cmd: plan plugin" "$T/fish.out"
	expect_in "fish completes flags" "flag: --auto-approve" "$T/fish.out"
	expect_in "fish: -f's project is the one asked" "other: production staging" "$T/fish.out"
else
	echo "ok - fish not installed (scripts/setup.sh installs it): its script is not loaded"
fi

# "did you mean" for names looked up in the state: addresses, deployment ids
SD="$T/sd2"
mkdir -p "$P/out"
"$CRATIS" apply -f "$P" --env staging --auto-approve --state-dir "$SD" >/dev/null 2>"$T/dym.apply"
expect_rc "apply the project" 0 $?
"$CRATIS" state show -f "$P" --env staging --state-dir "$SD" File/pgae >/dev/null 2>"$T/dym.err"
expect_rc "state show of an address not recorded" 1 $?
expect_in "state show: did you mean the recorded address" "hint: did you mean 'File/page'?" "$T/dym.err"
"$CRATIS" state show -f "$P" --env staging --state-dir "$SD" task/build >/dev/null 2>"$T/dym.err"
expect_in "state show: case is a typo too" "hint: did you mean 'Task/build'?" "$T/dym.err"
"$CRATIS" state rm -f "$P" --env staging --state-dir "$SD" Task/buidl >/dev/null 2>"$T/dym.err"
expect_in "state rm: did you mean" "hint: did you mean 'Task/build'?" "$T/dym.err"
"$CRATIS" state mv -f "$P" --env staging --state-dir "$SD" Task/bulid Task/b2 >/dev/null 2>"$T/dym.err"
expect_in "state mv: did you mean" "hint: did you mean 'Task/build'?" "$T/dym.err"
"$CRATIS" history -f "$P" --env staging --state-dir "$SD" 7 >/dev/null 2>"$T/dym.err"
expect_rc "history of an unknown deployment" 1 $?
expect_in "history ID: what exists" "hint: the latest deployment is 1" "$T/dym.err"
"$CRATIS" history -f "$P" --env staging --state-dir "$SD" 1 >"$T/dym.out" 2>&1
expect_rc "history of a known deployment" 0 $?
"$CRATIS" history -f "$P" --env stagign --state-dir "$SD" >/dev/null 2>"$T/dym.err"
expect_rc "history of an unknown environment" 1 $?
expect_in "history --env: did you mean" "hint: did you mean 'staging'?" "$T/dym.err"
"$CRATIS" history -f "$P" --env production --state-dir "$SD" >/dev/null 2>&1
expect_rc "history of a defined environment never deployed: empty, not an error" 0 $?
"$CRATIS" destroy -f "$P" --env staging --auto-approve --state-dir "$SD" >/dev/null 2>&1

# man pages: one per command and cratis.1, built by meson, installed into share/man/man1
M="$BUILD/man"
for c in "" plan apply destroy get history plugin state version release promote rollout artifact output logs env explain validate completion help; do
	page=cratis${c:+-$c}
	check "$page.1 is built" test -s "$M/$page.1"
	if command -v man >/dev/null 2>&1; then
		MANWIDTH=80 man -l "$M/$page.1" >"$T/man.txt" 2>"$T/man.err"
		expect_rc "man -l $page.1" 0 $?
		title=$(echo "$page" | tr a-z A-Z)
		expect_in "$page renders its title" "$title(1)" "$T/man.txt"
		check "$page renders without warnings" test ! -s "$T/man.err"
	fi
done
if command -v man >/dev/null 2>&1; then
	MANWIDTH=80 man -l "$M/cratis-apply.1" >"$T/man.txt" 2>&1
	expect_in "cratis-apply(1) has its options" "--auto-approve" "$T/man.txt"
	expect_in "and its exit status" "EXIT STATUS" "$T/man.txt"
	MANWIDTH=80 man -l "$M/cratis.1" >"$T/man.txt" 2>&1
	expect_in "cratis(1) lists cratis-apply(1)" "cratis-apply(1)" "$T/man.txt"
else
	echo "ok - man not installed: pages are not rendered"
fi
if command -v meson >/dev/null 2>&1 && [ -f "$BUILD/build.ninja" ]; then
	meson introspect "$BUILD" --installed >"$T/installed" 2>&1
	expect_in "meson install puts cratis-apply.1 in man1" "share/man/man1/cratis-apply.1" "$T/installed"
fi
"$CRATIS" __man --dir "$T" cratis cratis-plan >/dev/null 2>"$T/drift"
expect_rc "a page list that misses commands fails the build" 1 $?
expect_in "naming the command" "command 'apply' has no man page" "$T/drift"
# docs/cli.md and the README list every command of the table
"$CRATIS" __complete "" | cut -f1 >"$T/all"
while read -r c; do
	check "docs/cli.md lists cratis $c" grep -q "^| \`cratis $c" "$SRC/docs/cli.md"
	check "README lists cratis $c" grep -q "^| \`cratis $c" "$SRC/README.md"
done <"$T/all"
finish
