# This comment comes first, so the next line is no directive:
# escape = `

FROM image
LABEL maintainer me@example.org
ENV GOPATH \
\go
