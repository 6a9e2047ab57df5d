#!/usr/bin/env bash
# Builds the Dockerfile's image and uses it, on a machine with podman but no image
# registry: anyone can repeat the check.
#
#   bash scripts/container-check.sh            (as root; podman, buildah, debootstrap)
#
# 1. The base: a Debian bookworm rootfs made with debootstrap (minbase) from Debian's
#    mirror, imported with `podman import` (BASE_IMAGE=... uses an image you have instead).
# 2. Node: the Dockerfile copies node, its headers and npm from NODE_IMAGE (the official
#    node image). Without a registry, this script makes that image from this machine's own
#    Node (same layout: /usr/local/bin/node, /usr/local/include/node,
#    /usr/local/lib/node_modules/npm); NODE_IMAGE=... uses one you have instead.
# 3. podman build of the Dockerfile, FROM overridden by those two (its FAISS, npm and
#    addon steps run inside, from the sources; layers are reused by a second run).
# 4. The container: started with a named volume on /data and the admin key in a secrets
#    file; the HEALTHCHECK is run; an index is created, filled and searched over HTTP; the
#    container is restarted (SIGTERM) and then killed (SIGKILL) and started again, and each
#    time the index must answer the same search with the same vectors.
# 5. What the image carries besides the API: /docs (Swagger UI), /v1/openapi.json and the
#    dashboard answer; the image's CLI exports the index to .fvecs and imports it into a new
#    index that answers the same search; `serve --gpu 0` is refused with exit status 2.
#
# Environment: WORK (default /var/tmp/faiss-proxy-container: the rootfs, logs),
# IMAGE (default localhost/faiss-proxy:check), PORT (default 18080), FAISS_PROXY_ISA
# (build argument, default avx2), KEEP=1 (leave the container and volume).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${WORK:-/var/tmp/faiss-proxy-container}"
IMAGE="${IMAGE:-localhost/faiss-proxy:check}"
PORT="${PORT:-18080}"
NAME=faiss-proxy-check
VOLUME=faiss-proxy-check-data
log() { printf '[container-check] %s\n' "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }
for tool in podman debootstrap curl; do command -v "$tool" >/dev/null || die "needs $tool (apt-get install podman buildah debootstrap curl)"; done
mkdir -p "$WORK"


# --- 1. base image ------------------------------------------------------------------------
if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=localhost/faiss-proxy-base:bookworm
  if ! podman image exists "$BASE_IMAGE"; then
    if [ ! -f "$WORK/rootfs/etc/debian_version" ]; then
      log "debootstrap bookworm (minbase) into $WORK/rootfs"
      rm -rf "$WORK/rootfs.tmp"
      nice -n 19 debootstrap --variant=minbase bookworm "$WORK/rootfs.tmp" http://deb.debian.org/debian >"$WORK/debootstrap.log" 2>&1 ||
        { tail -n 20 "$WORK/debootstrap.log" >&2; die "debootstrap"; }
      mv "$WORK/rootfs.tmp" "$WORK/rootfs"
    fi
    # Security updates as in Debian's own images; no apt caches in the image.
    printf '%s\n' 'deb http://deb.debian.org/debian bookworm main' \
      'deb http://deb.debian.org/debian bookworm-updates main' \
      'deb http://deb.debian.org/debian-security bookworm-security main' >"$WORK/rootfs/etc/apt/sources.list"
    rm -rf "$WORK/rootfs/var/cache/apt/archives/"*.deb "$WORK/rootfs/var/lib/apt/lists/"*
    log "podman import $BASE_IMAGE"
    tar -C "$WORK/rootfs" -c . | podman import --change 'CMD ["/bin/bash"]' - "$BASE_IMAGE" >/dev/null
  fi
fi

# podman's defaults (crun, systemd cgroups, raised rlimits) need cgroup v2 and
# CAP_SYS_RESOURCE; a host with hybrid cgroups or without that capability (this
# project's build machine: a VM whose root lacks it) runs containers with runc,
# cgroupfs, and this shell's own open-files and process limits instead.
PODMAN=(podman)
LIMITS=()
if ! podman run --rm --network host --entrypoint true "$BASE_IMAGE" >/dev/null 2>&1; then
  if command -v runc >/dev/null; then
    PODMAN=(podman --runtime runc --cgroup-manager cgroupfs)
    LIMITS=(--ulimit "nofile=$(ulimit -Sn):$(ulimit -Hn)" --ulimit "nproc=32768:32768")
  fi
fi

# --- 2. node image ------------------------------------------------------------------------
if [ -z "${NODE_IMAGE:-}" ]; then
  NODE_IMAGE=localhost/faiss-proxy-node:$(node --version)
  if ! podman image exists "$NODE_IMAGE"; then
    node_bin=$(readlink -f "$(command -v node)")
    node_prefix=$(dirname "$(dirname "$node_bin")")
    [ -f "$node_prefix/include/node/node_api.h" ] || die "no Node headers in $node_prefix/include/node"
    npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
    [ -f "$npm_dir/package.json" ] || die "npm not found"
    ldd "$node_bin" | grep -qvE 'libc\.so|libm\.so|libdl|libpthread|libstdc\+\+|libgcc_s|ld-linux|vdso' &&
      die "$node_bin links libraries beyond glibc and libstdc++; give NODE_IMAGE instead"
    stage="$WORK/node-image"
    rm -rf "$stage" && mkdir -p "$stage/usr/local/bin" "$stage/usr/local/include" "$stage/usr/local/lib/node_modules"
    cp "$node_bin" "$stage/usr/local/bin/node"
    cp -r "$node_prefix/include/node" "$stage/usr/local/include/node"
    cp -r "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
    log "podman import $NODE_IMAGE (this machine's $(node --version))"
    tar -C "$stage" -c . | podman import - "$NODE_IMAGE" >/dev/null
  fi
fi

# --- 3. build -----------------------------------------------------------------------------
log "podman build $IMAGE (FROM $BASE_IMAGE, node from $NODE_IMAGE); log: $WORK/build.log"
start=$SECONDS
# A TLS-intercepting proxy between this machine and the npm registry (this project's
# build machine has one): its CA bundle goes into the build's npm steps, not the image.
CA=()
if [ -n "${NODE_EXTRA_CA_CERTS:-}" ] && [ -f "$NODE_EXTRA_CA_CERTS" ]; then
  CA=(-v "$NODE_EXTRA_CA_CERTS:/run/build-ca.crt:ro" --build-arg NODE_EXTRA_CA_CERTS=/run/build-ca.crt)
fi
# --format docker: OCI images have no HEALTHCHECK. --network host: the build reaches
# Debian's mirror and the npm registry directly.
nice -n 19 "${PODMAN[@]}" build "${LIMITS[@]}" --format docker --network host \
  --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg NODE_IMAGE="$NODE_IMAGE" \
  --build-arg FAISS_PROXY_ISA="${FAISS_PROXY_ISA:-avx2}" \
  "${CA[@]}" \
  -t "$IMAGE" -f "$ROOT/Dockerfile" "$ROOT" >"$WORK/build.log" 2>&1 ||
  { tail -n 40 "$WORK/build.log" >&2; die "podman build"; }
log "built in $((SECONDS - start)) s; image size: $(podman image inspect "$IMAGE" --format '{{.Size}}' | awk '{printf "%.0f MB", $1/1e6}')"

# --- 4. run -------------------------------------------------------------------------------
cleanup() {
  [ "${KEEP:-0}" = 1 ] && return
  "${PODMAN[@]}" rm -f "$NAME" >/dev/null 2>&1 || true
  podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
}
cleanup
trap cleanup EXIT
KEY=$(node -e "const c=require('crypto');console.log('fp_'+c.randomBytes(8).toString('hex')+'_'+c.randomBytes(32).toString('base64url'))")
printf '%s\n' "$KEY" >"$WORK/admin_key" && chmod 644 "$WORK/admin_key"
podman volume create "$VOLUME" >/dev/null
# Host networking: the service listens on PORT of this machine's loopback only.
"${PODMAN[@]}" run "${LIMITS[@]}" -d --name "$NAME" --network host \
  -e FAISS_PROXY_HOST=127.0.0.1 -e FAISS_PROXY_PORT="$PORT" \
  -e FAISS_PROXY_ADMIN_KEY_FILE=/run/secrets/admin_key \
  -v "$WORK/admin_key:/run/secrets/admin_key:ro" -v "$VOLUME:/data" "$IMAGE" >/dev/null

URL="http://127.0.0.1:$PORT"
wait_healthy() {
  local i
  for i in $(seq 1 120); do
    curl -fsS "$URL/healthz" >/dev/null 2>&1 && return 0
    podman container exists "$NAME" && [ "$("${PODMAN[@]}" inspect "$NAME" --format '{{.State.Running}}')" = true ] ||
      { "${PODMAN[@]}" logs "$NAME" >&2; die "the container stopped"; }
    sleep 0.5
  done
  "${PODMAN[@]}" logs "$NAME" >&2; die "no answer on $URL/healthz after 60 s"
}
api() { # method path [json]
  curl -fsS -X "$1" "$URL$2" -H "X-API-Key: $KEY" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
wait_healthy
[ "$("${PODMAN[@]}" exec "$NAME" id -u)" != 0 ] || die "the service runs as root"
"${PODMAN[@]}" healthcheck run "$NAME" >/dev/null || die "the image's HEALTHCHECK failed"
log "healthy; runs as uid $("${PODMAN[@]}" exec "$NAME" id -u); HEALTHCHECK passes"

api POST /v1/indexes '{"name":"check","dimension":4,"type":"IndexFlatL2"}' >/dev/null
api POST /v1/indexes/check/add '{"vectors":[[0,0,0,0],[1,1,1,1],[2,2,2,2]]}' >/dev/null
QUERY='{"vectors":[[0.9,1,1,1]],"k":2}'
first=$(api POST /v1/indexes/check/search "$QUERY")
[ "$(jq -c '.labels' <<<"$first")" = '[[1,0]]' ] || die "search answered $first"
log "created, added, searched: $first"

check_survived() { # what happened
  wait_healthy
  local again
  again=$(api POST /v1/indexes/check/search "$QUERY")
  [ "$again" = "$first" ] || die "after $1 the search answered $again (before: $first)"
  [ "$(api GET /v1/indexes/check | jq .ntotal)" = 3 ] || die "after $1 the index does not hold 3 vectors"
  log "after $1: the same answer, 3 vectors"
}
"${PODMAN[@]}" restart -t 30 "$NAME" >/dev/null
check_survived "a restart (SIGTERM)"
api POST /v1/indexes/check/add '{"vectors":[[5,5,5,5]]}' >/dev/null
"${PODMAN[@]}" kill -s KILL "$NAME" >/dev/null
"${PODMAN[@]}" start "$NAME" >/dev/null
wait_healthy
[ "$(api GET /v1/indexes/check | jq .ntotal)" = 4 ] || die "a write acknowledged before SIGKILL was lost"
log "after SIGKILL and start: the write acknowledged before the kill is there (4 vectors)"

# --- 5. what the image carries besides the API ---------------------------------------------
# The pages it serves from its own files (no CDN): the API docs (Swagger UI from
# swagger-ui-dist, which must survive `npm prune`), the OpenAPI document, the dashboard.
for page in /docs/ /docs/vendor/swagger-ui-bundle.js /docs/init.js /dashboard/; do
  curl -fsS -o /dev/null "$URL$page" || die "GET $page failed"
done
curl -fsS "$URL/docs/" | grep -q 'swagger-ui' || die "/docs/ is not the Swagger UI page"
[ "$(curl -fsS "$URL/v1/openapi.json" | jq -r '.paths | has("/v1/indexes")')" = true ] || die "/v1/openapi.json lacks /v1/indexes"
log "/docs/ (Swagger UI and its bundle), /v1/openapi.json and /dashboard/ answer"
# The CLI is the image's entrypoint: export the index to a file and import it into a new
# one, each by a container of its own from the image (as a user runs the CLI from it).
IO="$WORK/io" && rm -rf "$IO" && mkdir -p "$IO" && chmod 777 "$IO"
cli() { "${PODMAN[@]}" run "${LIMITS[@]}" --rm --network host -e FAISS_PROXY_API_KEY="$KEY" -v "$IO:/io" "$IMAGE" "$@"; }
cli export --url "$URL" --index check --progress lines /io/check.fvecs >"$WORK/export.log" 2>&1 ||
  { cat "$WORK/export.log" >&2; die "export in the image"; }
[ "$(stat -c %s "$IO/check.fvecs")" = $((4 * (4 + 4 * 4))) ] || die "the export wrote $(stat -c %s "$IO/check.fvecs") bytes, not 4 vectors of 4"
cli import --url "$URL" --index copy --factory Flat --progress lines /io/check.fvecs >"$WORK/import.log" 2>&1 ||
  { cat "$WORK/import.log" >&2; die "import in the image"; }
[ "$(api GET /v1/indexes/copy | jq .ntotal)" = 4 ] || die "the imported index does not hold 4 vectors"
[ "$(api POST /v1/indexes/copy/search "$QUERY")" = "$(api POST /v1/indexes/check/search "$QUERY")" ] ||
  die "the imported index answers differently from the exported one"
log "export (.fvecs) and import by the image's CLI: the copy holds the 4 vectors and answers the same search"
# A CPU image asked for a GPU: a clear refusal, exit status 2.
set +e
gpu=$("${PODMAN[@]}" run "${LIMITS[@]}" --rm --network host "$IMAGE" serve --gpu 0 2>&1)
status=$?
set -e
[ "$status" = 2 ] && grep -q 'built without CUDA' <<<"$gpu" || die "serve --gpu 0 answered $status: $gpu"
log "serve --gpu 0 in this CPU image: exit 2, \"built without CUDA\""
log "OK"
