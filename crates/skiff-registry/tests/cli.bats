#!/usr/bin/env bats
# SPDX-License-Identifier: Apache-2.0
#
# The registry verbs of the skiff CLI against a real registry (docker-registry 2.8.2) and a
# real Docker: skiff pull/push/login/logout, pull on demand in `skiff run`, and images
# moving both ways between skiff and dockerd (a private dockerd: own data root, exec root,
# socket, no bridge, no iptables).
#
#   bats crates/skiff-registry/tests/cli.bats        (as root; SKIFF=path/to/skiff to
#                                                     test another build than target/debug)

setup_file() {
	export SKIFF=${SKIFF:-$BATS_TEST_DIRNAME/../../../target/debug/skiff}
	[ -x "$SKIFF" ] || { echo "build skiff first: cargo build -p skiff-cli" >&2; return 1; }
	export T=$(mktemp -d /var/tmp/skiff-cli-registry.XXXXXX)
	export PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export AUTH_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	export REG=127.0.0.1:$PORT AUTH_REG=127.0.0.1:$AUTH_PORT
	htpasswd -Bbn alice wonderland >"$T/htpasswd"
	printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\n' "$T/reg" "$REG" >"$T/reg.yml"
	printf 'version: 0.1\nlog: {level: warn}\nstorage: {filesystem: {rootdirectory: %s}}\nhttp: {addr: %s}\nauth: {htpasswd: {realm: basic-realm, path: %s}}\n' \
		"$T/authreg" "$AUTH_REG" "$T/htpasswd" >"$T/authreg.yml"
	docker-registry serve "$T/reg.yml" >"$T/reg.log" 2>&1 3>&- &
	echo $! >"$T/reg.pid"
	docker-registry serve "$T/authreg.yml" >"$T/authreg.log" 2>&1 3>&- &
	echo $! >"$T/authreg.pid"
	for _ in $(seq 100); do curl -s "http://$REG/v2/" >/dev/null && curl -s "http://$AUTH_REG/v2/" >/dev/null && break; sleep 0.05; done
	# A busybox rootfs to import.
	mkdir -p "$T/bb/bin"
	cp /bin/busybox "$T/bb/bin/"
	for a in sh echo cat; do ln -s busybox "$T/bb/bin/$a"; done
	tar -C "$T/bb" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf "$T/bb.tar" .
	if command -v dockerd >/dev/null; then
		export DOCKER_SOCK=$T/docker.sock
		dockerd --data-root "$T/docker" --exec-root "$T/docker-exec" -H "unix://$DOCKER_SOCK" \
			--pidfile "$T/docker.pid" --bridge=none --iptables=false --ip6tables=false \
			>"$T/dockerd.log" 2>&1 3>&- &
		echo $! >"$T/dockerd.ppid"
		for _ in $(seq 300); do docker -H "unix://$DOCKER_SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
	fi
}

teardown_file() {
	for p in dockerd.ppid reg.pid authreg.pid; do
		[ -f "$T/$p" ] && kill "$(cat "$T/$p")" 2>/dev/null
	done
	# dockerd needs a moment to unmount and exit.
	for _ in $(seq 100); do [ -f "$T/docker.pid" ] && kill -0 "$(cat "$T/docker.pid")" 2>/dev/null || break; sleep 0.1; done
	grep -o " $T[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$T"
}

setup() {
	export ROOT=$T/root-$BATS_TEST_NUMBER
	export DOCKER_CONFIG=$T/dockercfg-$BATS_TEST_NUMBER
}

teardown() {
	rm -rf "$ROOT"
}

sk() { "$SKIFF" --root "$ROOT" "$@"; }
dk() { docker -H "unix://$DOCKER_SOCK" "$@"; }

@test "push, then pull into a fresh store and run; docker-like output" {
	sk import "$T/bb.tar" "$REG/bb:1" >/dev/null
	run sk push "$REG/bb:1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "The push refers to repository [$REG/bb]" ]
	[[ "${lines[-1]}" =~ ^1:\ digest:\ sha256:[0-9a-f]{64}\ size:\ [0-9]+$ ]]
	pushed=$(echo "${lines[-1]}" | awk '{print $3}')
	rm -rf "$ROOT"
	run sk pull "$REG/bb:1"
	[ "$status" -eq 0 ]
	[ "${lines[0]}" = "1: Pulling from bb" ]
	[[ "$output" == *": Pull complete"* ]]
	[[ "$output" != *$'\e'* ]]   # not a terminal: no cursor movement
	[ "${lines[-3]}" = "Digest: $pushed" ]
	[ "${lines[-2]}" = "Status: Downloaded newer image for $REG/bb:1" ]
	[ "${lines[-1]}" = "$REG/bb:1" ]
	run sk pull "$REG/bb:1"
	[ "${lines[-2]}" = "Status: Image is up to date for $REG/bb:1" ]
	run sk pull -q "$REG/bb:1"
	[ "$output" = "$REG/bb:1" ]
	run sk run --rm "$REG/bb:1" echo ran-it
	[ "$status" -eq 0 ]
	[ "$output" = "ran-it" ]
}

@test "run pulls a missing image, with docker's messages on stderr" {
	sk import "$T/bb.tar" "$REG/ondemand:v1" >/dev/null
	sk push -q "$REG/ondemand:v1" >/dev/null
	rm -rf "$ROOT"
	out=$(sk run --rm "$REG/ondemand:v1" echo hello 2>"$T/stderr")
	[ "$out" = "hello" ]
	grep -qx "Unable to find image '$REG/ondemand:v1' locally" "$T/stderr"
	grep -q "^Status: Downloaded newer image for $REG/ondemand:v1$" "$T/stderr"
}

@test "errors are one clear line and exit 125" {
	run sk pull "$REG/nope:1"
	[ "$status" -eq 125 ]
	[ "$output" = "skiff: manifest for $REG/nope:1 not found: manifest unknown; check the image name and tag" ]
	run sk pull 127.0.0.1:1/x
	[ "$status" -eq 125 ]
	[ "${lines[0]}" = "Using default tag: latest" ]
	[[ "${lines[1]}" == "skiff: cannot reach registry 127.0.0.1:1"*"check that the registry is running"* ]]
	[ "${#lines[@]}" -eq 2 ]
	run sk pull --platform linux "$REG/x"
	[ "$status" -eq 125 ]
	[[ "$output" == *"invalid platform"* ]]
	run sk push "$REG/not-here:1"
	[ "$status" -eq 125 ]
	[[ "$output" == *"An image does not exist locally with the tag: $REG/not-here:1"* ]]
}

@test "login checks the password, writes docker's config.json, logout removes it" {
	run sk login -u alice --password-stdin "$AUTH_REG" <<<"wrong"
	[ "$status" -eq 125 ]
	[[ "$output" == *"incorrect username or password"* ]]
	[ ! -e "$DOCKER_CONFIG/config.json" ]
	run sk login -u alice --password-stdin "$AUTH_REG" <<<"wonderland"
	[ "$status" -eq 0 ]
	[ "$output" = "Login Succeeded" ]
	[ "$(jq -r --arg k "$AUTH_REG" '.auths[$k].auth' "$DOCKER_CONFIG/config.json" | base64 -d)" = "alice:wonderland" ]
	[ "$(stat -c %a "$DOCKER_CONFIG/config.json")" = "600" ]
	sk import "$T/bb.tar" "$AUTH_REG/private:1" >/dev/null
	sk push -q "$AUTH_REG/private:1"
	rm -rf "$ROOT"
	sk pull -q "$AUTH_REG/private:1"
	run sk logout "$AUTH_REG"
	[ "$output" = "Removing login credentials for $AUTH_REG" ]
	rm -rf "$ROOT"
	run sk pull "$AUTH_REG/private:1"
	[ "$status" -eq 125 ]
	[[ "$output" == *"skiff login $AUTH_REG"* ]]
	[ -z "$(ls "$ROOT/blobs/sha256")" ]
}

@test "docker pulls and runs what skiff pushed; skiff pulls and runs what docker pushed" {
	[ -n "${DOCKER_SOCK:-}" ] || skip "dockerd is not installed"
	sk import "$T/bb.tar" "$REG/interop:1" >/dev/null
	digest=$(sk push "$REG/interop:1" | awk '/digest:/ {print $3}')
	dk pull -q "$REG/interop:1"
	[ "$(dk image inspect -f '{{index .RepoDigests 0}}' "$REG/interop:1")" = "$REG/interop@$digest" ]
	[ "$(dk run --rm --network none "$REG/interop:1" echo in-docker)" = "in-docker" ]
	dk tag "$REG/interop:1" "$REG/fromdocker:2"
	dk push "$REG/fromdocker:2" >/dev/null
	docker_digest=$(dk image inspect -f '{{join .RepoDigests "\n"}}' "$REG/fromdocker:2" | sed -n 's|.*/fromdocker@||p')
	rm -rf "$ROOT"
	run sk pull "$REG/fromdocker:2"
	[ "$status" -eq 0 ]
	[ "${lines[-3]}" = "Digest: $docker_digest" ] || { echo "$output"; dk image inspect "$REG/fromdocker:2" | jq '.[0].RepoDigests'; false; }
	[ "$(sk run --rm "$REG/fromdocker:2" cat /bin/busybox | sha256sum)" = "$(sha256sum </bin/busybox)" ]
	dk rmi -f "$REG/interop:1" "$REG/fromdocker:2" >/dev/null
}
