#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# `skiff build` as users call it: context and Dockerfile sources, flags, output, exit codes,
# and base images pulled from a real registry (docker-registry on loopback).
#
#   bats crates/skiff-build/tests/cli.bats      (as root; SKIFF=path to test another build
#                                                than target/debug/skiff)

setup_file() {
	export SKIFF=${SKIFF:-$BATS_TEST_DIRNAME/../../../target/debug/skiff}
	[ -x "$SKIFF" ] || { echo "build skiff first: cargo build -p skiff-cli" >&2; return 1; }
	export T=$(mktemp -d /var/tmp/skiff-build-cli.XXXXXX)
	export SKIFF_ROOT=$T/root
	export PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export REG=127.0.0.1:$PORT
	printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n' "$T/reg" "$REG" >"$T/reg.yml"
	docker-registry serve "$T/reg.yml" >"$T/reg.log" 2>&1 3>&- &
	echo $! >"$T/reg.pid"
	for _ in $(seq 100); do curl -s "http://$REG/v2/" >/dev/null && break; sleep 0.05; done
	mkdir -p "$T/bb/bin" "$T/bb/etc"
	cp /bin/busybox "$T/bb/bin/"
	for a in sh echo cat ls; do ln -s busybox "$T/bb/bin/$a"; done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$T/bb/etc/passwd"
	tar -C "$T/bb" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$T/bb.tar" .
	"$SKIFF" import "$T/bb.tar" busybox >/dev/null
	mkdir -p "$T/ctx"
	echo hello >"$T/ctx/hello.txt"
	printf 'FROM busybox\nCOPY hello.txt /hello.txt\nRUN cat /hello.txt\nCMD ["cat", "/hello.txt"]\n' >"$T/ctx/Dockerfile"
}

teardown_file() {
	kill "$(cat "$T/reg.pid")" 2>/dev/null || true
	grep -o " $T[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null || true
	rm -rf "$T"
}

@test "build a directory: docker's step output, tags, and the image runs" {
	run "$SKIFF" build -t cli-a -t cli-b:v1 "$T/ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"Step 1/4 : FROM busybox"* ]]
	[[ "$output" == *"Step 3/4 : RUN cat /hello.txt"* ]]
	[[ "$output" == *" ---> Running in "* ]]
	[[ "$output" == *"Successfully tagged cli-a:latest"* ]]
	[[ "$output" == *"Successfully tagged cli-b:v1"* ]]
	run "$SKIFF" run --rm cli-b:v1
	[ "$output" = "hello" ]
}

@test "-q prints only the id; --iidfile writes it; a rebuild is cached" {
	run "$SKIFF" build -q --iidfile "$T/iid" -t cli-q "$T/ctx"
	[ "$status" -eq 0 ]
	[[ "$output" =~ ^sha256:[0-9a-f]{64}$ ]]
	[ "$(cat "$T/iid")" = "$output" ]
	run "$SKIFF" build -t cli-q "$T/ctx"
	[ "$(grep -c -- ' ---> Using cache' <<<"$output")" -eq 3 ]
}

@test "a Dockerfile on stdin (-f -) with the context directory" {
	run bash -c "printf 'FROM busybox\nCOPY hello.txt /from-stdin\n' | '$SKIFF' build -q -f - -t cli-f '$T/ctx'"
	[ "$status" -eq 0 ]
	run "$SKIFF" run --rm cli-f cat /from-stdin
	[ "$output" = "hello" ]
}

@test "a Dockerfile alone on stdin (-), and a context tar on stdin" {
	run bash -c "printf 'FROM busybox\nRUN echo lone > /lone\n' | '$SKIFF' build -q -t cli-lone -"
	[ "$status" -eq 0 ]
	run bash -c "tar -C '$T/ctx' -czf - . | '$SKIFF' build -q -t cli-tar -"
	[ "$status" -eq 0 ]
	run "$SKIFF" run --rm cli-tar
	[ "$output" = "hello" ]
}

@test "a failing RUN: its output, docker's message, its exit code, no image" {
	printf 'FROM busybox\nRUN echo failing-output && exit 3\n' >"$T/Dockerfile.fail"
	run "$SKIFF" build -f "$T/Dockerfile.fail" -t cli-fail "$T/ctx"
	[ "$status" -eq 3 ]
	[[ "$output" == *"failing-output"* ]]
	[[ "$output" == *"The command '/bin/sh -c echo failing-output && exit 3' returned a non-zero code: 3"* ]]
	run "$SKIFF" run --rm cli-fail true
	[ "$status" -ne 0 ]
	! grep -q "$T/root" /proc/self/mountinfo
}

@test "--build-arg, --label and --target" {
	printf 'FROM busybox AS one\nARG WHO=nobody\nRUN echo "hi $WHO" > /who\nFROM one AS two\nRUN exit 9\n' >"$T/Dockerfile.args"
	run "$SKIFF" build -q -f "$T/Dockerfile.args" --target one --build-arg WHO=skiff --label team=build -t cli-args "$T/ctx"
	[ "$status" -eq 0 ]
	run "$SKIFF" run --rm cli-args cat /who
	[ "$output" = "hi skiff" ]
	config=$(jq -r '.tags["docker.io/library/cli-args:latest"]' "$SKIFF_ROOT/images/index.json" | sed 's/sha256://' |
		xargs -I{} jq -r .config.digest "$SKIFF_ROOT/blobs/sha256/{}" | sed 's/sha256://')
	[ "$(jq -r .config.Labels.team "$SKIFF_ROOT/blobs/sha256/$config")" = "build" ]
}

@test "a missing base image is pulled from a registry; --pull pulls again" {
	"$SKIFF" build -q -t "$REG/base:1" "$T/ctx" >/dev/null
	"$SKIFF" push "$REG/base:1" >/dev/null
	export SKIFF_ROOT=$T/fresh
	printf 'FROM %s/base:1\nRUN cat /hello.txt\n' "$REG" >"$T/Dockerfile.pull"
	run "$SKIFF" build -f "$T/Dockerfile.pull" -t cli-pulled "$T/ctx"
	[ "$status" -eq 0 ]
	[[ "$output" == *"hello"* ]]
	run "$SKIFF" build --pull -f "$T/Dockerfile.pull" -t cli-pulled "$T/ctx"
	[ "$status" -eq 0 ]
}

@test "an unknown network mode is refused" {
	run "$SKIFF" build --network bridge "$T/ctx"
	[ "$status" -ne 0 ]
	[[ "$output" == *"not supported"* ]]
}
