#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
#
# The "real service" acceptance of `skiff build`: a Debian bookworm base made with
# mmdebstrap (minbase) is imported, a Dockerfile installs lighttpd with
# `RUN apt-get install` (host networking, the apt mirror), and the built image runs it:
# lighttpd checks its configuration with its modules loaded, then serves a page that is
# fetched from inside the container.
#
#   crates/skiff-build/tests/debian_service.sh [SKIFF_BIN]      (default target/debug/skiff)
#
# Needs root, network access to the Debian mirror and mmdebstrap (`apt-get install
# mmdebstrap`); skipped with a message (exit 0) when mmdebstrap is missing. About a minute.
set -euo pipefail

SKIFF=$(realpath "${1:-target/debug/skiff}")
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
if ! command -v mmdebstrap >/dev/null; then
	echo "SKIPPED: mmdebstrap is not installed (apt-get install mmdebstrap)"
	exit 0
fi
WORK=$(mktemp -d /var/tmp/skiff-debian-build.XXXXXX)
SK="$SKIFF --root $WORK/skiff"
cleanup() {
	set +e
	$SK ps -aq 2>/dev/null | xargs -r $SK rm -f >/dev/null 2>&1
	grep -o " $WORK[^ ]*" /proc/self/mounts | sort -r | xargs -r -n1 umount -l 2>/dev/null
	rm -rf "$WORK"
}
trap cleanup EXIT

SOURCE_DATE_EPOCH=1700000000 mmdebstrap --quiet --variant=minbase --skip=output/dev \
	--dpkgopt='path-exclude=/usr/share/{doc,locale,man}/*' \
	--customize-hook='rm -rf "$1"/var/lib/apt/lists/*' bookworm "$WORK/debian.tar"
$SK import "$WORK/debian.tar" debian:bookworm-local >/dev/null

mkdir -p "$WORK/ctx"
cat >"$WORK/ctx/Dockerfile" <<'DOCKERFILE'
FROM debian:bookworm-local
RUN apt-get update \
 && apt-get install -y --no-install-recommends lighttpd \
 && rm -rf /var/lib/apt/lists/*
COPY index.html /var/www/html/index.html
EXPOSE 80
CMD ["lighttpd", "-D", "-f", "/etc/lighttpd/lighttpd.conf"]
DOCKERFILE
echo "built by skiff" >"$WORK/ctx/index.html"

$SK build -t lighttpd-local "$WORK/ctx"
echo "== the image runs lighttpd"
$SK run --rm lighttpd-local lighttpd -tt -f /etc/lighttpd/lighttpd.conf
$SK run --rm lighttpd-local lighttpd -v
# Serve on the host's loopback (skiff's `--network none` leaves lo down for now), on a port
# of its own, and fetch the page with perl's sockets (in the base image).
PORT=$((20000 + $$ % 20000))
PAGE=$($SK run --rm --network host lighttpd-local sh -c "
	sed -i -e 's/^server.port.*/server.port = $PORT/' -e '\$a server.bind = \"127.0.0.1\"' /etc/lighttpd/lighttpd.conf
	lighttpd -f /etc/lighttpd/lighttpd.conf && sleep 0.5
	perl -MIO::Socket::INET -e 'my \$s = IO::Socket::INET->new(q(127.0.0.1:$PORT)) or die; print \$s qq(GET / HTTP/1.0\r\n\r\n); print while <\$s>'
	kill \$(cat /run/lighttpd.pid)")
echo "$PAGE" | tail -1
echo "$PAGE" | grep -q "built by skiff" || { echo "FAILED: lighttpd did not serve the page"; exit 1; }
echo "OK: Debian image built with apt-get install, and it serves"
