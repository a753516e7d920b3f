FROM debian
ADD probe.sh start.sh /srv/
CMD /srv/start.sh
HEALTHCHECK --interval=5s --timeout=3s --retries=3 \
  CMD /srv/probe.sh --quiet
HEALTHCHECK   CMD   a b
HEALTHCHECK --timeout=3s CMD ["probe"]
HEALTHCHECK --start-period=1m --start-interval=500ms cmd probe
HEALTHCHECK NONE
