#!/usr/bin/env bash
# The whole test suite, as root on a fresh Debian 12 machine: installs what it needs, checks
# formatting and lints, runs every crate's tests on the real kernel, then lets real peers
# drive skiff — Docker and Podman using `skiff-runtime`, runc's own integration suite, a real
# registry and dockerd for pull/push/build — and runs the cgroup tests in a cgroup v2 VM.
# Each stage prints its own runner's result; the last line sums up the stages.
set -uo pipefail
cd "$(dirname "$0")/.."
export CARGO_TERM_COLOR=never

passed=0 failed=0 failed_names=()
stage() {
    local name=$1; shift
    echo "=== stage: $name ($(date -u +%T))"
    local start=$SECONDS
    if "$@"; then
        passed=$((passed + 1)); echo "=== ok: $name ($((SECONDS - start)) s)"
    else
        failed=$((failed + 1)); failed_names+=("$name"); echo "=== FAILED: $name ($((SECONDS - start)) s)"
    fi
}

scripts/deps.sh --test || { echo "deps: installation failed" >&2; exit 1; }

work=$(mktemp -d /tmp/skiff-test.XXXXXX)
trap 'rm -rf "$work"' EXIT

stage fmt           cargo fmt --all -- --check
stage clippy        cargo clippy --workspace --all-targets --locked -- -D warnings
stage crate-tests   cargo test --workspace --locked
stage release-build cargo build --release --locked -p skiff-cli
SKIFF=$PWD/target/release/skiff
ln -sf skiff target/release/skiff-runtime
stage hello-world   "$SKIFF" --root "$work/root" run --rm hello-world
stage cli-build     env SKIFF="$SKIFF" bats crates/skiff-build/tests/cli.bats
stage cli-registry  env SKIFF="$SKIFF" bats crates/skiff-registry/tests/cli.bats
stage docker-drives-skiff-runtime tests/peers/docker-runtime.sh "$PWD/target/release/skiff-runtime"
stage podman-drives-skiff-runtime tests/peers/podman-runtime.sh "$PWD/target/release/skiff-runtime"
stage runc-bats     scripts/runc-bats.sh --baseline scripts/runc-bats-baseline.tap \
                        --known scripts/runc-bats-known.txt "$PWD/target/release/skiff-runtime"
stage cgroup-v2-vm  scripts/cgroup-v2-vm.sh

echo "stages failed: ${failed_names[*]:-none}"
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]
