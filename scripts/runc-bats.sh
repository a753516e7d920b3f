#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Run runc 1.1.5's own bats integration suite against an OCI runtime.
#
#   scripts/runc-bats.sh [--results FILE] [--baseline TAP [--known FILE]] RUNTIME [FILTER…]
#   scripts/runc-bats.sh --compare BASELINE.tap CANDIDATE.tap [--known FILE]
#   scripts/runc-bats.sh --prepare
#
# RUNTIME is the runc-compatible binary (for example /usr/sbin/runc or a
# `skiff-runtime` symlink to skiff); the suite calls it as $RUNC. Each FILTER
# is either a file name (`exec.bats`) that selects files, or a regular
# expression that selects tests by name (bats --filter; several are OR-ed).
#
# Everything the suite needs is prepared idempotently in a cache directory
# (SKIFF_CI_CACHE, default /var/cache/skiff-ci): runc's tests/integration from
# Debian's source package (a private deb-src list, so the system's apt
# configuration is untouched), testdata images built offline from
# /bin/busybox, a recvtty stand-in (scripts/lib/recvtty.c), a `go env
# GOARCH` shim. The suite runs under a pty (`script`), without
# seccomp-notify*.bats (they hang without runc's seccompagent). The spec
# validator test, which git-clones runtime-spec, is rewritten to validate
# offline against Debian's copy of the schema. Runs are serialised by a lock
# in the cache; on exit (also on INT/TERM or a timeout) leftover processes,
# mounts and cgroups of the run are removed.
#
# The results file is TAP whose test names are prefixed with their file
# ("exec.bats: runc exec"), so that names are unique and comparable; the raw
# bats output, with the diagnostics of failed tests, is kept next to it as
# FILE.log. The last line printed is "N passed, N failed, N skipped".
#
# Exit status: with --baseline, 1 only if a test that passes in the baseline
# fails here (tests listed in --known are reported but allowed); without it,
# 1 if any test failed. --compare prints the tests that pass in BASELINE but
# fail (or are missing or skipped) in CANDIDATE and exits 1 if any failed.
#
# Environment: SKIFF_CI_CACHE (cache dir), SKIFF_BATS_FILE_TIMEOUT (seconds
# one .bats file may take, default 300; its unfinished tests are then
# reported as failed), SKIFF_BATS_TIMEOUT (whole run, default 1200 seconds).
set -euo pipefail

readonly RUNC_UPSTREAM_VERSION=1.1.5
SCRIPT_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
readonly SCRIPT_DIR
readonly CACHE=${SKIFF_CI_CACHE:-/var/cache/skiff-ci}
readonly SRC=$CACHE/runc-$RUNC_UPSTREAM_VERSION
readonly INTEG=$SRC/tests/integration
readonly OCI_SCHEMA=/usr/share/gocode/src/github.com/opencontainers/runtime-spec/schema/config-schema.json
# bats/jq/gawk: the suite; python3*: the spec validator; gcc and libc6-dev:
# recvtty, and tests compile helpers (seccomp, dev, hooks); dpkg-dev: apt-get
# source; util-linux: script, nsenter; golang-…-specs-dev: the OCI schema.
readonly PACKAGES=(bats jq gawk python3 python3-jsonschema gcc libc6-dev dpkg-dev
	xz-utils util-linux busybox-static golang-github-opencontainers-specs-dev)

log() { printf '[runc-bats] %s\n' "$*" >&2; }
die() {
	printf '[runc-bats] error: %s\n' "$*" >&2
	exit 2
}

usage() {
	sed -n '4,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

# ---------------------------------------------------------------------------
# Preparation (idempotent; serialised by a lock on the cache directory)
# ---------------------------------------------------------------------------

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

# The Debian mirror and suite of the system's own apt sources (deb822 or
# one-line format), so that no mirror host is hard-coded here.
debian_mirror() {
	local codename=$1 uri
	# deb822: the first stanza of type deb whose Suites name the codename.
	uri=$(gawk -v c="$codename" 'BEGIN { RS = ""; FS = "\n" }
		{
			uris = ""; suites = ""; types = ""
			for (i = 1; i <= NF; i++) {
				if ($i ~ /^URIs:/) uris = $i
				if ($i ~ /^Suites:/) suites = $i
				if ($i ~ /^Types:/) types = $i
			}
			if (types ~ /\<deb\>/ && (" " suites " ") ~ (" " c " ")) { split(uris, u, " "); print u[2]; exit }
		}' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n1)
	if [ -z "$uri" ]; then
		uri=$(gawk -v c="$codename" '$1 == "deb" && $0 ~ (" " c " ") { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
			/etc/apt/sources.list 2>/dev/null || true)
	fi
	[ -n "$uri" ] || die "cannot find a Debian mirror in /etc/apt/sources.list{,.d}; add one and retry"
	echo "$uri"
}

fetch_runc_source() {
	[ -f "$SRC/.skiff-ready" ] && return
	local codename mirror aptdir tmp
	codename=$(. /etc/os-release && echo "${VERSION_CODENAME:?}")
	mirror=$(debian_mirror "$codename")
	aptdir=$CACHE/apt
	mkdir -p "$aptdir/lists/partial"
	echo "deb-src $mirror $codename main" >"$aptdir/sources.list"
	local apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o "Dir::Etc::SourceParts=/dev/null"
		-o "Dir::State::Lists=$aptdir/lists" -o "APT::Sandbox::User=root")
	log "fetching runc's source package from $mirror ($codename)"
	apt-get "${apt_opts[@]}" update -qq
	tmp=$(mktemp -d "$CACHE/src.XXXXXX")
	(cd "$tmp" && apt-get "${apt_opts[@]}" source -qq runc >/dev/null 2>&1) ||
		die "apt-get source runc failed (in $tmp); is $codename's source index reachable?"
	local dir
	dir=$(find "$tmp" -mindepth 1 -maxdepth 1 -type d -name 'runc-*' | head -n1)
	[ -n "$dir" ] || die "apt-get source runc unpacked nothing in $tmp"
	[ "$(cat "$dir/VERSION")" = "$RUNC_UPSTREAM_VERSION" ] ||
		die "$codename ships runc $(cat "$dir/VERSION"), this script is written for $RUNC_UPSTREAM_VERSION"
	rm -rf "$SRC"
	mv "$dir" "$SRC"
	rm -rf "$tmp"
	patch_spec_validator
	touch "$SRC/.skiff-ready"
}

# "spec validator" git-clones runtime-spec and `go get`s a JSON schema
# library: both need the internet. Replace those lines with an offline check
# of the same config.json against the same schema (Debian's copy).
patch_spec_validator() {
	local f=$INTEG/spec.bats
	grep -q '^	git clone https://github.com/opencontainers/runtime-spec.git$' "$f" ||
		die "$f changed: cannot find the git clone line to replace"
	# shellcheck disable=SC2016 # $SCHEMA and $INTEGRATION_ROOT are for bats
	sed -i '/^	git clone https:\/\/github.com\/opencontainers\/runtime-spec.git$/,/^	\.\/validate "\$SCHEMA" config.json$/c\
	# skiff-ci: offline schema check instead of git clone + go build (see scripts/runc-bats.sh)\
	SCHEMA='"$OCI_SCHEMA"'\
	[ -e "$SCHEMA" ]\
	"$INTEGRATION_ROOT/validate-oci-config" "$SCHEMA" config.json' "$f"
	grep -q validate-oci-config "$f" || die "could not patch $f"
}

# The `go env GOARCH` (and GOARM) that get-images.sh asks for.
install_go_shim() {
	mkdir -p "$CACHE/bin"
	cat >"$CACHE/bin/go" <<-'EOF'
		#!/bin/sh
		# skiff-ci shim: answers only `go env GOARCH|GOARM`, for runc's get-images.sh.
		[ "$1" = env ] || { echo "go shim: only 'go env GOARCH' is supported" >&2; exit 1; }
		case "$2" in
		GOARCH) case "$(uname -m)" in x86_64) echo amd64 ;; aarch64) echo arm64 ;; i?86) echo 386 ;;
			armv7*) echo arm ;; *) uname -m ;; esac ;;
		GOARM) echo 7 ;;
		*) echo ;;
		esac
	EOF
	chmod +x "$CACHE/bin/go"
}

# A docker-library-like busybox rootfs: /bin with busybox and its applets,
# /etc/{passwd,group}, empty dev, and (like the real image) no proc or sys,
# which mask.bats relies on to put symlinks there.
make_busybox_rootfs() {
	local root=$1 applet
	mkdir -p "$root"/{bin,dev,etc,home,root,tmp,usr/sbin,var/spool/mail,var/www}
	chmod 1777 "$root/tmp"
	chmod 700 "$root/root"
	cp /bin/busybox "$root/bin/busybox"
	for applet in $(/bin/busybox --list); do
		[ -e "$root/bin/$applet" ] || ln "$root/bin/busybox" "$root/bin/$applet"
	done
	cat >"$root/etc/passwd" <<-'EOF'
		root:x:0:0:root:/root:/bin/sh
		daemon:x:1:1:daemon:/usr/sbin:/bin/false
		bin:x:2:2:bin:/bin:/bin/false
		sys:x:3:3:sys:/dev:/bin/false
		sync:x:4:100:sync:/bin:/bin/sync
		mail:x:8:8:mail:/var/spool/mail:/bin/false
		www-data:x:33:33:www-data:/var/www:/bin/false
		operator:x:37:37:Operator:/var:/bin/false
		nobody:x:65534:65534:nobody:/home:/bin/false
	EOF
	cat >"$root/etc/group" <<-'EOF'
		root:x:0:
		daemon:x:1:
		bin:x:2:
		sys:x:3:
		adm:x:4:
		tty:x:5:
		disk:x:6:
		mail:x:8:
		kmem:x:9:
		wheel:x:10:root
		www-data:x:33:
		operator:x:37:
		staff:x:50:
		users:x:100:
		nogroup:x:65534:
	EOF
}

# hooks.bats is the only user of the "debian" image: it bind-mounts libraries
# into /lib and runs `ldconfig -p` inside. So: the busybox rootfs plus the
# host's glibc, its static ldconfig and an ld.so.conf.
make_debian_rootfs() {
	local root=$1 multiarch lib
	make_busybox_rootfs "$root"
	multiarch=$(gcc -print-multiarch)
	mkdir -p "$root/lib/$multiarch" "$root/lib64" "$root/sbin" "$root/etc/ld.so.conf.d" "$root/var/cache/ldconfig"
	for lib in libc.so.6 ld-linux-x86-64.so.2; do
		[ -e "/lib/$multiarch/$lib" ] && cp -L "/lib/$multiarch/$lib" "$root/lib/$multiarch/"
	done
	[ -e "$root/lib/$multiarch/ld-linux-x86-64.so.2" ] &&
		ln -s "../lib/$multiarch/ld-linux-x86-64.so.2" "$root/lib64/ld-linux-x86-64.so.2"
	cp /sbin/ldconfig "$root/sbin/ldconfig"
	printf 'include /etc/ld.so.conf.d/*.conf\n' >"$root/etc/ld.so.conf"
	printf '/lib/%s\n/usr/lib/%s\n' "$multiarch" "$multiarch" >"$root/etc/ld.so.conf.d/$multiarch.conf"
	cp /etc/debian_version /etc/os-release "$root/etc/" 2>/dev/null || true
}

make_images() {
	local arch tmp name
	arch=$("$CACHE/bin/go" env GOARCH)
	for name in busybox debian; do
		[ -s "$INTEG/testdata/$name-$arch.tar.xz" ] && continue
		log "building testdata/$name-$arch.tar.xz from /bin/busybox"
		tmp=$(mktemp -d "$CACHE/img.XXXXXX")
		"make_${name}_rootfs" "$tmp/rootfs"
		tar --numeric-owner --owner=0 --group=0 -C "$tmp/rootfs" -cJf "$tmp/image.tar.xz" .
		mv "$tmp/image.tar.xz" "$INTEG/testdata/$name-$arch.tar.xz"
		rm -rf "$tmp"
	done
}

# Built/copied on every run (cheap), so edits in the repo take effect.
install_helpers() {
	mkdir -p "$SRC/contrib/cmd/recvtty"
	cc -O2 -Wall -Wextra -Werror -o "$SRC/contrib/cmd/recvtty/recvtty" "$SCRIPT_DIR/lib/recvtty.c"
	install -m 0755 "$SCRIPT_DIR/lib/validate-oci-config.py" "$INTEG/validate-oci-config"
}

prepare() {
	mkdir -p "$CACHE"
	install_packages "${PACKAGES[@]}"
	fetch_runc_source
	install_go_shim
	make_images
	install_helpers
}

# ---------------------------------------------------------------------------
# Results
# ---------------------------------------------------------------------------

# Turn the raw output of one `bats -t` per file (each preceded by a
# "# skiff-file: NAME" line) into one TAP stream with file-prefixed names.
merge_tap() {
	gawk '
		/^# skiff-file: / { file = $3; next }
		/^# skiff-file-timeout: / {
			n++
			lines[n] = "not ok " n " " $3 ": (file timed out; later tests did not run)"
			next
		}
		/^(not )?ok [0-9]+ / {
			not = ($1 == "not")
			rest = $0
			sub(/^(not )?ok [0-9]+ /, "", rest)
			n++
			lines[n] = (not ? "not ok " : "ok ") n " " file ": " rest
		}
		END {
			print "1.." n
			for (i = 1; i <= n; i++) print lines[i]
		}'
}

# "N passed, N failed, N skipped" of a merged TAP file.
summarize() {
	gawk '
		/^not ok / { failed++; next }
		/^ok .* # skip/ { skipped++; next }
		/^ok / { passed++ }
		END { printf "%d passed, %d failed, %d skipped\n", passed, failed, skipped }' "$1"
}

# name<TAB>status (pass|fail|skip) for every test in a merged TAP file.
statuses() {
	gawk '
		/^(not )?ok [0-9]+ / {
			status = ($1 == "not") ? "fail" : "pass"
			line = $0
			sub(/^(not )?ok [0-9]+ /, "", line)
			if (status == "pass" && line ~ / # skip/) status = "skip"
			sub(/ # (skip|timeout).*$/, "", line)
			print line "\t" status
		}' "$1"
}

# Tests that pass in $1 but not in $2. Known ones ($3: lines "name<TAB>reason",
# # comments) are listed apart; tests missing from $2 are ignored if $4 is 1
# (a filtered run). Returns 1 on a regression that is not known.
compare() {
	local base=$1 cand=$2 known=${3:-/dev/null} ignore_missing=${4:-0}
	[ -r "$base" ] || die "cannot read baseline TAP $base"
	[ -r "$cand" ] || die "cannot read candidate TAP $cand"
	[ -r "$known" ] || die "cannot read known-differences file $known"
	gawk -F'\t' -v known="$known" -v ignore_missing="$ignore_missing" '
		BEGIN {
			while ((getline line < known) > 0) {
				if (line ~ /^#/ || line == "") continue
				split(line, kf, "\t")
				reason[kf[1]] = kf[2]
			}
		}
		FNR == NR { base[$1] = $2; order[++n] = $1; next }
		{ cand[$1] = $2 }
		END {
			for (i = 1; i <= n; i++) {
				t = order[i]
				if (base[t] != "pass") continue
				c = (t in cand) ? cand[t] : "missing"
				if (c == "pass" || (c == "missing" && ignore_missing)) continue
				if (t in reason) { known_lines = known_lines sprintf("  %s (%s): %s\n", t, c, reason[t]); nk++ }
				else if (c == "skip") { skip_lines = skip_lines sprintf("  %s\n", t); ns++ }
				else { reg_lines = reg_lines sprintf("  %s (%s)\n", t, c); nr++ }
			}
			printf "passes in baseline, fails or is missing in candidate: %d\n%s", nr, reg_lines
			printf "passes in baseline, skipped in candidate: %d\n%s", ns, skip_lines
			printf "known differences (allowed): %d\n%s", nk, known_lines
			exit (nr > 0)
		}' <(statuses "$base") <(statuses "$cand")
}

# ---------------------------------------------------------------------------
# Running the suite
# ---------------------------------------------------------------------------

WORK=""
CRIU_CONF_EXISTED=1 # checkpoint.bats writes /etc/criu/default.conf and /tmp/runc-criu-*
CRIU_DIR_EXISTED=1
CGROUP_ROOTS_BEFORE=""
SUITE_PID=""

# kill_tree PID: SIGKILL PID and all its descendants.
kill_tree() {
	local child
	for child in $(ps -o pid= --ppid "$1"); do kill_tree "$child"; done
	kill -9 "$1" 2>/dev/null || true
}

cleanup() {
	local rc=$?
	[ -n "$WORK" ] && [ -d "$WORK" ] || exit "$rc"
	[ -z "$SUITE_PID" ] || kill_tree "$SUITE_PID" # interrupted
	[ "$CRIU_CONF_EXISTED" = 1 ] || rm -f /etc/criu/default.conf
	[ "$CRIU_DIR_EXISTED" = 1 ] || rmdir /etc/criu 2>/dev/null || true
	find /tmp -maxdepth 1 -name 'runc-criu-*' -newer "$WORK/.started" -delete 2>/dev/null || true
	# Leftovers of this run (after a runtime crash or a timeout): containers,
	# whose root is inside our bundles, and runtime or recvtty processes,
	# whose command line names our work dir. Frozen ones cannot die until
	# their freezer cgroup is thawed.
	local proc root cmdline pids=() pid cg
	for proc in /proc/[0-9]*; do
		root=$(readlink "$proc/root" 2>/dev/null) || continue
		cmdline=$(tr '\0' ' ' 2>/dev/null <"$proc/cmdline") || continue
		if [[ "$root" == "$WORK"/* || "$cmdline" == *"$WORK"/* ]]; then pids+=("${proc#/proc/}"); fi
	done
	for pid in "${pids[@]}"; do
		cg=$(gawk -F: '$2 == "freezer" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null) || continue
		if [ -n "$cg" ] && [ "$cg" != / ]; then
			echo THAWED >"/sys/fs/cgroup/freezer$cg/freezer.state" 2>/dev/null || true
		fi
		cg=$(gawk -F: '$1 == "0" { print $3 }' "/proc/$pid/cgroup" 2>/dev/null) || continue
		if [ -n "$cg" ] && [ -e "/sys/fs/cgroup$cg/cgroup.freeze" ]; then
			echo 0 >"/sys/fs/cgroup$cg/cgroup.freeze" 2>/dev/null || true
		fi
	done
	if [ ${#pids[@]} -gt 0 ]; then
		kill -9 "${pids[@]}" 2>/dev/null || true
		for _ in $(seq 1 30); do # until they are gone, so their cgroups can go
			kill -0 "${pids[@]}" 2>/dev/null || break
			sleep 0.1
		done
	fi
	# Mounts left under our work dir, deepest first.
	gawk -v w="$WORK/" 'index($5, w) == 1 { print $5 }' /proc/self/mountinfo | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null || true; done
	# Empty cgroups of the suite's fixed parent (runs are serialised by the lock).
	find /sys/fs/cgroup/*/runc-cgroups-integration-test -depth -type d -exec rmdir {} \; 2>/dev/null || true
	# helpers.bash `mkdir -p`s a parent for every controller in /proc/cgroups,
	# also those not mounted (hugetlb, net_prio, perf_event here): plain tmpfs
	# directories under /sys/fs/cgroup. Remove the new, empty ones.
	local d
	for d in /sys/fs/cgroup/*; do
		grep -qxF "${d##*/}" <<<"$CGROUP_ROOTS_BEFORE" && continue
		if [ "$(stat -f -c %T "$d")" = tmpfs ] && ! mountpoint -q "$d"; then
			rmdir "$d" 2>/dev/null || true
		fi
	done
	rm -rf "$WORK"
	exit "$rc"
}

# The test files to run: the FILTER arguments that name files, else all but
# seccomp-notify*.bats.
select_files() {
	local f
	if [ ${#FILES[@]} -gt 0 ]; then
		for f in "${FILES[@]}"; do
			[ -f "$INTEG/$f" ] || die "no such test file: $INTEG/$f"
			echo "$f"
		done
		return
	fi
	(cd "$INTEG" && ls -1 -- *.bats) | grep -v '^seccomp-notify'
}

run_suite() {
	local runtime=$1 results=$2
	local files filter_args=() started elapsed rc=0
	mapfile -t files < <(select_files)
	if [ ${#REGEXES[@]} -gt 0 ]; then
		local IFS='|'
		filter_args=(--filter "${REGEXES[*]}")
		unset IFS
	fi

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/skiff-runc-bats.XXXXXX")
	chmod 755 "$WORK" # userns tests need a+x on every parent of the bundles
	touch "$WORK/.started"
	CGROUP_ROOTS_BEFORE=$(ls -1 /sys/fs/cgroup)
	[ -e /etc/criu/default.conf ] || CRIU_CONF_EXISTED=0
	[ -e /etc/criu ] || CRIU_DIR_EXISTED=0
	trap cleanup EXIT
	trap 'exit 130' INT TERM

	# One bats per file, so that names can carry their file; all in one pty.
	# bats runs in the foreground (tests need the pty as their terminal); a
	# watchdog kills its process tree if the file takes longer than
	# SKIFF_BATS_FILE_TIMEOUT. (bats' own BATS_TEST_TIMEOUT cannot be used:
	# its countdown is a background job that the bare `wait` of events.bats
	# waits for.)
	local runner=$WORK/run-files.sh
	{
		cat <<-'EOF'
			kill_tree() { # PID: SIGKILL PID and its descendants, except this shell
				local c
				for c in $(ps -o pid= --ppid "$1"); do kill_tree "$c"; done
				[ "$1" = "$BASHPID" ] || kill -9 "$1" 2>/dev/null
			}
			run_file() { # FILE BATS-ARGS…
				local f=$1 wd
				shift
				echo "# skiff-file: $f"
				(
					trap 'kill "$s" 2>/dev/null; exit 0' TERM
					sleep "$FILE_TIMEOUT" &
					s=$!
					wait "$s"
					echo "# skiff-file-timeout: $f"
					for c in $(ps -o pid= --ppid "$RUNNER"); do
						[ "$c" = "$BASHPID" ] || kill_tree "$c"
					done
				) &
				wd=$!
				bats -t "$@" "$f" || true
				kill -TERM "$wd" 2>/dev/null
				wait "$wd" 2>/dev/null || true
			}
			RUNNER=$$
		EOF
		printf 'FILE_TIMEOUT=%q\n' "${SKIFF_BATS_FILE_TIMEOUT:-300}"
		printf 'cd %q\n' "$INTEG"
		printf 'for f in'
		printf ' %q' "${files[@]}"
		# shellcheck disable=SC2016 # $f is for the runner
		printf '; do run_file "$f"'
		[ ${#filter_args[@]} -eq 0 ] || printf ' %q' "${filter_args[@]}"
		printf '; done\n'
	} >"$runner"

	log "running ${#files[@]} files against RUNC=$runtime (log: $results.log)"
	started=$(date +%s)
	mkdir -p "$(dirname "$results")"
	# In the background and waited for, so that INT/TERM stop the run at once
	# (bash runs traps only after a foreground command ends); the clean-up
	# then kills the whole tree.
	SHELL=/bin/bash RUNC=$runtime TMPDIR=$WORK PATH="$CACHE/bin:$PATH" \
		timeout --kill-after=30 "${SKIFF_BATS_TIMEOUT:-1200}" \
		script -qec "bash $runner" /dev/null </dev/null 9>&- > >(sed -u 's/\r$//' | tee "$results.log") &
	SUITE_PID=$!
	wait "$SUITE_PID" || rc=$?
	SUITE_PID=""
	wait # for the output filter to flush
	elapsed=$(($(date +%s) - started))
	[ "$rc" -eq 124 ] && log "the run hit SKIFF_BATS_TIMEOUT; results are partial"
	merge_tap <"$results.log" >"$results"
	log "TAP results: $results; took ${elapsed}s"
}

# ---------------------------------------------------------------------------

main() {
	local results="" baseline="" known="" mode=run
	FILES=()
	REGEXES=()
	local positional=()
	while [ $# -gt 0 ]; do
		case $1 in
		--results) results=${2:?--results needs a file}; shift 2 ;;
		--baseline) baseline=${2:?--baseline needs a TAP file}; shift 2 ;;
		--known) known=${2:?--known needs a file}; shift 2 ;;
		--compare) mode=compare; shift ;;
		--prepare) mode=prepare; shift ;;
		-h | --help) usage ;;
		*) positional+=("$1"); shift ;;
		esac
	done

	case $mode in
	compare)
		[ ${#positional[@]} -eq 2 ] || usage
		compare "${positional[0]}" "${positional[1]}" "${known:-/dev/null}"
		return
		;;
	prepare | run) ;;
	esac

	[ "$(id -u)" -eq 0 ] || die "must run as root (the suite creates containers, cgroups and mounts)"
	mkdir -p "$CACHE"
	# The lock is fd 9; the suite runs with it closed (9>&-), so that a
	# container or recvtty left behind cannot hold the lock after we exit.
	exec 9>"$CACHE/runc-bats.lock"
	if ! flock -n 9; then
		log "waiting for another runc-bats.sh run (lock $CACHE/runc-bats.lock)"
		flock 9
	fi
	prepare
	[ "$mode" = prepare ] && { log "prepared $INTEG"; return; }

	[ ${#positional[@]} -ge 1 ] || usage
	local runtime=${positional[0]} f
	[[ "$runtime" == /* ]] || runtime=$PWD/$runtime
	[ -x "$runtime" ] || die "runtime $runtime is not an executable file"
	for f in "${positional[@]:1}"; do
		if [[ "$f" == *.bats ]]; then FILES+=("$(basename "$f")"); else REGEXES+=("$f"); fi
	done
	[ -n "$results" ] || results=$CACHE/results/runc-bats-$(basename "$runtime")-$(date -u +%Y%m%dT%H%M%SZ).tap
	[[ "$results" == /* ]] || results=$PWD/$results

	run_suite "$runtime" "$results"
	local summary
	summary=$(summarize "$results")
	if [ -n "$baseline" ]; then
		local filtered=0
		[ ${#FILES[@]} -eq 0 ] && [ ${#REGEXES[@]} -eq 0 ] || filtered=1
		compare "$baseline" "$results" "${known:-/dev/null}" "$filtered" || {
			echo "$summary"
			return 1
		}
		echo "$summary"
		return 0
	fi
	echo "$summary"
	! grep -q '^not ok ' "$results"
}

main "$@"
