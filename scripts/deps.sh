#!/usr/bin/env bash
# Installs the Debian packages skiff needs to build (and, with --test, to run its test suite
# and drive its peers). Idempotent; skips apt entirely when everything is already present.
set -euo pipefail

build_pkgs=(gcc pkg-config libseccomp-dev busybox-static iproute2 nftables iptables)
test_pkgs=(runc crun bats gawk jq hyperfine docker.io podman skopeo umoci docker-registry
           iptables qemu-system-x86 linux-image-amd64 cpio xz-utils dpkg-dev python3
           apache2-utils python3-cryptography curl python3-jsonschema
           golang-github-opencontainers-specs-dev libc6-dev util-linux)

pkgs=("${build_pkgs[@]}")
[[ "${1:-}" == "--test" ]] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
command -v cargo >/dev/null || { echo "deps: cargo not found; install Rust (rustup) first" >&2; exit 1; }
