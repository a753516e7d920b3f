FROM scratch
ENV a=b
# the next ENV has no name
ENV =oops
