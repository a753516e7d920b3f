# syntax=docker/dockerfile:1
FROM alpine AS base
RUN <<EOF
set -e
apk add --no-cache curl
EOF
RUN <<-"SCRIPT" sh -x
	echo "$HOME is not expanded by the parser"
	SCRIPT
COPY <<conf.ini <<-'EOT' /etc/app/
[main]
key = $VALUE
conf.ini
	tabbed
	EOT
RUN python3 3<<PY 4<<'DATA'
print(open(3).read())
PY
raw $data
DATA
ONBUILD RUN <<EOF
echo triggered
EOF
CMD ["sh"]
