#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Podman drives an OCI runtime: tests/peers/podman-runtime.sh RUNTIME_PATH
#
# Runs Debian's podman with `--runtime RUNTIME_PATH`, its own --root,
# --runroot and --tmpdir and runtime --root (temporary), the cgroupfs cgroup manager, a
# per-run cgroup parent and no network, so that the host's podman storage is
# not touched. Imports a busybox image made from /bin/busybox and checks:
# run --rm, -d + exec + stop + rm, an OOM kill under --memory 32m,
# pause/unpause, stats. One PASS/FAIL line per check, then "N passed, N
# failed"; exit 1 if any failed. Everything it created is removed on exit.
# Takes about 20 s with runc.
set -euo pipefail

PEER_NAME=podman-peer
# shellcheck source=tests/peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

[ $# -eq 1 ] || die "usage: $0 RUNTIME_PATH"
[ "$(id -u)" -eq 0 ] || die "must run as root"
RUNTIME=$1
[[ "$RUNTIME" == /* ]] || RUNTIME=$PWD/$RUNTIME
[ -x "$RUNTIME" ] || die "runtime $RUNTIME is not an executable file"

install_packages podman conmon busybox-static

UNIQUE=skiff-peer-$$-$RANDOM
BASE=$(mktemp -d "/var/tmp/$UNIQUE.XXXXXX")
PEER_TMP=$BASE
IMG=localhost/skiff-peer-busybox:$$
CGROUP_ROOTS_BEFORE=$(cgroup_roots)
# Host-wide state that rootful podman creates whatever --root says: its SHM
# lock table, the netavark run dir, the blob-info cache. Removed on exit if
# this run created them and no other podman or conmon is running by then.
HOST_STATE=(/dev/shm/libpod_lock /run/containers /var/lib/containers)
CREATED_HOST_STATE=()
for p in "${HOST_STATE[@]}"; do [ -e "$p" ] || CREATED_HOST_STATE+=("$p"); done

# Every podman call: private storage and state, our runtime, cgroupfs, file
# events (no journald needed), and a time limit so that a hung runtime fails
# the check instead of the CI run.
pm() {
	timeout -k 5 30 podman --root "$BASE/root" --runroot "$BASE/runroot" --tmpdir "$BASE/tmp" \
		--runtime "$RUNTIME" --runtime-flag "root=$BASE/runtime-state" \
		--cgroup-manager cgroupfs --events-backend file "$@"
}

cleanup() {
	local rc=$?
	set +e
	pm rm -af -t 0 >/dev/null 2>&1
	pm rmi -af >/dev/null 2>&1
	kill_by_path "$BASE" # conmon or containers left by a failed rm
	unmount_under "$BASE"
	remove_cgroups "$UNIQUE"
	remove_new_cgroup_roots "$CGROUP_ROOTS_BEFORE"
	# (zombies do not count: exited conmons linger until init reaps them)
	if [ ${#CREATED_HOST_STATE[@]} -gt 0 ] &&
		[ -z "$(ps -eo stat=,comm= | awk '$1 !~ /^Z/ && ($2 == "podman" || $2 == "conmon")')" ]; then
		rm -rf "${CREATED_HOST_STATE[@]}"
	fi
	rm -rf "$BASE"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

make_busybox_tar "$BASE/busybox.tar"
pm import -q -c 'CMD ["sh"]' "$BASE/busybox.tar" "$IMG" >/dev/null

# podman run with our runtime. This VM's hard limits are below podman's
# default nofile/nproc, so set them explicitly.
prun() {
	pm run --network none --cgroup-parent "/$UNIQUE" \
		--ulimit nofile=1024:1024 --ulimit nproc=1024:1024 "$@"
}
state() { pm inspect -f "$1" "$2"; }

check_run_rm() {
	local out
	out=$(prun --rm "$IMG" echo hi)
	expect_eq "output of echo hi" hi "$out"
}

check_detach_exec_stop_rm() {
	local c=$UNIQUE-exec out
	prun -d --name "$c" "$IMG" sleep 300 >/dev/null
	expect_eq "runtime in use" "$RUNTIME" "$(state '{{.OCIRuntime}}' "$c")"
	expect_eq "state after run -d" running "$(state '{{.State.Status}}' "$c")"
	out=$(pm exec "$c" sh -c 'echo exec-ok; echo $$')
	expect_eq "podman exec output" $'exec-ok\n'"$(echo "$out" | tail -n1)" "$out"
	# pid 1 ignores SIGTERM (sleep has no handler), so stop must escalate to SIGKILL.
	pm stop -t 2 "$c" >/dev/null
	expect_eq "state after stop" exited "$(state '{{.State.Status}}' "$c")"
	pm rm "$c" >/dev/null
	if pm container exists "$c"; then
		echo "container $c still exists after podman rm" >&2
		return 1
	fi
}

check_oom() {
	local c=$UNIQUE-oom rc=0 id
	# dd's 256 MiB buffer is touched while reading /dev/zero: far over 32 MiB.
	prun --name "$c" --memory 32m "$IMG" dd if=/dev/zero of=/dev/null bs=256M count=1 >/dev/null 2>&1 || rc=$?
	expect_eq "exit status" 137 "$rc"
	# podman 4.3 does not set State.OOMKilled on this host, even with runc
	# (conmon writes its "oom" file where podman < 5 does not look: podman
	# issue 13102). So ask the kernel: its OOM report names the memory cgroup.
	id=$(state '{{.Id}}' "$c")
	if ! dmesg | grep -q "oom-kill:.*task_memcg=/$UNIQUE/libpod-$id"; then
		echo "the kernel log has no OOM kill in cgroup /$UNIQUE/libpod-$id" >&2
		return 1
	fi
	echo "podman inspect OOMKilled: $(state '{{.State.OOMKilled}}' "$c") (not checked)"
	pm rm -f "$c" >/dev/null
}

check_pause_unpause() {
	local c=$UNIQUE-pause
	prun -d --name "$c" "$IMG" sleep 300 >/dev/null
	pm pause "$c" >/dev/null
	expect_eq "state after pause" paused "$(state '{{.State.Status}}' "$c")"
	pm unpause "$c" >/dev/null
	expect_eq "state after unpause" running "$(state '{{.State.Status}}' "$c")"
	pm exec "$c" true
	pm rm -f -t 0 "$c" >/dev/null
}

check_stats() {
	local c=$UNIQUE-stats row
	prun -d --name "$c" "$IMG" sleep 300 >/dev/null
	row=$(pm stats --no-stream --format '{{.Name}} {{.MemUsage}}' "$c")
	pm rm -f -t 0 "$c" >/dev/null
	# e.g. "skiff-peer-…-stats 405.5kB / 25.28GB": a non-zero usage.
	if ! [[ "$row" =~ ^$c\ ([0-9.]+)([kKMG]i?B|B)\ / ]] || [ "${BASH_REMATCH[1]}" = 0 ]; then
		echo "podman stats row without a memory usage: '$row'" >&2
		return 1
	fi
}

check "podman run --rm echo hi" check_run_rm
check "podman run -d, exec, stop, rm" check_detach_exec_stop_rm
check "podman run --memory 32m OOM: exit 137, kernel OOM kill" check_oom
check "podman pause/unpause" check_pause_unpause
check "podman stats --no-stream memory usage" check_stats
finish
