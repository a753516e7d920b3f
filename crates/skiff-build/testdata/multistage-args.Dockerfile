ARG VERSION=1.0 \
    BASE_IMAGE="debian:bookworm-slim"
ARG CHANNEL
FROM --platform=$BUILDPLATFORM ${BASE_IMAGE} AS Builder
ARG VERSION
RUN --mount=type=cache,target=/var/cache/apt \
    --network=host \
    apt-get update
FROM builder as Test
RUN make test
FROM ${BASE_IMAGE}
COPY --from=Builder --chown=1000:1000 /out /app
STOPSIGNAL SIGQUIT
SHELL ["/bin/bash", "-eo", "pipefail", "-c"]
MAINTAINER someone
