#!/usr/bin/env bash
# Layer unpack benchmark: skiff's layer applier against GNU tar on the same layer.
#
# The layer is a Debian minbase root filesystem made offline-from-the-mirror with
# mmdebstrap (apt-get install mmdebstrap); without mmdebstrap, a tar of parts of the host's
# /usr and /etc is used instead. Each tool unpacks into an empty directory; hyperfine
# reports the median of RUNS runs. skiff runs as a pull would (decompress on a second
# thread, hash the diff id, unpack into a temp dir, rename into layers/<chain-id>), without
# the final syncfs (tar does not sync either); one extra row shows the cost of --durable.
#
# Usage: bench/unpack.sh >>bench/RESULTS.md   (WORK=/var/tmp/skiff-bench-unpack RUNS=7 by default)
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${WORK:-/var/tmp/skiff-bench-unpack}
RUNS=${RUNS:-7}
mkdir -p "$WORK"
LAYER=$WORK/minbase.tar

if [ ! -s "$LAYER" ]; then
    if command -v mmdebstrap >/dev/null; then
        mirror=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        echo "building a Debian minbase layer with mmdebstrap (${mirror:-default mirror})" >&2
        SOURCE_DATE_EPOCH=1700000000 mmdebstrap --quiet --format=tar --variant=minbase --skip=output/dev \
            bookworm "$LAYER.tmp" ${mirror:+"$mirror"} >&2
        mv "$LAYER.tmp" "$LAYER"
    else
        echo "mmdebstrap not found: using parts of the host's /usr and /etc as the layer" >&2
        tar --numeric-owner -C / -cf "$LAYER" etc usr/bin usr/sbin usr/share/perl5 usr/share/zoneinfo 2>/dev/null || true
    fi
fi
[ -s "$LAYER.gz" ] || gzip -6 -n -c "$LAYER" >"$LAYER.gz"
have_zstd=false
if command -v zstd >/dev/null; then
    have_zstd=true
    [ -s "$LAYER.zst" ] || zstd -q -3 -c "$LAYER" >"$LAYER.zst"
fi

# UNPACK_BIN: a prebuilt example binary (skips the release build).
if [ -z "${UNPACK_BIN:-}" ]; then
    cargo build --quiet --release -p skiff-image --example unpack
fi
BIN=${UNPACK_BIN:-$(pwd)/target/release/examples/unpack}
entries=$(tar -tf "$LAYER" | wc -l)
echo "layer: $(du -h "$LAYER" | cut -f1) tar, $(du -h "$LAYER.gz" | cut -f1) gzip, $entries entries" >&2

# Every run unpacks into a new directory, and nothing is deleted until all runs are done:
# on this ext4 (mounted with `discard`) the runs right after an `rm -rf` of a big tree
# pay for it with seconds of system time, which drowned every difference between tools.
# The same runs on a tmpfs show the CPU cost of each tool without the disk.
run_suite() { # $1 = name, $2 = directory to unpack under, $3 = delete between runs (true/false)
    local out=$2/runs
    mkdir -p "$out"
    local prepare=()
    if $3; then prepare=(--prepare "rm -rf $out/*"); fi
    local fresh="d=\$(mktemp -d -p $out) &&"
    local cmds=(
        -n "tar -xf (plain)" "$fresh tar -xf $LAYER -C \$d"
        -n "skiff (plain)" "$fresh $BIN $LAYER \$d"
        -n "tar -xzf (gzip)" "$fresh tar -xzf $LAYER.gz -C \$d"
        -n "skiff (gzip)" "$fresh $BIN $LAYER.gz \$d"
    )
    if $have_zstd; then
        cmds+=(-n "tar --zstd -xf (zstd)" "$fresh tar --zstd -xf $LAYER.zst -C \$d"
            -n "skiff (zstd)" "$fresh $BIN $LAYER.zst \$d")
    fi
    cmds+=(-n "skiff --durable (gzip)" "$fresh $BIN --durable $LAYER.gz \$d")
    sync
    hyperfine --style basic --runs "$RUNS" --warmup 1 "${prepare[@]}" --export-json "$WORK/unpack-$1.json" "${cmds[@]}" >&2
    rm -rf "$out"

    echo
    echo "### $1, in $2, median of $RUNS runs"
    table "$WORK/unpack-$1.json"
}

# Prints a hyperfine JSON as a table: median wall time, CPU time (user+system, all
# threads and child processes) and both relative to GNU tar on the same compression.
# skiff's CPU time includes hashing the whole tar (the diff id), which tar does not do.
table() {
    echo
    echo "| command | median (s) | vs GNU tar | CPU user+sys (s) | CPU vs GNU tar |"
    echo "|---|---|---|---|---|"
    jq -r '
      def r2: . * 100 | round / 100;
      def r3: . * 1000 | round / 1000;
      .results as $r
      | $r[]
      | .command as $c
      | ($c | capture("\\((?<k>[a-z]+)\\)$").k) as $kind
      | ($r | map(select(.command | startswith("tar") and endswith("(" + $kind + ")"))) | .[0]) as $tar
      | (.user + .system) as $cpu
      | ($tar.user + $tar.system) as $tarcpu
      | "| \($c) | \(.median | r3) | \(.median / $tar.median | r2)x | \($cpu | r3) | \($cpu / $tarcpu | r2)x |"
    ' "$1"
}

echo "## $(date -u '+%Y-%m-%d %H:%M') UTC — layer unpack: skiff vs GNU tar"
echo
echo "- Machine: $(nproc) CPUs, $(awk '/MemTotal/ {printf "%d GiB RAM", $2/1048576}' /proc/meminfo); kernel $(uname -r)"
echo "- Layer: Debian minbase (mmdebstrap), $entries entries, $(du -h "$LAYER" | cut -f1) tar, $(du -h "$LAYER.gz" | cut -f1) gzip -6"
echo "- $(tar --version | head -1); $(gzip --version | head -1); zstd $(zstd --version 2>/dev/null | grep -o 'v[0-9.]*'); hyperfine $(hyperfine --version | cut -d' ' -f2)"
echo "- Load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
run_suite disk "$WORK" false
if [ "$(id -u)" = 0 ]; then
    tmp=$(mktemp -d)
    mount -t tmpfs -o size=2g skiff-bench "$tmp"
    trap 'umount "$tmp"; rmdir "$tmp"' EXIT
    run_suite tmpfs "$tmp" true
fi
echo
echo "- Load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
