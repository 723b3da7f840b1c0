# sshd on loopback for the ssh tests (sourced after lib.sh): start_sshd NAME starts an OpenSSH
# server as the current user on a free 127.0.0.1 port, in $T/sshd-NAME, with a generated host key
# and the test's user key ($T/id_ed25519) authorized, no password logins, LogLevel VERBOSE into
# $T/sshd-NAME/log. It sets SSH_PORT and SSH_HOSTKEY (the public host key). Every server is
# stopped when the test ends, pass or fail.
SSHD=${SSHD:-/usr/sbin/sshd}
[ -f "$T/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C cratis-test -f "$T/id_ed25519"
SSH_USER=$(id -un)
sshd_pids=""
stop_sshds() {
	for p in $sshd_pids; do kill "$p" 2>/dev/null || true; done
	return 0
}
cleanup_hooks="$cleanup_hooks stop_sshds"

start_sshd() {
	d="$T/sshd-$1"
	mkdir -p "$d"
	[ -f "$d/host" ] || ssh-keygen -q -t ed25519 -N '' -C "host-$1" -f "$d/host"
	cp "$T/id_ed25519.pub" "$d/authorized_keys"
	# sshd running as root needs its privilege separation directory
	if [ "$(id -u)" = 0 ] && [ ! -d /run/sshd ]; then mkdir -p /run/sshd && chmod 0755 /run/sshd; fi
	SSH_PORT=$(free_port)
	cat >"$d/config" <<CFG
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $d/host
PidFile $d/pid
AuthorizedKeysFile $d/authorized_keys
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
StrictModes no
LogLevel VERBOSE
MaxStartups 100
CFG
	"$SSHD" -D -f "$d/config" -E "$d/log" &
	sshd_pids="$sshd_pids $!"
	SSH_HOSTKEY=$(cut -d' ' -f1,2 "$d/host.pub")
	wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $SSH_PORT), 1)"
}

# ssh_system NAME PORT HOSTKEY: a System document of type ssh with the key pinned
ssh_system() {
	cat <<YAML
apiVersion: cratis/v1
kind: System
metadata: {name: $1}
spec:
  type: ssh
  host: 127.0.0.1
  port: $2
  user: $SSH_USER
  auth: {identityFile: {fromFile: $T/id_ed25519}}
  hostKey: "$3"
YAML
}
