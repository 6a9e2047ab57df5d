#!/usr/bin/env bash
# Builds the one FAISS the addon links: Debian's FAISS source (apt-get source faiss,
# Debian's patches applied), compiled for the best instruction set this CPU has, and
# cached outside the clone so every clone, build and CI run on this machine reuses it.
#
#   bash scripts/build-faiss.sh                  build unless cached (npm run build:faiss)
#   bash scripts/build-faiss.sh --print-prefix   print the cached prefix; fail if not built
#   bash scripts/build-faiss.sh --print-key      print the cache key
#
# The cache: ${FAISS_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faiss-proxy}/<key>/
#   prefix/include/faiss/   FAISS's headers
#   prefix/lib/libfaiss.a   the library, position-independent (it goes into a .node)
#   prefix/faiss-build-info.json   what the addon build and its loader need to know (below)
# <key> = faiss-<Debian source version>-<isa>-<cpu|gpu>-<compiler>-r<RECIPE>.
#
# Instruction sets (FAISS_PROXY_ISA overrides the detection, e.g. to build an avx2
# library on an AVX-512 machine for older hosts):
#   avx512   -march=x86-64-v4 (AVX-512 F/BW/CD/DQ/VL) -mprefer-vector-width=512, on FAISS's
#            avx2 sources. FAISS 1.7.3 has no avx512 level of its own. Against an avx2
#            build of the same source, each addon linking its own, side by side in one run
#            (npm run bench:faiss -- --addon A --addon B; three runs of 3-6 rounds at load
#            average 11-23, bench/RESULTS.md "Compiler flags"), neither measured faster
#            beyond the noise: the last run's rows 0.97-1.06 avx512/avx2, save one BLAS-bound
#            row whose 1.68 the same code's kernels-off pass contradicted (0.92). This
#            CPU (AMD Zen 4) runs 512-bit operations as two 256-bit halves. avx512 is
#            kept: no slower, and the addon's own kernels use AVX-512 where it is built
#            for it (HNSW's candidate-queue scans, masked tail loads).
#   avx2     -march=x86-64-v3 (AVX2, FMA, F16C, BMI): FAISS's avx2 level.
#   generic  the x86-64 baseline: FAISS's generic level (what Debian ships).
# -mtune=native only schedules for this CPU; it adds no instructions.
#
# faiss-build-info.json lists the /proc/cpuinfo flags the code needs: the addon's loader
# refuses, with a FaissError, to load it on a CPU that lacks one (no SIGILL).
#
# Environment: JOBS (default: the core count), FAISS_PROXY_ISA, FAISS_PROXY_CACHE,
# FORCE=1 (rebuild even when cached).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Bumped when what this script builds changes (flags, layout), so caches rebuild.
RECIPE=1
DEBIAN_SOURCE_VERSION=1.7.3-2
FAISS_VERSION=${DEBIAN_SOURCE_VERSION%%-*}

log() { printf '[build-faiss] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- what to build --------------------------------------------------------------------
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo 2>/dev/null | cut -d: -f2) "
has_all() { local f; for f in "$@"; do [[ "$cpu_flags" == *" $f "* ]] || return 1; done; }

# /proc/cpuinfo names of what each -march level uses (abm is LZCNT).
V3_FLAGS=(avx avx2 fma f16c bmi1 bmi2 abm movbe popcnt sse4_1 sse4_2 ssse3)
V4_FLAGS=("${V3_FLAGS[@]}" avx512f avx512bw avx512cd avx512dq avx512vl)

ISA="${FAISS_PROXY_ISA:-}"
if [ -z "$ISA" ]; then
  if [ "$(uname -m)" != x86_64 ]; then ISA=generic
  elif has_all "${V4_FLAGS[@]}"; then ISA=avx512
  elif has_all "${V3_FLAGS[@]}"; then ISA=avx2
  else ISA=generic
  fi
fi
case "$ISA" in
  avx512) OPT_LEVEL=avx2; LIB_TARGET=faiss_avx2; REQUIRED=("${V4_FLAGS[@]}")
          ARCH_FLAGS="-march=x86-64-v4 -mtune=native -mprefer-vector-width=512" ;;
  avx2)   OPT_LEVEL=avx2; LIB_TARGET=faiss_avx2; REQUIRED=("${V3_FLAGS[@]}")
          ARCH_FLAGS="-march=x86-64-v3 -mtune=native" ;;
  generic) OPT_LEVEL=generic; LIB_TARGET=faiss; REQUIRED=(); ARCH_FLAGS="" ;;
  *) die "unknown FAISS_PROXY_ISA=$ISA (avx512, avx2 or generic)" ;;
esac
GPU=cpu
COMPILER="gcc$(g++ -dumpfullversion 2>/dev/null || echo unknown)"
KEY="faiss-$DEBIAN_SOURCE_VERSION-$ISA-$GPU-$COMPILER-r$RECIPE"
CACHE_ROOT="${FAISS_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faiss-proxy}"
DEST="$CACHE_ROOT/$KEY"

built() { [ -f "$DEST/prefix/lib/libfaiss.a" ] && [ -f "$DEST/prefix/faiss-build-info.json" ]; }

case "${1:-}" in
  --print-key) echo "$KEY"; exit 0 ;;
  --print-prefix)
    built || die "FAISS is not built for this machine ($DEST); run: npm run build:faiss"
    echo "$DEST/prefix"; exit 0 ;;
  "") ;;
  *) die "unknown argument $1" ;;
esac

if [ "${FORCE:-0}" != 1 ] && built; then
  log "cached: $DEST"
  exit 0
fi

# One build per key at a time: cmake-js and node-gyp may both ask for it.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/$KEY.lock"
flock 9
if [ "${FORCE:-0}" != 1 ] && built; then log "cached: $DEST"; exit 0; fi

# --- build dependencies -----------------------------------------------------------------
# dpkg-dev: dpkg-source, which apt-get source needs to unpack and patch the package.
# OpenBLAS is FAISS's BLAS and LAPACK; OpenMP comes with g++ (libgomp).
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
DEPS=(cmake make g++ dpkg-dev libopenblas-pthread-dev)
missing=()
for p in "${DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing build dependencies: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# --- source -----------------------------------------------------------------------------
SRC_ROOT="$CACHE_ROOT/src-$DEBIAN_SOURCE_VERSION"
SRC="$SRC_ROOT/faiss-$FAISS_VERSION"
if [ ! -f "$SRC/faiss/CMakeLists.txt" ]; then
  # apt-get source needs a deb-src line; Debian's images ship only "deb".
  if ! apt-get source --print-uris "faiss=$DEBIAN_SOURCE_VERSION" >/dev/null 2>&1; then
    log "enabling Debian's source packages (/etc/apt/sources.list.d/faiss-proxy-src.sources)"
    printf '%s\n' 'Types: deb-src' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm' 'Components: main' \
      'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
      $SUDO tee /etc/apt/sources.list.d/faiss-proxy-src.sources >/dev/null
    $SUDO apt-get update -qq
  fi
  rm -rf "$SRC_ROOT.tmp" && mkdir -p "$SRC_ROOT.tmp"
  log "fetching Debian's FAISS source (apt-get source faiss=$DEBIAN_SOURCE_VERSION)"
  (cd "$SRC_ROOT.tmp" && apt-get source -qq "faiss=$DEBIAN_SOURCE_VERSION" >/dev/null) ||
    die "apt-get source faiss=$DEBIAN_SOURCE_VERSION failed"
  [ -f "$SRC_ROOT.tmp/faiss-$FAISS_VERSION/faiss/CMakeLists.txt" ] || die "no faiss-$FAISS_VERSION/ in the source package"
  rm -rf "$SRC_ROOT" && mv "$SRC_ROOT.tmp" "$SRC_ROOT"
fi

# --- configure, build, install ----------------------------------------------------------
JOBS="${JOBS:-$(nproc)}"
TMP="$DEST.tmp"
rm -rf "$TMP" && mkdir -p "$TMP"
start=$SECONDS
log "building FAISS $FAISS_VERSION for $ISA (${ARCH_FLAGS:-x86-64 baseline}) into $DEST"
log "a new machine does this once (a few minutes); progress follows"
cmake -S "$SRC" -B "$TMP/build" -Wno-dev \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="$ARCH_FLAGS" \
  -DFAISS_OPT_LEVEL="$OPT_LEVEL" \
  -DFAISS_ENABLE_GPU=OFF \
  -DFAISS_ENABLE_PYTHON=OFF \
  -DFAISS_ENABLE_C_API=OFF \
  -DBUILD_TESTING=OFF \
  -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBLA_VENDOR=OpenBLAS >"$TMP/configure.log" 2>&1 || { tail -n 30 "$TMP/configure.log" >&2; die "FAISS configure failed"; }
# Only the one library: "all" would also build the generic library beside the
# optimised one, and FAISS's demos and tutorials.
nice -n 10 cmake --build "$TMP/build" --target "$LIB_TARGET" --parallel "$JOBS"

# The install by hand: FAISS's own install rule wants every level built.
mkdir -p "$TMP/prefix/lib" "$TMP/prefix/include"
cp "$TMP/build/faiss/lib$LIB_TARGET.a" "$TMP/prefix/lib/libfaiss.a"
(cd "$SRC" && find faiss -name '*.h' -not -path 'faiss/gpu/*' -not -path 'faiss/python/*' -print0 |
  xargs -0 cp --parents -t "$TMP/prefix/include")
json_list() { local s="" f; for f in "$@"; do s+="${s:+, }\"$f\""; done; printf '[%s]' "$s"; }
cat >"$TMP/prefix/faiss-build-info.json" <<EOF
{
  "faissVersion": "$FAISS_VERSION",
  "debianSourceVersion": "$DEBIAN_SOURCE_VERSION",
  "isa": "$ISA",
  "archFlags": "$ARCH_FLAGS",
  "cpuFlags": $(json_list "${REQUIRED[@]}"),
  "gpu": false,
  "compiler": "$COMPILER",
  "key": "$KEY"
}
EOF
rm -rf "$TMP/build" "$DEST"
mv "$TMP" "$DEST"
log "built in $((SECONDS - start)) s: $DEST"
