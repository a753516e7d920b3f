#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# Builds the Dockerfiles of testdata/build/ with skiff and with docker 20.10's classic
# builder (DOCKER_BUILDKIT=0, a private dockerd), then compares the image configs (Env, Cmd,
# Entrypoint, WorkingDir, User, ExposedPorts, Volumes, Labels, Healthcheck, StopSignal,
# OnBuild, Shell) and the file trees (unpacked with umoci: path, type, mode, owner, size,
# content digest, link target; not mtimes).
#
#   crates/skiff-build/tests/docker_compare.sh [SKIFF_BIN]     (default target/debug/skiff)
#
# Needs root, dockerd (docker.io), skopeo, umoci, jq. Everything it starts is stopped and
# everything it writes is removed on exit. Exit status 1 when any comparison differs.
set -euo pipefail

SKIFF=$(realpath "${1:-target/debug/skiff}")
DATA=$(cd "$(dirname "$0")/../testdata/build" && pwd)
DOCKER=/usr/bin/docker
[ -x $DOCKER ] || DOCKER=docker
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
for tool in dockerd skopeo umoci jq; do
	command -v $tool >/dev/null || { echo "missing $tool" >&2; exit 1; }
done

WORK=$(mktemp -d /var/tmp/skiff-build-compare.XXXXXX)
SOCK=$WORK/docker.sock
DK="$DOCKER -H unix://$SOCK"
SK="$SKIFF --root $WORK/skiff"
DOCKERD_PID=""
cleanup() {
	set +e
	if [ -n "$DOCKERD_PID" ]; then
		kill "$DOCKERD_PID" && wait "$DOCKERD_PID" 2>/dev/null
	fi
	grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

# ---- the busybox base, built the same way by both -----------------------------------
R=$WORK/rootfs
mkdir -p "$R/bin" "$R/etc" "$R/tmp" "$R/root"
cp /bin/busybox "$R/bin/"
for applet in $(/bin/busybox --list); do [ "$applet" = busybox ] || ln -s busybox "$R/bin/$applet"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$R/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$R/etc/group"
mkdir -p "$WORK/base"
tar -C "$R" --numeric-owner -cf "$WORK/base/busybox.tar" .
cp "$DATA/base.Dockerfile" "$WORK/base/Dockerfile"

dockerd --data-root "$WORK/docker" --exec-root "$WORK/docker-exec" -H "unix://$SOCK" \
	--pidfile "$WORK/docker.pid" --bridge=none --iptables=false --ip6tables=false \
	--storage-driver overlay2 >"$WORK/dockerd.log" 2>&1 &
DOCKERD_PID=$!
for _ in $(seq 300); do $DK version >/dev/null 2>&1 && break; sleep 0.1; done
$DK version >/dev/null

export DOCKER_BUILDKIT=0
$DK build -q -t busybox "$WORK/base" >/dev/null
$SK build -q -t busybox "$WORK/base" >/dev/null

FIELDS='{Env,Cmd,Entrypoint,WorkingDir,User,ExposedPorts,Volumes,Labels,Healthcheck,StopSignal,OnBuild,Shell}
	| with_entries(select(.value != null and .value != "" and .value != [] and .value != {}))'

skiff_manifest() { # TAG -> manifest digest hex
	jq -r --arg t "docker.io/library/$1:latest" '.tags[$t]' "$WORK/skiff/images/index.json" | sed 's/^sha256://'
}

skiff_config() { # TAG -> config JSON
	local m
	m=$(skiff_manifest "$1")
	jq -r .config.digest "$WORK/skiff/blobs/sha256/$m" | sed 's/^sha256://' |
		xargs -I{} cat "$WORK/skiff/blobs/sha256/{}"
}

# An OCI layout of a skiff image (hard links to its blobs), for umoci.
skiff_layout() { # TAG DIR
	local m size
	m=$(skiff_manifest "$1")
	mkdir -p "$2/blobs/sha256"
	echo '{"imageLayoutVersion":"1.0.0"}' >"$2/oci-layout"
	for d in $m $(jq -r '.config.digest, .layers[].digest' "$WORK/skiff/blobs/sha256/$m" | sed 's/^sha256://'); do
		ln -f "$WORK/skiff/blobs/sha256/$d" "$2/blobs/sha256/$d"
	done
	size=$(stat -c %s "$WORK/skiff/blobs/sha256/$m")
	jq -n --arg d "sha256:$m" --argjson s "$size" '{schemaVersion: 2, manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $d, size: $s, annotations: {"org.opencontainers.image.ref.name": "img"}}]}' >"$2/index.json"
}

tree_listing() { # ROOTFS
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while IFS= read -r f; do
		if [ -L "$f" ]; then
			printf '%s %s -> %s\n' "$f" "$(stat -c '%f %u:%g' "$f")" "$(readlink "$f")"
		elif [ -f "$f" ]; then
			printf '%s %s %s\n' "$f" "$(stat -c '%f %u:%g %s' "$f")" "$(sha256sum <"$f" | cut -c1-16)"
		else
			printf '%s %s\n' "$f" "$(stat -c '%f %u:%g' "$f")"
		fi
	done)
}

FAILED=0
N=0
compare() { # DIR [BUILD FLAGS]
	local dir=$1
	shift
	N=$((N + 1))
	local name=$dir-$N
	local ctx=$WORK/ctx-$name
	cp -a "$DATA/$dir" "$ctx"
	# docker's classic builder builds every stage before the target; drop the stage that
	# skiff must skip (and that fails when built).
	[ "$dir" = multistage ] && sed -i '1,3d' "$ctx/Dockerfile"
	echo "== $dir $*"
	if ! $DK build -q -t "cmp-$name" "$@" "$ctx" >"$WORK/$name.docker.out" 2>&1; then
		echo "docker build failed:"; cat "$WORK/$name.docker.out"; FAILED=1; return
	fi
	if ! $SK build -q -t "cmp-$name" "$@" "$ctx" >"$WORK/$name.skiff.out" 2>&1; then
		echo "skiff build failed:"; cat "$WORK/$name.skiff.out"; FAILED=1; return
	fi
	$DK image inspect -f '{{json .Config}}' "cmp-$name" | jq -S "$FIELDS" >"$WORK/$name.docker.config"
	skiff_config "cmp-$name" | jq -S ".config | $FIELDS" >"$WORK/$name.skiff.config"
	if diff -u "$WORK/$name.docker.config" "$WORK/$name.skiff.config"; then
		echo "   config: same ($(jq -c 'keys' "$WORK/$name.skiff.config"))"
	else
		echo "   config: DIFFERENT"; FAILED=1
	fi
	$DK save -o "$WORK/$name.docker.tar" "cmp-$name"
	skopeo copy -q "docker-archive:$WORK/$name.docker.tar" "oci:$WORK/$name.docker.oci:img"
	umoci unpack --image "$WORK/$name.docker.oci:img" "$WORK/$name.docker.bundle" >/dev/null
	skiff_layout "cmp-$name" "$WORK/$name.skiff.oci"
	umoci unpack --image "$WORK/$name.skiff.oci:img" "$WORK/$name.skiff.bundle" >/dev/null
	tree_listing "$WORK/$name.docker.bundle/rootfs" >"$WORK/$name.docker.tree"
	tree_listing "$WORK/$name.skiff.bundle/rootfs" >"$WORK/$name.skiff.tree"
	if diff -u "$WORK/$name.docker.tree" "$WORK/$name.skiff.tree"; then
		echo "   file tree: same ($(wc -l <"$WORK/$name.skiff.tree") entries)"
	else
		echo "   file tree: DIFFERENT"; FAILED=1
	fi
}

compare compat
compare compat --build-arg VERSION=9 --label extra=1
compare ignore
compare add
compare multistage --target final
exit $FAILED
