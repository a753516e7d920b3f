#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# OCI runtime start-up benchmark: skiff vs runc (vs crun where it runs).
#
#   bench/runtime.sh [--runs N] [--out FILE] [SKIFF_RUNTIME_PATH]
#
# On one busybox bundle (rootfs from /bin/busybox, read-only, no terminal,
# /bin/true), measured with hyperfine, each runtime with its own --root:
#   run      RUNTIME run -b BUNDLE ID                          (N runs, default 50)
#   run×100  100 sequential `RUNTIME run` in a shell loop       (3 runs)
#   cycle    RUNTIME create && RUNTIME start && RUNTIME delete -f (N runs)
# Prints the medians and the skiff/runc ratio, and writes a markdown section
# (date, machine, kernel, versions, load) to FILE (default: a temp file whose
# path is printed) that can be appended to bench/RESULTS.md. Without
# SKIFF_RUNTIME_PATH only the peers are measured (the baseline).
# Takes about 20 s per runnable runtime at N=50; timings are not asserted.
set -euo pipefail

RUNS=50
OUT=""
SKIFF=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--out) OUT=${2:?--out needs a file}; shift 2 ;;
	-h | --help) sed -n '4,19p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) SKIFF=$1; shift ;;
	esac
done

PEER_NAME=bench
# shellcheck source=tests/peers/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/../tests/peers/lib.sh"
[ "$(id -u)" -eq 0 ] || die "must run as root"
install_packages hyperfine jq busybox-static runc

RUNC=$(command -v runc || echo /usr/sbin/runc)
CRUN=$(command -v crun || true)
if [ -n "$SKIFF" ]; then
	[[ "$SKIFF" == /* ]] || SKIFF=$PWD/$SKIFF
	[ -x "$SKIFF" ] || die "skiff runtime $SKIFF is not an executable file"
fi

UNIQUE=skiff-bench-$$
BASE=$(mktemp -d "/var/tmp/$UNIQUE.XXXXXX")
chmod 755 "$BASE"
BUNDLE=$BASE/bundle
CGROUP_ROOTS_BEFORE=$(cgroup_roots)
declare -A RT_PATH=() # name -> binary, for the runtimes that run here

cleanup() {
	local rc=$? name id
	set +e
	for name in "${!RT_PATH[@]}"; do
		for id in $("${RT_PATH[$name]}" --root "$BASE/state-$name" list -q 2>/dev/null); do
			"${RT_PATH[$name]}" --root "$BASE/state-$name" delete -f "$id" >/dev/null 2>&1
		done
	done
	kill_by_path "$BASE" # e.g. a container init left behind by a failed run
	unmount_under "$BASE"
	remove_cgroups "$UNIQUE"
	remove_new_cgroup_roots "$CGROUP_ROOTS_BEFORE"
	rm -rf "$BASE"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The bundle: busybox rootfs, /bin/true, no terminal, read-only root, its
# cgroup under our own parent so that leftovers are easy to find.
mkdir -p "$BUNDLE/rootfs"
make_busybox_tar "$BASE/busybox.tar"
tar -C "$BUNDLE/rootfs" -xf "$BASE/busybox.tar"
(cd "$BUNDLE" && "$RUNC" spec)
jq --arg cg "/$UNIQUE/bench" '.process.terminal = false | .process.args = ["/bin/true"]
	| .root.readonly = true | .linux.cgroupsPath = $cg' "$BUNDLE/config.json" >"$BASE/config.json"
mv "$BASE/config.json" "$BUNDLE/config.json"
# The probe bundle shares the rootfs and exits 42: a runtime counts as
# runnable only if it really runs the process and reports its exit status.
mkdir -p "$BASE/probe"
jq --arg root "$BUNDLE/rootfs" '.root.path = $root | .process.args = ["/bin/sh", "-c", "exit 42"]' \
	"$BUNDLE/config.json" >"$BASE/probe/config.json"

# runnable NAME PATH: one trial `run`; registers the runtime if it works.
runnable() {
	local name=$1 path=$2 out rc=0
	# Output to a file, not a pipe: a stray child of a failed runtime would
	# keep a pipe open (and $(…) waiting) after timeout killed the runtime.
	timeout -k 2 30 "$path" --root "$BASE/state-$name" run -b "$BASE/probe" "$UNIQUE-probe" \
		>"$BASE/probe-$name.out" 2>&1 </dev/null || rc=$?
	if [ "$rc" -eq 42 ]; then
		RT_PATH[$name]=$path
		return 0
	fi
	out="exit status $rc, not 42: $(tail -n1 "$BASE/probe-$name.out")"
	if [[ "$out" == *hybrid* ]]; then
		echo "$name: not runnable on this host (hybrid cgroups)"
	else
		echo "$name: not runnable on this host (probe \`run\` of \`sh -c 'exit 42'\`: $out)"
	fi
	return 1
}

ORDER=()
[ -n "$SKIFF" ] && runnable skiff "$SKIFF" && ORDER+=(skiff)
runnable runc "$RUNC" && ORDER+=(runc)
if [ -n "$CRUN" ]; then
	runnable crun "$CRUN" && ORDER+=(crun)
else
	echo "crun: not installed"
fi
[ ${#ORDER[@]} -gt 0 ] || die "no runtime could run the bundle"

declare -A MEDIAN=() # "bench name" -> median seconds
BENCHES=(run "run×100" cycle)

# The three commands for runtime NAME, each with its own state dir and id.
commands_for() {
	local name=$1 q run_cmd
	printf -v q '%q --root %q' "${RT_PATH[$name]}" "$BASE/state-$name"
	local id=$UNIQUE-$name
	printf -v run_cmd '%s run -b %q %q' "$q" "$BUNDLE" "$id"
	CMD["$name run"]=$run_cmd
	CMD["$name run×100"]="for i in \$(seq 100); do $run_cmd || exit 1; done"
	printf -v "CMD[$name cycle]" '%s create -b %q %q && %s start %q && %s delete -f %q' \
		"$q" "$BUNDLE" "$id" "$q" "$id" "$q" "$id"
}

# One hyperfine per benchmark, all runtimes in it, so that they are measured
# close together in time on this shared machine.
measure() {
	local b=$1 warmup=$2 runs=$3 args=() name i=0
	shift 3 # the rest: extra hyperfine options
	for name in "${ORDER[@]}"; do args+=(-n "$name $b" "${CMD["$name $b"]}"); done
	# A bound on the whole call, so that a hanging runtime cannot stall CI.
	timeout -k 5 900 hyperfine --style basic --warmup "$warmup" --runs "$runs" "$@" \
		--export-json "$BASE/bench.json" "${args[@]}" >&2
	for name in "${ORDER[@]}"; do
		MEDIAN["$name $b"]=$(jq ".results[$i].median" "$BASE/bench.json")
		MEDIAN["$name $b σ"]=$(jq ".results[$i].stddev" "$BASE/bench.json")
		i=$((i + 1))
	done
}

declare -A CMD=()
for name in "${ORDER[@]}"; do commands_for "$name"; done
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "measuring ${ORDER[*]}"
measure run 3 "$RUNS" --shell=none # one command: no shell to subtract
measure "run×100" 0 3
measure cycle 3 "$RUNS"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

ms() { awk -v s="$1" 'BEGIN { printf "%.1f ms", s * 1000 }'; }
secs() { awk -v s="$1" 'BEGIN { printf "%.2f s", s }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
version() {
	case $1 in
	runc | crun) "${RT_PATH[$1]}" --version | head -n1 ;;
	*) "${RT_PATH[$1]}" --version 2>/dev/null | head -n1 || echo "$1 (${RT_PATH[$1]})" ;;
	esac
}

# The markdown section.
[ -n "$OUT" ] || OUT=$(mktemp "/tmp/skiff-bench-runtime.XXXXXX.md")
{
	echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — OCI runtime start-up"
	echo
	echo "- Machine: $(nproc) CPUs ($(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/^MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo) RAM"
	echo "- Kernel: $(uname -r); cgroups: $(if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then echo v2; elif [ -d /sys/fs/cgroup/unified ]; then echo 'v1 (hybrid)'; else echo v1; fi)"
	echo "- Load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
	for name in "${ORDER[@]}"; do echo "- $name: $(version "$name")"; done
	[ -n "${RT_PATH[crun]:-}" ] || [ -z "$CRUN" ] || echo "- crun: $("$CRUN" --version | head -n1), not runnable on this host"
	echo "- $(hyperfine --version); bundle: busybox rootfs, read-only, no terminal, \`/bin/true\`; run: $RUNS runs after 3 warm-ups, no shell; run×100 (a shell loop): 3 runs; cycle (via sh): $RUNS runs after 3 warm-ups"
	echo
	printf '| benchmark (median) |'
	for name in "${ORDER[@]}"; do printf ' %s |' "$name"; done
	[ -n "${RT_PATH[skiff]:-}" ] && printf ' skiff/runc |'
	echo
	printf '|---|'
	for _ in "${ORDER[@]}"; do printf -- '---:|'; done
	[ -n "${RT_PATH[skiff]:-}" ] && printf -- '---:|'
	echo
	for b in "${BENCHES[@]}"; do
		# shellcheck disable=SC2016 # backquotes are markdown
		case $b in
		run) printf '| `run` /bin/true |' ;;
		"run×100") printf '| 100 sequential `run` |' ;;
		cycle) printf '| `create && start && delete -f` |' ;;
		esac
		for name in "${ORDER[@]}"; do
			if [ "$b" = "run×100" ]; then
				printf ' %s |' "$(secs "${MEDIAN["$name $b"]}")"
			else
				printf ' %s ± %s |' "$(ms "${MEDIAN["$name $b"]}")" "$(ms "${MEDIAN["$name $b σ"]}" | sed 's/ ms//')"
			fi
		done
		if [ -n "${RT_PATH[skiff]:-}" ] && [ -n "${RT_PATH[runc]:-}" ]; then
			printf ' %s |' "$(ratio "${MEDIAN["skiff $b"]}" "${MEDIAN["runc $b"]}")"
		fi
		echo
	done
	echo
	echo "(median ± standard deviation; the machine is shared, so compare columns of one run, not runs.)"
} >"$OUT"

echo
cat "$OUT"
echo
echo "markdown section written to $OUT (append it to bench/RESULTS.md)"
