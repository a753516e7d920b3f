# shellcheck shell=bash
# SPDX-License-Identifier: Apache-2.0
# Shared helpers for tests/peers/*-runtime.sh (sourced, not run).

PEER_PASSED=0
PEER_FAILED=0

log() { printf '[%s] %s\n' "${PEER_NAME:-peer}" "$*" >&2; }
die() {
	printf '[%s] error: %s\n' "${PEER_NAME:-peer}" "$*" >&2
	exit 2
}

# install_packages PKG… : apt-get install the ones that are missing.
install_packages() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return
	log "installing ${missing[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# make_busybox_tar FILE : a root filesystem of /bin/busybox, its applets as
# symlinks, /etc/passwd and /etc/group, as an uncompressed tar.
make_busybox_tar() {
	local out=$1 root applet
	root=$(mktemp -d "$(dirname "$out")/rootfs.XXXXXX")
	mkdir -p "$root"/{bin,dev,etc,proc,sys,tmp,root,home}
	chmod 1777 "$root/tmp"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
	done
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	tar --numeric-owner --owner=0 --group=0 -C "$root" -cf "$out" .
	rm -rf "$root"
}

# check NAME COMMAND… : run one check; a PASS or FAIL line, never aborts.
# The command prints its own diagnostics on failure (to stderr). It runs as a
# background job so that `set -e` stays in force inside it (bash ignores -e
# in anything run as the left side of || or inside an `if`).
check() {
	local name=$1 out rc=0
	shift
	"$@" >"$PEER_TMP/check.out" 2>&1 &
	wait $! || rc=$?
	out=$(cat "$PEER_TMP/check.out")
	if [ "$rc" -eq 0 ]; then
		PEER_PASSED=$((PEER_PASSED + 1))
		printf 'PASS %s\n' "$name"
	else
		PEER_FAILED=$((PEER_FAILED + 1))
		case $rc in
		124) printf 'FAIL %s (a command timed out)\n' "$name" ;;
		137) printf 'FAIL %s (exit 137: a command was killed, after its time limit or by OOM)\n' "$name" ;;
		*) printf 'FAIL %s (exit %d)\n' "$name" "$rc" ;;
		esac
		[ -z "$out" ] || printf '%s\n' "$out" | sed 's/^/    /'
	fi
}

# expect_eq WHAT EXPECTED ACTUAL
expect_eq() {
	if [ "$2" != "$3" ]; then
		printf '%s: expected %q, got %q\n' "$1" "$2" "$3" >&2
		return 1
	fi
}

# The closing line CI reads, and the exit status.
finish() {
	printf '%d passed, %d failed\n' "$PEER_PASSED" "$PEER_FAILED"
	[ "$PEER_FAILED" -eq 0 ]
}

# pids_by_path DIR : processes whose command line mentions DIR.
pids_by_path() {
	local dir=$1 proc cmdline
	for proc in /proc/[0-9]*; do
		[ "${proc#/proc/}" = "$$" ] && continue
		cmdline=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
		if [[ "$cmdline" == *"$dir"* ]]; then echo "${proc#/proc/}"; fi
	done
	return 0
}

# kill_by_path DIR : processes whose command line mentions DIR, a directory
# unique to this run (daemons, shims, conmon, podman's exit commands), get 5 s
# to finish by themselves, then SIGKILL.
kill_by_path() {
	local dir=$1 pids
	for _ in $(seq 1 25); do
		pids=$(pids_by_path "$dir")
		[ -z "$pids" ] && return 0
		sleep 0.2
	done
	# shellcheck disable=SC2086
	kill -9 $pids 2>/dev/null || true
	for _ in $(seq 1 10); do
		[ -z "$(pids_by_path "$dir")" ] && return 0
		sleep 0.2
	done
}

# unmount_under DIR : lazily unmount every mount below DIR, deepest first.
unmount_under() {
	local dir=$1 m
	awk -v d="$dir/" 'index($5, d) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
}

# remove_cgroups NAME : remove /sys/fs/cgroup/*/NAME, deepest first. On a
# hybrid host, conmon also mkdirs NAME under /sys/fs/cgroup/{hugetlb,net_prio,
# perf_event}, controllers that are not mounted: those are plain tmpfs
# directories (with a "tasks" file) and need rm -r.
remove_cgroups() {
	local name=$1 d
	for d in /sys/fs/cgroup/*/"$name" /sys/fs/cgroup/"$name"; do
		[ -d "$d" ] || continue
		if [ "$(stat -f -c %T "$d")" = tmpfs ]; then
			rm -rf "$d"
		else
			find "$d" -depth -type d -exec rmdir {} \; 2>/dev/null || true
		fi
	done
}

# cgroup_roots : the entries of /sys/fs/cgroup, to pass to remove_new_cgroup_roots.
cgroup_roots() { ls -1 /sys/fs/cgroup; }

# remove_new_cgroup_roots BEFORE : rmdir the plain, empty tmpfs directories
# that appeared in /sys/fs/cgroup since BEFORE (conmon's, see above).
remove_new_cgroup_roots() {
	local before=$1 d
	for d in $(cgroup_roots); do
		grep -qxF "$d" <<<"$before" && continue
		d=/sys/fs/cgroup/$d
		if [ -d "$d" ] && [ "$(stat -f -c %T "$d")" = tmpfs ] && ! mountpoint -q "$d"; then
			rmdir "$d" 2>/dev/null || true
		fi
	done
}
