#!/usr/bin/env bash
# Brings compose.yaml's 3-node cluster (3 NATS servers with JetStream, 3 faiss-proxy nodes)
# up for real with podman-compose and checks it keeps every acknowledged write through the
# loss of a proxy and a NATS server: anyone can repeat it on a host with podman and no registry.
#
#   bash scripts/compose-check.sh        (as root; podman, podman-compose, curl, jq, node)
#
# 1. Images. FAISS_PROXY_IMAGE: when not given, scripts/container-check.sh builds the image
#    from these sources (its layers reused when nothing changed) and checks it alone, and
#    that image is used. NATS_IMAGE: when not given, a stand-in for the official nats image
#    is built from scripts/nats-standin.Dockerfile (Debian's nats-server on the same
#    debootstrap base).
# 2. `podman-compose up -d` of compose.yaml as it is, with the admin key in a secrets file and
#    the proxies' ports on 127.0.0.1 (PORT_BASE+1..3, default 18281..18283); every proxy
#    ready and every container's healthcheck passing.
# 3. An index created through proxy 1, vectors added there, read back through proxy 2 and
#    searched through proxy 3 with X-Min-Sequence set to the add's X-Index-Version.
# 4. Writers (each add with an Idempotency-Key, retried through the next proxy until
#    acknowledged) and readers (X-Min-Sequence: the latest acknowledged version) run while
#    proxy-2 and nats-2 are SIGKILLed, for 15 s, and after both are started again.
# 5. Every proxy, the restarted one included, holds exactly the acknowledged vectors, each
#    once, at the id its acknowledgement gave.
# 6. `podman-compose down -v` (also on failure; KEEP=1 leaves everything up).
#
# Environment: WORK (default /var/tmp/faiss-proxy-compose: logs, the key), PROJECT (default
# faiss-proxy-check), PORT_BASE (default 18280), OUTAGE_S (default 15), KEEP=1.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-/var/tmp/faiss-proxy-compose}"
PROJECT="${PROJECT:-faiss-proxy-check}"
PORT_BASE="${PORT_BASE:-18280}"
log() { printf '[compose-check] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
for tool in podman podman-compose curl jq node; do command -v "$tool" >/dev/null || die "needs $tool (apt-get install podman podman-compose curl jq)"; done
mkdir -p "$WORK"
start=$SECONDS

# --- 1. images ----------------------------------------------------------------------------
if [ -z "${FAISS_PROXY_IMAGE:-}" ]; then
  FAISS_PROXY_IMAGE=localhost/faiss-proxy:check
  log "scripts/container-check.sh: $FAISS_PROXY_IMAGE from these sources (the first build is long: FAISS, npm, the addon)"
  IMAGE="$FAISS_PROXY_IMAGE" bash "$ROOT/scripts/container-check.sh"
fi
podman image exists "$FAISS_PROXY_IMAGE" || die "no image $FAISS_PROXY_IMAGE"
export FAISS_PROXY_IMAGE
BASE_IMAGE="${BASE_IMAGE:-localhost/faiss-proxy-base:bookworm}"

# podman's defaults (crun, systemd cgroups, raised rlimits) need cgroup v2 and
# CAP_SYS_RESOURCE; on a host without them (this project's build machine) every podman
# command podman-compose runs gets runc, cgroupfs and this shell's limits from a
# containers.conf of this run's own (container-check.sh does the same with flags).
if ! podman run --rm --network none --entrypoint true "$BASE_IMAGE" >/dev/null 2>&1; then
  command -v runc >/dev/null || die "a plain podman run fails here and runc is not installed"
  cat >"$WORK/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Sn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
EOF
  export CONTAINERS_CONF="$WORK/containers.conf"
  log "podman run fails with its defaults here: runc, cgroupfs and this shell's rlimits ($CONTAINERS_CONF)"
fi

if [ -z "${NATS_IMAGE:-}" ]; then
  NATS_IMAGE=localhost/faiss-proxy-nats-standin:bookworm
  if ! podman image exists "$NATS_IMAGE"; then
    log "podman build $NATS_IMAGE (Debian's nats-server on $BASE_IMAGE, a stand-in for nats:2.10-alpine)"
    nice -n 19 podman build --format docker --network host --build-arg BASE_IMAGE="$BASE_IMAGE" \
      -t "$NATS_IMAGE" -f "$ROOT/scripts/nats-standin.Dockerfile" "$ROOT/scripts" >"$WORK/nats-build.log" 2>&1 ||
      { tail -n 20 "$WORK/nats-build.log" >&2; die "podman build of the NATS stand-in"; }
  fi
fi
export NATS_IMAGE

# --- 2. up --------------------------------------------------------------------------------
KEY=$(node -e "const c=require('crypto');console.log('fp_'+c.randomBytes(8).toString('hex')+'_'+c.randomBytes(32).toString('base64url'))")
printf '%s\n' "$KEY" >"$WORK/admin_key" && chmod 644 "$WORK/admin_key"  # the service's uid 10001 reads it
export ADMIN_KEY_FILE="$WORK/admin_key" PUBLISH_HOST=127.0.0.1
export PROXY_1_PORT=$((PORT_BASE + 1)) PROXY_2_PORT=$((PORT_BASE + 2)) PROXY_3_PORT=$((PORT_BASE + 3))
URLS=("http://127.0.0.1:$PROXY_1_PORT" "http://127.0.0.1:$PROXY_2_PORT" "http://127.0.0.1:$PROXY_3_PORT")
compose() { podman-compose -p "$PROJECT" -f "$ROOT/compose.yaml" "$@"; }
container() { printf '%s_%s_1' "$PROJECT" "$1"; } # podman-compose's name for a service's container
teardown() {
  compose down -v >>"$WORK/compose.log" 2>&1 || true
  podman network rm -f "${PROJECT}_default" >/dev/null 2>&1 || true
}
teardown
on_exit() {
  local rc=$?
  if [ "$rc" != 0 ]; then
    for s in nats-1 nats-2 nats-3 proxy-1 proxy-2 proxy-3; do
      podman logs --tail 15 "$(container "$s")" >"$WORK/$s.log" 2>&1 || true
    done
    log "the last lines of each container's log: $WORK/{nats,proxy}-N.log"
  fi
  [ "${KEEP:-0}" = 1 ] || teardown
}
trap on_exit EXIT
log "podman-compose up -d (proxy image $FAISS_PROXY_IMAGE, NATS image $NATS_IMAGE); log: $WORK/compose.log"
up_at=$SECONDS
compose up -d --no-build >"$WORK/compose.log" 2>&1 || { tail -n 30 "$WORK/compose.log" >&2; die "podman-compose up"; }

wait_ready() { # url seconds
  local deadline=$((SECONDS + $2))
  while [ "$SECONDS" -lt "$deadline" ]; do
    curl -fsS -o /dev/null "$1/readyz" 2>/dev/null && return 0
    sleep 1
  done
  return 1
}
for i in 0 1 2; do
  wait_ready "${URLS[$i]}" 180 || die "proxy-$((i + 1)) not ready on ${URLS[$i]}/readyz after 180 s"
done
restarts=$(for s in proxy-1 proxy-2 proxy-3; do podman inspect "$(container "$s")" --format '{{.RestartCount}}'; done | awk '{ n += $1 } END { print n }')
log "3 proxies ready $((SECONDS - up_at)) s after podman-compose up (restarted by the restart policy meanwhile: $restarts times)"
# Podman schedules healthchecks with systemd timers; without systemd they are run here.
for s in nats-1 nats-2 nats-3 proxy-1 proxy-2 proxy-3; do
  podman healthcheck run "$(container "$s")" >/dev/null 2>&1 || die "the healthcheck of $s failed"
done
log "the 6 healthchecks pass (NATS /healthz, proxy /readyz)"

# --- 3.-5. through the nodes, and through a proxy's and a NATS server's death ---------------
export KEY OUTAGE_S="${OUTAGE_S:-15}" URL_LIST="${URLS[*]}"
export OUTAGE_CMD="podman kill -s KILL $(container proxy-2) $(container nats-2) >/dev/null"
export RECOVER_CMD="podman-compose -p $PROJECT -f $ROOT/compose.yaml start nats-2 proxy-2 >>$WORK/compose.log 2>&1"
node "$ROOT/scripts/compose-check-workload.js" || die "the workload (above)"
log "OK in $((SECONDS - start)) s"
