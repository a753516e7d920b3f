#!/usr/bin/env bash
# Fresh machine to a working skiff: system packages, a release build, the binary installed
# to /usr/local/bin (plus the `skiff-runtime` name that makes it a drop-in runc), and the
# main job: `skiff run --rm hello-world` from the image built into the binary (offline).
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh
cargo build --release --locked -p skiff-cli
install -m 0755 target/release/skiff /usr/local/bin/skiff
ln -sf skiff /usr/local/bin/skiff-runtime
skiff run --rm hello-world
