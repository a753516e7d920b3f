#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Docker drives an OCI runtime: tests/peers/docker-runtime.sh RUNTIME_PATH
#
# Starts a private dockerd (Debian's docker.io) with `--add-runtime
# skiff=RUNTIME_PATH`: its own data root, exec root, pidfile, socket and
# cgroup parent, no bridge, no iptables, so nothing of the host's Docker (if
# any) is touched. Imports a busybox image made from /bin/busybox and checks
# that `docker run --runtime skiff` works for: run --rm, -d + exec + stop +
# rm, an OOM kill under --memory 32m, pause/unpause, stats. One PASS/FAIL
# line per check, then "N passed, N failed"; exit 1 if any failed.
# Everything it created is removed on exit, also on failure or Ctrl-C.
# Takes about 30 s with runc.
set -euo pipefail

PEER_NAME=docker-peer
# shellcheck source=tests/peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 RUNTIME_PATH"
[ "$(id -u)" -eq 0 ] || die "must run as root (it starts dockerd)"
RUNTIME=$1
[[ "$RUNTIME" == /* ]] || RUNTIME=$PWD/$RUNTIME
[ -x "$RUNTIME" ] || die "runtime $RUNTIME is not an executable file"

install_packages docker.io busybox-static
command -v docker >/dev/null || die "no docker CLI in PATH (Debian's docker.io provides one)"

UNIQUE=skiff-peer-$$-$RANDOM
BASE=$(mktemp -d "/var/tmp/$UNIQUE.XXXXXX")
PEER_TMP=$BASE
SOCK=/run/$UNIQUE-docker.sock
IMG=skiff-peer-busybox:$$
DOCKERD_PID=""
CGROUP_ROOTS_BEFORE=$(cgroup_roots)

# Every docker call has a time limit (and SIGKILL 5 s later: the CLI forwards
# SIGTERM to the container), so that a hung runtime fails a check instead of
# the CI run.
dk() { timeout -k 5 30 docker "$@"; }

cleanup() {
	local rc=$?
	set +e
	if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2>/dev/null; then
		# shellcheck disable=SC2046
		dk rm -f $(dk ps -aq 2>/dev/null) >/dev/null 2>&1
		kill -TERM "$DOCKERD_PID"
		for _ in $(seq 1 100); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
		kill -9 "$DOCKERD_PID" 2>/dev/null
	fi
	kill_by_path "$BASE" # its containerd and shims, if dockerd died without them
	unmount_under "$BASE"
	remove_cgroups "$UNIQUE"
	remove_new_cgroup_roots "$CGROUP_ROOTS_BEFORE"
	rm -rf "$BASE" "$SOCK"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export DOCKER_HOST=unix://$SOCK DOCKER_CONFIG=$BASE/cli
mkdir -p "$DOCKER_CONFIG"
# dockerd 20.10 otherwise writes its libtrust key to /etc/docker/key.json.
printf '{"deprecated-key-path": "%s/key.json"}\n' "$BASE" >"$BASE/daemon.json"

log "starting dockerd (data root $BASE/data, socket $SOCK)"
dockerd --config-file "$BASE/daemon.json" \
	--data-root "$BASE/data" --exec-root "$BASE/exec" --pidfile "$BASE/dockerd.pid" \
	-H "unix://$SOCK" --bridge=none --iptables=false --ip6tables=false \
	--ip-forward=false --ip-masq=false --userland-proxy=false \
	--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$UNIQUE" \
	--add-runtime "skiff=$RUNTIME" --log-level warn >"$BASE/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 1 150); do
	timeout -k 5 5 docker version >/dev/null 2>&1 && break
	kill -0 "$DOCKERD_PID" 2>/dev/null || { cat "$BASE/dockerd.log" >&2; die "dockerd exited"; }
	sleep 0.2
done
timeout -k 5 5 docker version >/dev/null 2>&1 || { tail -20 "$BASE/dockerd.log" >&2; die "dockerd did not answer within 30 s"; }

make_busybox_tar "$BASE/busybox.tar"
dk import -c 'CMD ["sh"]' "$BASE/busybox.tar" "$IMG" >/dev/null

# docker run with our runtime and no network (there is no bridge).
drun() { dk run --runtime skiff --network none "$@"; }
state() { dk inspect -f "$1" "$2"; }

check_run_rm() {
	local out
	out=$(drun --rm "$IMG" echo hi)
	expect_eq "output of echo hi" hi "$out"
}

check_detach_exec_stop_rm() {
	local c=$UNIQUE-exec out
	drun -d --name "$c" "$IMG" sleep 300 >/dev/null
	expect_eq "runtime in use" skiff "$(state '{{.HostConfig.Runtime}}' "$c")"
	expect_eq "state after run -d" running "$(state '{{.State.Status}}' "$c")"
	out=$(dk exec "$c" sh -c 'echo exec-ok; echo $$')
	expect_eq "docker exec output" $'exec-ok\n'"$(echo "$out" | tail -n1)" "$out"
	# pid 1 ignores SIGTERM (sleep has no handler), so stop must escalate to SIGKILL.
	dk stop -t 2 "$c" >/dev/null
	expect_eq "state after stop" exited "$(state '{{.State.Status}}' "$c")"
	dk rm "$c" >/dev/null
	if dk inspect "$c" >/dev/null 2>&1; then
		echo "container $c still exists after docker rm" >&2
		return 1
	fi
}

check_oom() {
	local c=$UNIQUE-oom rc=0
	# dd's 256 MiB buffer is touched while reading /dev/zero: far over 32 MiB.
	drun --name "$c" --memory 32m "$IMG" dd if=/dev/zero of=/dev/null bs=256M count=1 >/dev/null 2>&1 || rc=$?
	expect_eq "exit status" 137 "$rc"
	expect_eq "inspect OOMKilled" true "$(state '{{.State.OOMKilled}}' "$c")"
	dk rm -f "$c" >/dev/null
}

check_pause_unpause() {
	local c=$UNIQUE-pause
	drun -d --name "$c" "$IMG" sleep 300 >/dev/null
	dk pause "$c" >/dev/null
	expect_eq "state after pause" paused "$(state '{{.State.Status}}' "$c")"
	dk unpause "$c" >/dev/null
	expect_eq "state after unpause" running "$(state '{{.State.Status}}' "$c")"
	dk exec "$c" true
	dk rm -f "$c" >/dev/null
}

check_stats() {
	local c=$UNIQUE-stats row
	drun -d --name "$c" "$IMG" sleep 300 >/dev/null
	row=$(dk stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$c")
	dk rm -f "$c" >/dev/null
	# e.g. "skiff-peer-…-stats 408KiB / 23.54GiB": a non-zero usage.
	if ! [[ "$row" =~ ^$c\ ([0-9.]+)([KMG]i?B|B)\ / ]] || [ "${BASH_REMATCH[1]}" = 0 ]; then
		echo "docker stats row without a memory usage: '$row'" >&2
		return 1
	fi
}

check "docker run --rm echo hi" check_run_rm
check "docker run -d, exec, stop, rm" check_detach_exec_stop_rm
check "docker run --memory 32m OOM: exit 137, OOMKilled" check_oom
check "docker pause/unpause" check_pause_unpause
check "docker stats --no-stream memory usage" check_stats
finish
