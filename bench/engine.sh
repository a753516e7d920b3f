#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Engine benchmark: `skiff run --rm busybox true` vs `docker run --rm` vs `podman run --rm`,
# 20 detached starts in a row, and the memory of 20 idle containers' per-container
# processes (skiff's monitors, docker's containerd-shims, podman's conmons). One run, the
# same busybox image (a rootfs tar of /bin/busybox and its applet links) imported into each.
#
#   bench/engine.sh [--runs N] [--out FILE] [SKIFF_BIN]      (default target/release/skiff)
#
# - skiff: its own --root; network none (its default).
# - docker: a private dockerd (own --data-root, --exec-root, socket, --bridge=none, no
#   iptables), overlay2, runc; containers with --network none.
# - podman: its own --root/--runroot, runc (crun refuses this machine's hybrid cgroups),
#   cgroupfs, --network none, and `--ulimit nofile=1024:1024 --ulimit nproc=1024:1024`.
# Memory: the sum of Pss (from /proc/PID/smaps_rollup) and of VmRSS over the 20 processes.
# Prints the medians and ratios and writes a markdown section (date, machine, versions)
# to FILE (default: a temp file whose path is printed) for bench/RESULTS.md. Everything it
# starts is stopped and removed on exit. Timings are not asserted.
set -euo pipefail

RUNS=20
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
HERE=$(cd "$(dirname "$0")/.." && pwd)
SKIFF=${SKIFF:-$HERE/target/release/skiff}
[ -x "$SKIFF" ] || { echo "no skiff binary at $SKIFF (cargo build --release -p skiff-cli)" >&2; exit 1; }
for tool in hyperfine dockerd docker podman runc jq; do
	command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/skiff-engine-bench.XXXXXX)
DOCKERD_PID=""
SK="$SKIFF --root $WORK/skiff"
SOCK=$WORK/docker.sock
DK="docker -H unix://$SOCK"
PM="podman --root $WORK/podman --runroot $WORK/podman-run --runtime runc --cgroup-manager cgroupfs --events-backend file"
PM_RUN="--network none --ulimit nofile=1024:1024 --ulimit nproc=1024:1024"
cleanup() {
	set +e
	$SK ps -aq | xargs -r $SK rm -f >/dev/null 2>&1
	$PM rm -af >/dev/null 2>&1
	if [ -n "$DOCKERD_PID" ]; then
		$DK ps -aq | xargs -r $DK rm -f >/dev/null 2>&1
		kill "$DOCKERD_PID" && wait "$DOCKERD_PID" 2>/dev/null
	fi
	grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the image -------------------------------------------------------------------
R=$WORK/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/proc" "$R/sys" "$R/dev" "$R/root"
cp /bin/busybox "$R/bin/"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
tar -C "$R" -cf "$WORK/busybox.tar" .

$SK import "$WORK/busybox.tar" busybox >/dev/null
$PM import -q "$WORK/busybox.tar" busybox >/dev/null

dockerd --data-root "$WORK/docker" --exec-root "$WORK/docker-exec" -H "unix://$SOCK" \
	--pidfile "$WORK/docker.pid" --bridge=none --iptables=false --ip6tables=false \
	--storage-driver overlay2 >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 200); do $DK version >/dev/null 2>&1 && break; sleep 0.1; done
$DK version >/dev/null
$DK import "$WORK/busybox.tar" busybox >/dev/null

# Warm each engine (first-use unpacking, caches) outside the measurement.
$SK run --rm busybox true
$DK run --rm --network none busybox true
$PM run --rm $PM_RUN busybox true

# ---- run --rm ----------------------------------------------------------------------
JSON=$WORK/run.json
hyperfine --runs "$RUNS" --warmup 2 --export-json "$JSON" \
	-n skiff "$SK run --rm busybox true" \
	-n docker "$DK run --rm --network none busybox true" \
	-n podman "$PM run --rm $PM_RUN busybox true"
median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$2"; }
RS=$(median skiff "$JSON"); RD=$(median docker "$JSON"); RP=$(median podman "$JSON")

# ---- 20 detached starts in a row ----------------------------------------------------
twenty() { # ENGINE-COMMAND EXTRA-RUN-FLAGS
	local t0 t1
	t0=$(date +%s.%N)
	for i in $(seq 20); do $1 run -d $2 busybox sleep 3600 >/dev/null; done
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}'
}
# Pss and RSS sums (kB) of the processes whose command line matches PATTERN.
memory() {
	local pss=0 rss=0 n=0 pid
	for pid in $(pgrep -f "$1"); do
		[ -r "/proc/$pid/smaps_rollup" ] || continue
		pss=$((pss + $(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")))
		rss=$((rss + $(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")))
		n=$((n + 1))
	done
	echo "$n $pss $rss"
}
TS=$(twenty "$SK" ""); sleep 1; MS=$(memory "__monitor(-wait)? $WORK/skiff")
$SK ps -aq | xargs -r $SK rm -f >/dev/null
TD=$(twenty "$DK" "--network none"); sleep 1; MD=$(memory "containerd-shim.*$WORK/docker-exec|containerd-shim-runc-v2 -namespace moby")
$DK ps -aq | xargs -r $DK rm -f >/dev/null
TP=$(twenty "$PM" "$PM_RUN"); sleep 1; MP=$(memory "conmon.*$WORK/podman")
$PM rm -af >/dev/null

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.3f", a / b}'; }
mem_row() { # NAME "n pss rss"
	set -- "$1" $2
	printf '| %s | %s | %s kB (%s kB each) | %s kB (%s kB each) |\n' "$1" "$2" "$3" "$(($3 / ($2 > 0 ? $2 : 1)))" "$4" "$(($4 / ($2 > 0 ? $2 : 1)))"
}
SUMMARY=$(
	echo "## Engine: run --rm, 20 detached starts, idle memory ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg))"
	echo
	echo "busybox rootfs tar imported into each. hyperfine, $RUNS runs + 2 warm-up. dockerd $(dockerd --version | awk '{print $3}' | tr -d ,), podman $(podman --version | awk '{print $3}') with runc $(runc --version | awk 'NR==1 {print $3}')."
	echo
	echo "| run --rm busybox true | Median | vs docker |"
	echo "|---|---|---|"
	printf '| skiff | %.1f ms | %s |\n' "$(awk -v s="$RS" 'BEGIN {print s * 1000}')" "$(ratio "$RS" "$RD")"
	printf '| docker | %.1f ms | 1.000 |\n' "$(awk -v s="$RD" 'BEGIN {print s * 1000}')"
	printf '| podman | %.1f ms | %s |\n' "$(awk -v s="$RP" 'BEGIN {print s * 1000}')" "$(ratio "$RP" "$RD")"
	echo
	echo "| 20 × run -d busybox sleep 3600, in a row | Total | vs docker |"
	echo "|---|---|---|"
	echo "| skiff | $TS s | $(ratio "$TS" "$TD") |"
	echo "| docker | $TD s | 1.000 |"
	echo "| podman | $TP s | $(ratio "$TP" "$TD") |"
	echo
	echo "| Per-container processes of 20 idle containers | Count | Pss sum | VmRSS sum |"
	echo "|---|---|---|---|"
	mem_row "skiff monitors" "$MS"
	mem_row "docker containerd-shim-runc-v2" "$MD"
	mem_row "podman conmon" "$MP"
	echo
	echo "Target: skiff's run --rm median at most 1/10 of docker's (0.100). Measured: $(ratio "$RS" "$RD")."
)
echo
echo "$SUMMARY"
if [ -z "$OUT" ]; then OUT=$(mktemp /tmp/skiff-engine-bench.XXXXXX.md); fi
echo "$SUMMARY" >"$OUT"
echo
echo "(markdown written to $OUT)"
