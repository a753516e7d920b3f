#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Pull benchmark: `skiff pull` vs `docker pull` vs `skopeo copy` (download only, to a dir)
# of a Debian minbase image from the same local registry, in one hyperfine run.
#
#   bench/pull.sh [--runs N] [--out FILE] [SKIFF_BIN]      (default target/release/skiff)
#
# - The image: a Debian bookworm minbase root filesystem made with mmdebstrap (apt-get
#   install mmdebstrap; about 40 s, cached in /var/tmp/skiff-bench-debian.tar), one gzip
#   layer (gzip -6 -n, as docker builds them) in an OCI manifest, pushed once by skopeo into a private
#   docker-registry (Distribution 2.8.2) on a free 127.0.0.1 port.
# - docker: a private dockerd (own --data-root, --exec-root, socket, --bridge=none,
#   no iptables), overlay2; the image is removed before each run.
# - All storage (registry, docker, skiff, skopeo) on a private loop-mounted ext4.
# - skiff: a fresh state root before each run (download, verify, unpack).
# - skopeo: a fresh target dir before each run (download and verify only, no unpack).
# Prints the medians and the ratios, and writes a markdown section (date, machine,
# versions) to FILE (default: a temp file whose path is printed) for bench/RESULTS.md.
# Everything it starts is stopped and removed on exit. Timings are not asserted.
set -euo pipefail

RUNS=5
OUT=""
SKIFF=""
while [ $# -gt 0 ]; do
	case $1 in
	--runs) RUNS=${2:?--runs needs a number}; shift 2 ;;
	--out) OUT=${2:?--out needs a file}; shift 2 ;;
	-h | --help) sed -n '4,20p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) SKIFF=$1; shift ;;
	esac
done
HERE=$(cd "$(dirname "$0")/.." && pwd)
SKIFF=${SKIFF:-$HERE/target/release/skiff}
[ -x "$SKIFF" ] || { echo "no skiff binary at $SKIFF (cargo build --release -p skiff-cli)" >&2; exit 1; }
for tool in hyperfine skopeo docker-registry dockerd docker jq; do
	command -v "$tool" >/dev/null || { echo "missing $tool" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "run as root (dockerd and skiff's layer store need it)" >&2; exit 1; }

TOP=$(mktemp -d /var/tmp/skiff-pull-bench.XXXXXX)
REGISTRY_PID=""
DOCKERD_PID=""
cleanup() {
	set +e
	[ -n "$DOCKERD_PID" ] && kill "$DOCKERD_PID" && wait "$DOCKERD_PID" 2>/dev/null
	[ -n "$REGISTRY_PID" ] && kill "$REGISTRY_PID" && wait "$REGISTRY_PID" 2>/dev/null
	# dockerd unmounts its layers on a clean stop; make sure before deleting.
	grep -o " $TOP[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$TOP"
}
trap cleanup EXIT
# Every tool's storage on one private ext4 file system. The root file system here is
# mounted with `discard`, which makes file creation after a big delete erratic (GNU tar
# of the same layer: 0.6 s to 15 s); a loop-mounted ext4 without discard is steady.
truncate -s 8G "$TOP/fs.img"
mkfs.ext4 -q -F "$TOP/fs.img"
WORK=$TOP/mnt
mkdir "$WORK"
mount -o loop "$TOP/fs.img" "$WORK"

# ---- the image -------------------------------------------------------------------
TAR=/var/tmp/skiff-bench-debian.tar
if [ ! -s "$TAR" ]; then
	command -v mmdebstrap >/dev/null || { echo "missing mmdebstrap (apt-get install mmdebstrap)" >&2; exit 1; }
	MIRROR=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || echo http://deb.debian.org/debian)
	echo "making the Debian minbase image with mmdebstrap (about 40 s)…" >&2
	SOURCE_DATE_EPOCH=1700000000 mmdebstrap --quiet --variant=minbase --skip=output/dev \
		--dpkgopt='path-exclude=/usr/share/{doc,locale,man}/*' \
		--customize-hook='rm -rf "$1"/var/lib/apt/lists/*' bookworm "$TAR.tmp" "$MIRROR"
	mv "$TAR.tmp" "$TAR"
fi
L=$WORK/layout
mkdir -p "$L/blobs/sha256"
blob() { # FILE -> prints its digest, stores it in the layout
	local d
	d=$(sha256sum "$1" | cut -d' ' -f1)
	mv "$1" "$L/blobs/sha256/$d"
	echo "$d"
}
DIFF_ID=$(sha256sum "$TAR" | cut -d' ' -f1)
gzip -6 -n -c "$TAR" >"$WORK/layer.gz"
LAYER_SIZE=$(stat -c %s "$WORK/layer.gz")
LAYER=$(blob "$WORK/layer.gz")
jq -cn --arg d "sha256:$DIFF_ID" '{architecture:"amd64",os:"linux",config:{Cmd:["/bin/bash"],Env:["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]},rootfs:{type:"layers",diff_ids:[$d]}}' >"$WORK/config.json"
CONFIG_SIZE=$(stat -c %s "$WORK/config.json")
CONFIG=$(blob "$WORK/config.json")
jq -cn --arg c "sha256:$CONFIG" --argjson cs "$CONFIG_SIZE" --arg l "sha256:$LAYER" --argjson ls "$LAYER_SIZE" \
	'{schemaVersion:2,mediaType:"application/vnd.oci.image.manifest.v1+json",
	  config:{mediaType:"application/vnd.oci.image.config.v1+json",digest:$c,size:$cs},
	  layers:[{mediaType:"application/vnd.oci.image.layer.v1.tar+gzip",digest:$l,size:$ls}]}' >"$WORK/manifest.json"
MANIFEST_SIZE=$(stat -c %s "$WORK/manifest.json")
MANIFEST=$(blob "$WORK/manifest.json")
echo '{"imageLayoutVersion":"1.0.0"}' >"$L/oci-layout"
jq -cn --arg m "sha256:$MANIFEST" --argjson s "$MANIFEST_SIZE" \
	'{schemaVersion:2,manifests:[{mediaType:"application/vnd.oci.image.manifest.v1+json",digest:$m,size:$s,annotations:{"org.opencontainers.image.ref.name":"bookworm"}}]}' >"$L/index.json"

# ---- the registry ----------------------------------------------------------------
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$WORK/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage: {filesystem: {rootdirectory: $WORK/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$PORT}
EOF
docker-registry serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
REGISTRY_PID=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/v2/" >/dev/null && break; sleep 0.05; done
IMAGE=127.0.0.1:$PORT/debian:bookworm
XDG_DATA_HOME=$WORK/skopeo-cache skopeo --insecure-policy copy -q --dest-tls-verify=false "oci:$L:bookworm" "docker://$IMAGE"

# ---- a private dockerd -----------------------------------------------------------
SOCK=$WORK/docker.sock
dockerd --data-root "$WORK/docker" --exec-root "$WORK/docker-exec" -H "unix://$SOCK" \
	--pidfile "$WORK/docker.pid" --bridge=none --iptables=false --ip6tables=false \
	--storage-driver overlay2 >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 200); do docker -H "unix://$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
docker -H "unix://$SOCK" version >/dev/null

# ---- measure ---------------------------------------------------------------------
JSON=$WORK/hyperfine.json
hyperfine --runs "$RUNS" --warmup 1 --export-json "$JSON" \
	--prepare "rm -rf $WORK/skiff-root && sync" -n skiff "$SKIFF --root $WORK/skiff-root pull -q $IMAGE" \
	--prepare "docker -H unix://$SOCK rmi -f $IMAGE >/dev/null 2>&1; sync" -n docker "docker -H unix://$SOCK pull -q $IMAGE" \
	--prepare "rm -rf $WORK/skopeo-dir && sync" -n skopeo "XDG_DATA_HOME=$WORK/skopeo-cache skopeo copy -q --src-tls-verify=false docker://$IMAGE dir:$WORK/skopeo-dir"

median() { jq -r --arg n "$1" '.results[] | select(.command == $n) | .median' "$JSON"; }
S=$(median skiff); D=$(median docker); K=$(median skopeo)
RATIO=$(awk -v s="$S" -v d="$D" 'BEGIN {printf "%.2f", s / d}')
SUMMARY=$(
	echo "## Pull: Debian bookworm minbase from a local registry ($(date -u +%Y-%m-%d), $(nproc) vCPU, $(uname -r))"
	echo
	echo "Layer: $(numfmt --to=si "$LAYER_SIZE")B gzip, $(numfmt --to=si "$(stat -c %s "$TAR")")B tar, $(tar -tf "$TAR" | wc -l) entries. hyperfine, $RUNS runs + 1 warm-up, fresh store each run."
	echo
	echo "| Tool | Median | vs docker |"
	echo "|---|---|---|"
	printf '| skiff pull (download, verify, unpack) | %.3f s | %s |\n' "$S" "$RATIO"
	printf '| docker pull (dockerd %s, overlay2) | %.3f s | 1.00 |\n' "$(dockerd --version | awk '{print $3}' | tr -d ,)" "$D"
	printf '| skopeo copy to dir (download only, %s) | %.3f s | %.2f |\n' "$(skopeo --version | awk '{print $3}')" "$K" "$(awk -v k="$K" -v d="$D" 'BEGIN {print k / d}')"
	echo
	echo "Target: skiff at most 1/3 of docker (0.33). Measured: $RATIO."
)
echo
echo "$SUMMARY"
if [ -z "$OUT" ]; then OUT=$(mktemp /tmp/skiff-pull-bench.XXXXXX.md); fi
echo "$SUMMARY" >"$OUT"
echo
echo "(markdown written to $OUT)"
