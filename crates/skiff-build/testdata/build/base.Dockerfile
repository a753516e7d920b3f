# The busybox base both builders start from (tests/docker_compare.sh): a rootfs tar added
# to scratch.
FROM scratch
ADD busybox.tar /
CMD ["sh"]
