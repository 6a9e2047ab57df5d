#!/usr/bin/env bash
# Builds FAISS for this CPU from Debian's own source package (apt-get source faiss:
# the same FAISS release and Debian patches as the system libfaiss-dev) into a local
# prefix, so the addon can be built against it:
#
#   bash scripts/build-faiss-optimized.sh        (npm run build:faiss-optimized)
#   npx cmake-js compile --out build-avx2 --CDfaiss_DIR=$PWD/build-faiss/prefix/lib/cmake/faiss
#                                                (npm run build:native-optimized)
#
# Debian's libfaiss is built for the x86-64 baseline (SSE2 only), so its distance
# kernels are scalar; FAISS_OPT_LEVEL=avx2 compiles them with AVX2/FMA. The system
# library stays the default: nothing here touches /usr or build-cmake/.
#
# Layout (all under build-faiss/, git-ignored):
#   src/     what apt-get source unpacked (faiss-<version>/, Debian patches applied)
#   build/   the CMake build tree
#   prefix/  the install: lib/libfaiss*.a, include/faiss/, lib/cmake/faiss/ (faiss_DIR)
#
# Idempotent: skips everything when the prefix already holds the library.
# Environment: FORCE=1 rebuilds; JOBS (default 2); FAISS_OPT_LEVEL (default: from
# /proc/cpuinfo); FAISS_BUILD_DIR (default <repo>/build-faiss).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
WORK="${FAISS_BUILD_DIR:-$ROOT/build-faiss}"
SRC_PARENT="$WORK/src"
BUILD="$WORK/build"
PREFIX="$WORK/prefix"
JOBS="${JOBS:-2}"
# Debian's patch 0004 installs the CMake package into <libdir>/cmake/faiss (upstream
# uses <datadir>/faiss); libdir is pinned to "lib" so the path is the same everywhere.
FAISS_DIR="$PREFIX/lib/cmake/faiss"

log() { printf '[build-faiss-optimized] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# --- CPU -> optimisation level -------------------------------------------------------
cpu_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
has_flag() { [[ "$cpu_flags" == *" $1 "* ]]; }

# --- build dependencies --------------------------------------------------------------
# dpkg-dev: dpkg-source, which apt-get source uses to unpack and patch the package.
# OpenMP comes with g++ (libgomp). BLAS and LAPACK both come from OpenBLAS.
DEPS=(cmake make g++ dpkg-dev libopenblas-pthread-dev)
missing=()
for p in "${DEPS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if ((${#missing[@]})); then
  log "installing build dependencies: ${missing[*]}"
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || die "not root and no sudo: install ${missing[*]} first"
    SUDO="sudo"
  fi
  $SUDO apt-get update
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
fi

# --- source --------------------------------------------------------------------------
find_src() {
  [ -d "$SRC_PARENT" ] || return 0
  find "$SRC_PARENT" -mindepth 1 -maxdepth 1 -type d -name 'faiss-*' | sort | tail -n1
}
SRC="$(find_src)"
if [ -z "$SRC" ] || [ ! -f "$SRC/faiss/CMakeLists.txt" ]; then
  mkdir -p "$SRC_PARENT"
  # Same source version as the installed libfaiss-dev when there is one.
  want="$(dpkg-query -W -f='${source:Version}' libfaiss-dev 2>/dev/null || true)"
  log "fetching Debian's FAISS source (apt-get source faiss${want:+=$want}) into $SRC_PARENT"
  (
    cd "$SRC_PARENT"
    if [ -n "$want" ] && apt-get source "faiss=$want"; then :
    else
      [ -n "$want" ] && log "source $want not available; taking the candidate version"
      apt-get source faiss
    fi
  ) || die "apt-get source faiss failed (is a deb-src line enabled in the APT sources?)"
  SRC="$(find_src)"
  [ -n "$SRC" ] && [ -f "$SRC/faiss/CMakeLists.txt" ] || die "no faiss-*/ source tree under $SRC_PARENT"
fi
FAISS_VERSION="$(sed -n 's/^ *VERSION \([0-9.]*\).*/\1/p' "$SRC/CMakeLists.txt" | head -n1)"

# FAISS_OPT_LEVEL: "avx512" only where the CPU has AVX-512 and this FAISS knows the
# level (1.7.3 knows "generic" and "avx2" only; "avx512" arrived in 1.7.4).
if [ -z "${FAISS_OPT_LEVEL:-}" ]; then
  has_flag avx2 && has_flag fma || die "this CPU lacks AVX2/FMA: the system libfaiss is the right one here"
  FAISS_OPT_LEVEL=avx2
  if has_flag avx512f && has_flag avx512bw && has_flag avx512dq && has_flag avx512vl; then
    if grep -q 'faiss_avx512' "$SRC/faiss/CMakeLists.txt"; then
      FAISS_OPT_LEVEL=avx512
    else
      log "the CPU has AVX-512 but FAISS $FAISS_VERSION has no avx512 level; building avx2"
    fi
  fi
fi
case "$FAISS_OPT_LEVEL" in
  generic) LIB_TARGET=faiss ;;
  avx2 | avx512) LIB_TARGET="faiss_$FAISS_OPT_LEVEL" ;;
  *) die "unknown FAISS_OPT_LEVEL=$FAISS_OPT_LEVEL" ;;
esac

print_next() {
  cat <<EOF

FAISS $FAISS_VERSION ($FAISS_OPT_LEVEL, target $LIB_TARGET) is installed in $PREFIX.
Build the addon against it (into build-avx2/; build-cmake/ keeps the system FAISS):

  npx cmake-js compile --out build-avx2 --CDfaiss_DIR=$FAISS_DIR

(or: npm run build:native-optimized), then load it with
  FAISS_PROXY_ADDON=$ROOT/build-avx2/Release/faiss_node.node
EOF
}

if [ "${FORCE:-0}" != 1 ] && [ -f "$PREFIX/lib/lib$LIB_TARGET.a" ] && [ -f "$FAISS_DIR/faiss-config.cmake" ]; then
  log "$PREFIX/lib/lib$LIB_TARGET.a already built (FORCE=1 rebuilds)"
  print_next
  exit 0
fi
rm -rf "$BUILD" "$PREFIX"

# --- configure, build, install -------------------------------------------------------
start=$SECONDS
log "configuring FAISS $FAISS_VERSION from $SRC with FAISS_OPT_LEVEL=$FAISS_OPT_LEVEL"
cmake -S "$SRC" -B "$BUILD" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$PREFIX" \
  -DCMAKE_INSTALL_LIBDIR=lib \
  -DFAISS_OPT_LEVEL="$FAISS_OPT_LEVEL" \
  -DFAISS_ENABLE_GPU=OFF \
  -DFAISS_ENABLE_PYTHON=OFF \
  -DFAISS_ENABLE_C_API=OFF \
  -DBUILD_TESTING=OFF \
  -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBLA_VENDOR=OpenBLAS

# Only the libraries: "all" would also build FAISS's demos, benchs and tutorials.
# FAISS always installs (and exports) the generic "faiss" target as well, so it has
# to be built too; the optimised one goes first.
if [ "$LIB_TARGET" != faiss ]; then
  log "building $LIB_TARGET (-j$JOBS)"
  nice -n 10 cmake --build "$BUILD" --target "$LIB_TARGET" --parallel "$JOBS"
fi
log "building faiss (generic; FAISS's install needs it) (-j$JOBS)"
nice -n 10 cmake --build "$BUILD" --target faiss --parallel "$JOBS"
cmake --install "$BUILD"

[ -f "$PREFIX/lib/lib$LIB_TARGET.a" ] || die "install did not produce $PREFIX/lib/lib$LIB_TARGET.a"
[ -f "$FAISS_DIR/faiss-config.cmake" ] || die "install did not produce $FAISS_DIR/faiss-config.cmake"
log "built and installed in $((SECONDS - start)) s"
print_next
