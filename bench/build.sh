#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Build benchmark: `skiff build` vs docker 20.10's classic builder (`DOCKER_BUILDKIT=0
# docker build`), one run, the same Dockerfile and context: FROM a busybox image; ENV,
# WORKDIR, COPY, RUN, CMD.
#
#   bench/build.sh [--runs N] [--out FILE] [SKIFF_BIN]      (default target/release/skiff)
#
# - cold: `build --no-cache` (every step executed: a RUN container, layers committed);
# - cached: the same build again (every step a cache hit).
# - skiff: its own --root. docker: a private dockerd (own --data-root, --exec-root,
#   socket, --bridge=none, no iptables), overlay2, runc. Both import the same busybox
#   rootfs tar as `busybox`; RUN uses host networking in both (docker's default bridge is
#   off).
# Prints the medians and ratios and writes a markdown section (date, machine, versions)
# to FILE (default: a temp file whose path is printed) for bench/RESULTS.md. Everything it
# starts is stopped and removed on exit. Timings are not asserted.
set -euo pipefail

RUNS=10
OUT=""
SKIFF=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--out) OUT=${2:?--out needs a file}; shift 2 ;;
	-h | --help) sed -n '4,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) SKIFF=$1; shift ;;
	esac
done
SKIFF=$(realpath "${SKIFF:-target/release/skiff}")
DOCKER=/usr/bin/docker
[ -x $DOCKER ] || DOCKER=docker
for tool in hyperfine dockerd jq; do
	command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }

WORK=$(mktemp -d /var/tmp/skiff-build-bench.XXXXXX)
DOCKERD_PID=""
SK="$SKIFF --root $WORK/skiff"
SOCK=$WORK/docker.sock
DK="$DOCKER -H unix://$SOCK"
cleanup() {
	set +e
	if [ -n "$DOCKERD_PID" ]; then
		kill "$DOCKERD_PID" && wait "$DOCKERD_PID" 2>/dev/null
	fi
	grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the base image and the build context ---------------------------------------------
R=$WORK/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
cp /bin/busybox "$R/bin/"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
tar -C "$R" -cf "$WORK/busybox.tar" .

CTX=$WORK/context
mkdir -p "$CTX/src"
for i in $(seq 20); do head -c 4096 /dev/urandom | base64 >"$CTX/src/file$i.txt"; done
cat >"$CTX/Dockerfile" <<'DOCKERFILE'
FROM busybox
ENV APP_HOME=/app GREETING=hello
WORKDIR /app
COPY src/ /app/src/
RUN cat /app/src/*.txt | wc -c > /app/size && echo "$GREETING" > /app/greeting
CMD ["cat", "/app/size"]
DOCKERFILE

$SK import "$WORK/busybox.tar" busybox >/dev/null
dockerd --data-root "$WORK/docker" --exec-root "$WORK/docker-exec" -H "unix://$SOCK" \
	--pidfile "$WORK/docker.pid" --bridge=none --iptables=false --ip6tables=false \
	--storage-driver overlay2 >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do $DK version >/dev/null 2>&1 && break; sleep 0.1; done
$DK version >/dev/null
$DK import "$WORK/busybox.tar" busybox >/dev/null
export DOCKER_BUILDKIT=0

# Both must build it (and this warms first-use work: layer unpacking, the cache).
$SK build -q -t bench "$CTX" >/dev/null
$DK build -q --network host -t bench "$CTX" >/dev/null

JSON_COLD=$WORK/cold.json
JSON_WARM=$WORK/warm.json
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
hyperfine -N --runs "$RUNS" --warmup 1 --export-json "$JSON_COLD" \
	-n skiff "$SK build -q --no-cache -t bench $CTX" \
	-n docker "$DK build -q --no-cache --network host -t bench $CTX"
hyperfine -N --runs "$((RUNS * 2))" --warmup 2 --export-json "$JSON_WARM" \
	-n skiff "$SK build -q -t bench $CTX" \
	-n docker "$DK build -q --network host -t bench $CTX"
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$2"; }
stddev() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .stddev' "$2"; }
SC=$(median skiff "$JSON_COLD"); DC=$(median docker "$JSON_COLD")
SW=$(median skiff "$JSON_WARM"); DW=$(median docker "$JSON_WARM")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a / b }'; }
ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }
echo "cold:   skiff $(ms "$SC") ms, docker $(ms "$DC") ms, ratio $(ratio "$SC" "$DC")"
echo "cached: skiff $(ms "$SW") ms, docker $(ms "$DW") ms, ratio $(ratio "$SW" "$DW")"

[ -n "$OUT" ] || OUT=$(mktemp /tmp/skiff-build-bench.XXXXXX.md)
{
	echo "## $(date -u '+%Y-%m-%d %H:%M UTC') — image build"
	echo
	echo "- Machine: $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo | awk '{print $1, $2}')), $(awk '/MemTotal/ {printf "%d GiB", $2 / 1048576 + 0.5}' /proc/meminfo) RAM"
	echo "- Kernel: $(uname -r)"
	echo "- Load average before/after: $LOAD_BEFORE / $LOAD_AFTER"
	echo "- dockerd $(dockerd --version | awk '{print $3}' | tr -d ,) (classic builder, DOCKER_BUILDKIT=0, overlay2, runc); skiff $(git -C "$(dirname "$0")" describe --always --dirty 2>/dev/null || echo "?") (release build)"
	echo "- Dockerfile: FROM busybox; ENV; WORKDIR; COPY (20 files, 110 KB); RUN; CMD. hyperfine medians, $RUNS cold runs, $((RUNS * 2)) cached runs."
	echo
	echo "| build | skiff | docker | skiff / docker |"
	echo "|---|---|---|---|"
	printf '| cold (`--no-cache`) | %s ms ± %s | %s ms ± %s | %s |\n' "$(ms "$SC")" "$(ms "$(stddev skiff "$JSON_COLD")")" "$(ms "$DC")" "$(ms "$(stddev docker "$JSON_COLD")")" "$(ratio "$SC" "$DC")"
	printf '| fully cached | %s ms ± %s | %s ms ± %s | %s |\n' "$(ms "$SW")" "$(ms "$(stddev skiff "$JSON_WARM")")" "$(ms "$DW")" "$(ms "$(stddev docker "$JSON_WARM")")" "$(ratio "$SW" "$DW")"
	echo
} >"$OUT"
echo "markdown section: $OUT"
