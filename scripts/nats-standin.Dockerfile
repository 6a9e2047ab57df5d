# A stand-in for NATS's official image (nats:2.10-alpine), for hosts that reach no image
# registry but do reach Debian's mirror: Debian bookworm's nats-server package (2.9.10) on
# the same Debian base the service image uses. scripts/compose-check.sh builds it.
#
# What compose.yaml relies on, and the official image has too:
#   - the entrypoint runs nats-server with the command's flags (the official alpine image's
#     docker-entrypoint.sh puts `nats-server` before a command that starts with `-`; the
#     scratch image's entrypoint is /nats-server itself);
#   - /bin/sh and `wget` for the healthcheck (busybox's in alpine; the scratch image has
#     neither, so compose.yaml's healthcheck needs the alpine variant);
#   - it runs as root, as the official image does, so a fresh named volume is writable.
# What differs: the version (2.9.10 here, 2.10 there: compose.yaml uses only flags and
# endpoints both have), and Debian's package ships /etc/nats-server.conf, which nothing
# here reads (compose.yaml passes every setting as a flag).
ARG BASE_IMAGE=docker.io/library/debian:bookworm-slim
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nats-server wget \
 && rm -rf /var/lib/apt/lists/*
EXPOSE 4222 6222 8222
ENTRYPOINT ["/usr/sbin/nats-server"]
