#escape=\
FROM ubuntu:22.04

LABEL maintainer ops@example.org

# TORUN -v /var/run/docker.sock:/var/run/docker.sock

ENV GOPATH /go

# Set our command
ENTRYPOINT ["/usr/local/bin/agent"]

# Install what we need, then clean up after ourselves
RUN apt-get update \
	&& dpkg -l | awk '/^ii/ {print $2}' > /tmp/dpkg.clean \
    && apt-get install -y --no-install-recommends git golang ca-certificates \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists \

	&& go install example.org/agent@latest \
    && mv $GOPATH/bin/agent /usr/local/bin/agent \

	&& rm -rf $GOPATH
