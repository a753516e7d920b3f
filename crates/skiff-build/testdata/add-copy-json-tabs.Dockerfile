FROM	ubuntu:24.04
LABEL	maintainer	Someone <someone@example.org>

COPY	.	/go/src/example.org/app
ADD		.	/
ADD		null /
COPY	nullfile /tmp
ADD		[ "vimrc", "/tmp" ]
COPY	[ "bashrc", "/tmp" ]
COPY	[ "test file", "/tmp" ]
ADD		[ "test file", "/tmp/test file" ]
