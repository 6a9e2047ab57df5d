#!/usr/bin/env bash
# Builds the one FAISS the addon links: Debian's FAISS source (apt-get source faiss,
# Debian's patches applied), compiled for the best instruction set this CPU has, and
# cached outside the clone so every clone, build and CI run on this machine reuses it.
#
#   bash scripts/build-faiss.sh                  build unless cached (npm run build:faiss)
#   bash scripts/build-faiss.sh --print-prefix   print the cached prefix; fail if not built
#   bash scripts/build-faiss.sh --print-key      print the cache key
#   bash scripts/build-faiss.sh --print-source   print FAISS's unpacked source (fetched if absent)
#   bash scripts/build-faiss.sh --gpu --toolkit  install the GPU variant's toolkit and host
#                                                compiler only, build nothing (Dockerfile.cuda)
#   bash scripts/build-faiss.sh --gpu [...]      the same for the GPU variant (also FAISS_PROXY_BUILD_GPU=1; not FAISS_PROXY_GPU, which is serve --gpu)
#
# The cache: ${FAISS_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faiss-proxy}/<key>/
#   prefix/include/faiss/   FAISS's headers
#   prefix/lib/libfaiss.a   the library, position-independent (it goes into a .node)
#   prefix/faiss-build-info.json   what the addon build and its loader need to know (below)
# <key> = faiss-<Debian source version>-<isa>-<cpu|gpu-cuda<X.Y>-sm<archs>>-<compiler>-r<RECIPE>.
#
# The GPU variant (--gpu): the same source with FAISS_ENABLE_GPU=ON, FAISS's CPU code and
# its CUDA code in one libfaiss.a (the addon then links CUDA's runtime and cuBLAS; CMakeLists.txt,
# npm run build:native-gpu). The toolkit is Debian's CUDA 11.8 (nvidia-cuda-toolkit,
# nvidia-cuda-dev, libcublas11 from bookworm's non-free; installed here when missing), or
# the one under CUDAToolkit_ROOT. nvcc 11.8 accepts g++ <= 11 as host compiler and FAISS
# makes its C++ compiler nvcc's host compiler: the GPU variant is compiled with g++-11
# (FAISS_PROXY_CUDA_HOST_CXX overrides). Architectures: FAISS_PROXY_CUDA_ARCHS (CMake's
# CMAKE_CUDA_ARCHITECTURES, e.g. "90" or "80;90"); by default this host's GPUs' compute
# capabilities where nvidia-smi lists a GPU, else "80;90" (A100, H100).
#
# Instruction sets (FAISS_PROXY_ISA overrides the detection, e.g. to build an avx2
# library on an AVX-512 machine for older hosts; FAISS_PROXY_CPUINFO names the cpuinfo
# file whose flags the detection reads, /proc/cpuinfo by default, e.g. a copy of another
# host's). Each level is a list of extensions, enabled by name, not by -march: FAISS's
# avx2 code and the addon's kernels need no more, and -march=x86-64-v3 would also
# require BMI1/BMI2, LZCNT and MOVBE, which some hypervisors hide from a CPU that has
# AVX-512 (this project's VM lacks "abm"), leaving it the generic build.
#   avx512   FAISS's avx2 flags, -mavx512f -mavx512bw -mavx512cd -mavx512dq -mavx512vl
#            and -mprefer-vector-width=512, on FAISS's avx2 sources. FAISS 1.7.3 has no
#            avx512 level of its own. Against an avx2
#            build of the same source, each addon linking its own, side by side in one run
#            (npm run bench:faiss -- --addon A --addon B; three runs of 3-6 rounds at load
#            average 11-23, bench/RESULTS.md "Compiler flags"), neither measured faster
#            beyond the noise: the last run's rows 0.97-1.06 avx512/avx2, save one BLAS-bound
#            row whose 1.68 the same code's kernels-off pass contradicted (0.92). This
#            CPU (AMD Zen 4) runs 512-bit operations as two 256-bit halves. avx512 is
#            kept: no slower, and the addon's own kernels use AVX-512 where it is built
#            for it (HNSW's candidate-queue scans, masked tail loads).
#   avx2     -mavx2 -mfma -mf16c -mpopcnt: FAISS's own avx2 level (faiss/CMakeLists.txt's
#            flags for faiss_avx2), which also enables AVX, SSE3-SSE4.2 and XSAVE.
#   generic  the x86-64 baseline: FAISS's generic level (what Debian ships).
# -mtune=native only schedules for this CPU; it adds no instructions.
#
# faiss-build-info.json lists the /proc/cpuinfo flags the code needs: the addon's loader
# refuses, with a FaissError, to load it on a CPU that lacks one (no SIGILL).
#
# Environment: JOBS (default: the core count), FAISS_PROXY_ISA, FAISS_PROXY_CACHE,
# FORCE=1 (rebuild even when cached); for --gpu: FAISS_PROXY_CUDA_ARCHS, CUDAToolkit_ROOT,
# FAISS_PROXY_CUDA_HOST_CXX.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# Bumped when what this script builds changes (flags, layout), so caches rebuild.
RECIPE=2
DEBIAN_SOURCE_VERSION=1.7.3-2
FAISS_VERSION=${DEBIAN_SOURCE_VERSION%%-*}

log() { printf '[build-faiss] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

ACTION=build
GPU_VARIANT=0
case "${FAISS_PROXY_BUILD_GPU:-0}" in 1|ON|on|true) GPU_VARIANT=1 ;; esac
for arg in "$@"; do
  case "$arg" in
    --print-key) ACTION=key ;;
    --print-prefix) ACTION=prefix ;;
    --print-source) ACTION=source ;;
    --toolkit) ACTION=toolkit ;;
    --gpu) GPU_VARIANT=1 ;;
    *) die "unknown argument $arg" ;;
  esac
done
BUILD_COMMAND="npm run build:faiss"
[ "$GPU_VARIANT" = 1 ] && BUILD_COMMAND="bash scripts/build-faiss.sh --gpu"

# --- what to build --------------------------------------------------------------------
CPUINFO="${FAISS_PROXY_CPUINFO:-/proc/cpuinfo}"
# No flags line (arm64's cpuinfo says "Features"): no x86 extension, not a failure.
cpu_flags=" $(grep -m1 '^flags' "$CPUINFO" 2>/dev/null | cut -d: -f2 || true) "
has_all() { local f; for f in "$@"; do [[ "$cpu_flags" == *" $f "* ]] || return 1; done; }

# Each level: its compiler flags, and the /proc/cpuinfo name of every extension they
# enable (pni is SSE3; -mavx enables XSAVE, -msse4.2 CRC32, which is sse4_2's). The
# build checks the second against the compiler (check_level below); the addon's loader
# refuses a CPU without one of them (lib/addon-cpu.ts, from faiss-build-info.json).
AVX2_ARCH="-mavx2 -mfma -mf16c -mpopcnt"
AVX2_CPU=(pni ssse3 sse4_1 sse4_2 popcnt avx xsave avx2 fma f16c)
AVX512_ARCH="$AVX2_ARCH -mavx512f -mavx512bw -mavx512cd -mavx512dq -mavx512vl"
AVX512_CPU=("${AVX2_CPU[@]}" avx512f avx512bw avx512cd avx512dq avx512vl)

ISA="${FAISS_PROXY_ISA:-}"
if [ -z "$ISA" ]; then
  if [ "$(uname -m)" != x86_64 ]; then ISA=generic
  elif has_all "${AVX512_CPU[@]}"; then ISA=avx512
  elif has_all "${AVX2_CPU[@]}"; then ISA=avx2
  else ISA=generic
  fi
fi
case "$ISA" in
  avx512) OPT_LEVEL=avx2; LIB_TARGET=faiss_avx2; REQUIRED=("${AVX512_CPU[@]}")
          ARCH_FLAGS="$AVX512_ARCH -mtune=native -mprefer-vector-width=512" ;;
  avx2)   OPT_LEVEL=avx2; LIB_TARGET=faiss_avx2; REQUIRED=("${AVX2_CPU[@]}")
          ARCH_FLAGS="$AVX2_ARCH -mtune=native" ;;
  generic) OPT_LEVEL=generic; LIB_TARGET=faiss; REQUIRED=(); ARCH_FLAGS="" ;;
  *) die "unknown FAISS_PROXY_ISA=$ISA (avx512, avx2 or generic)" ;;
esac

# The compiler's own word on what ARCH_FLAGS enable (the extension macros it predefines
# beyond the baseline's), by /proc/cpuinfo name: it must be REQUIRED exactly, or the
# loader would let a CPU run code it lacks (an extension missing here), or refuse one
# for nothing.
declare -A CPUINFO_NAME=([__SSE3__]=pni [__SSSE3__]=ssse3 [__SSE4_1__]=sse4_1 [__SSE4_2__]=sse4_2
  [__CRC32__]=sse4_2 [__POPCNT__]=popcnt [__AVX__]=avx [__XSAVE__]=xsave [__AVX2__]=avx2 [__FMA__]=fma
  [__F16C__]=f16c [__AVX512F__]=avx512f [__AVX512BW__]=avx512bw [__AVX512CD__]=avx512cd
  [__AVX512DQ__]=avx512dq [__AVX512VL__]=avx512vl [__BMI__]=bmi1 [__BMI2__]=bmi2 [__LZCNT__]=abm
  [__MOVBE__]=movbe [__LAHF_SAHF__]=lahf_lm)
check_level() {
  local cxx=$1 macro enabled=() name
  # shellcheck disable=SC2086 # ARCH_FLAGS is a list of flags
  for macro in $(LC_ALL=C comm -13 <("$cxx" -E -dM -x c++ /dev/null | LC_ALL=C sort) \
                   <("$cxx" $ARCH_FLAGS -E -dM -x c++ /dev/null | LC_ALL=C sort) |
                 sed -n 's/^#define \(__[A-Z0-9_]*__\) 1$/\1/p'); do
    name="${CPUINFO_NAME[$macro]:-}"
    [ -n "$name" ] || die "$cxx $ARCH_FLAGS defines $macro, which build-faiss.sh has no /proc/cpuinfo name for (CPUINFO_NAME)"
    enabled+=("$name")
  done
  local want got
  want=$( ((${#REQUIRED[@]})) && printf '%s\n' "${REQUIRED[@]}" | sort -u | paste -sd' ')
  got=$( ((${#enabled[@]})) && printf '%s\n' "${enabled[@]}" | sort -u | paste -sd' ')
  [ "$want" = "$got" ] || die "$ISA: $cxx $ARCH_FLAGS enables [$got], the level lists [$want]"
}
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
# Installs the Debian packages named that are not installed yet.
apt_install() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  log "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

if [ "$GPU_VARIANT" = 1 ]; then
  # Debian's CUDA 11.8 lives in bookworm's non-free component (contrib for nothing we use,
  # but Debian's own instructions enable both).
  CUDA_PACKAGES=(nvidia-cuda-toolkit nvidia-cuda-dev libcublas11)
  CUDA_HOST_CXX="${FAISS_PROXY_CUDA_HOST_CXX:-g++-11}"
  # The toolkit's root: Debian's is /usr (/usr/bin/nvcc, /usr/include/cuda_runtime.h,
  # its libraries in /usr/lib/<arch>), which CMake's FindCUDAToolkit finds from nvcc.
  CUDA_ROOT="${CUDAToolkit_ROOT:-/usr}"
  NVCC="$CUDA_ROOT/bin/nvcc"
  if [ -z "${CUDAToolkit_ROOT:-}" ] && { [ "$ACTION" = build ] || [ "$ACTION" = toolkit ]; } &&
     ! dpkg-query -W -f='${Status}' nvidia-cuda-toolkit 2>/dev/null | grep -q 'install ok installed'; then
    if ! apt-cache policy nvidia-cuda-toolkit 2>/dev/null | grep -q 'Candidate: [0-9]'; then
      log "enabling Debian's contrib and non-free components (/etc/apt/sources.list.d/faiss-proxy-cuda.sources)"
      printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
        'Components: contrib non-free' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
        $SUDO tee /etc/apt/sources.list.d/faiss-proxy-cuda.sources >/dev/null
      $SUDO apt-get update -qq
    fi
    apt_install "${CUDA_PACKAGES[@]}"
  fi
  if [ "$ACTION" = build ] || [ "$ACTION" = toolkit ]; then apt_install "$CUDA_HOST_CXX"; fi
  [ -x "$NVCC" ] || die "no CUDA toolkit: $NVCC is missing (run: $BUILD_COMMAND, or set CUDAToolkit_ROOT)"
  CUDA_VERSION=$("$NVCC" --version | sed -n 's/.*release \([0-9]*\.[0-9]*\).*/\1/p')
  [ -n "$CUDA_VERSION" ] || die "cannot read the CUDA version from $NVCC --version"
  CUDA_ARCHS="${FAISS_PROXY_CUDA_ARCHS:-}"
  if [ -z "$CUDA_ARCHS" ]; then
    # This host's GPUs' compute capabilities ("9.0" -> 90), so the key names them;
    # CMake's "native" would hide them. No GPU: A100 and H100.
    if nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
      CUDA_ARCHS=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | tr -d '. ' | sort -u | paste -sd';')
      [ -n "$CUDA_ARCHS" ] || CUDA_ARCHS=native
    else
      CUDA_ARCHS="80;90"
    fi
  fi
  [[ "$CUDA_ARCHS" =~ ^(native|all|all-major|[0-9]+(-real|-virtual)?(;[0-9]+(-real|-virtual)?)*)$ ]] ||
    die "FAISS_PROXY_CUDA_ARCHS=$CUDA_ARCHS: give CMAKE_CUDA_ARCHITECTURES values, e.g. 90 or 80;90"
  GPU="gpu-cuda$CUDA_VERSION-sm${CUDA_ARCHS//;/_}"
  BUILD_CXX="$CUDA_HOST_CXX"
  COMPILER="gcc$("$BUILD_CXX" -dumpfullversion 2>/dev/null || echo unknown)"
else
  [ "$ACTION" = toolkit ] && die "--toolkit is the GPU variant's (--gpu)"
  GPU=cpu
  BUILD_CXX=g++
  COMPILER="gcc$("$BUILD_CXX" -dumpfullversion 2>/dev/null || echo unknown)"
fi
KEY="faiss-$DEBIAN_SOURCE_VERSION-$ISA-$GPU-$COMPILER-r$RECIPE"
CACHE_ROOT="${FAISS_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faiss-proxy}"
DEST="$CACHE_ROOT/$KEY"

built() { [ -f "$DEST/prefix/lib/libfaiss.a" ] && [ -f "$DEST/prefix/faiss-build-info.json" ]; }

case "$ACTION" in
  toolkit) log "CUDA $CUDA_VERSION ($NVCC), host compiler $CUDA_HOST_CXX"; exit 0 ;;
  key) echo "$KEY"; exit 0 ;;
  prefix)
    built || die "FAISS is not built for this machine ($DEST); run: $BUILD_COMMAND"
    echo "$DEST/prefix"; exit 0 ;;
esac

# --- source -----------------------------------------------------------------------------
# One unpacked source for every variant; the CI's compile check of the addon's GPU
# sources reads faiss/gpu/ from it (--print-source).
SRC_ROOT="$CACHE_ROOT/src-$DEBIAN_SOURCE_VERSION"
SRC="$SRC_ROOT/faiss-$FAISS_VERSION"
fetch_source() {
  [ -f "$SRC/faiss/CMakeLists.txt" ] && return 0
  mkdir -p "$CACHE_ROOT"
  exec 8>"$SRC_ROOT.lock"
  flock 8
  [ -f "$SRC/faiss/CMakeLists.txt" ] && return 0
  # dpkg-dev: dpkg-source, which apt-get source needs to unpack and patch the package.
  apt_install dpkg-dev
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
}

if [ "$ACTION" = source ]; then
  fetch_source
  echo "$SRC"; exit 0
fi

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
# OpenBLAS is FAISS's BLAS and LAPACK; OpenMP comes with g++ (libgomp).
apt_install cmake make g++ libopenblas-pthread-dev
check_level "$BUILD_CXX"
fetch_source

# --- configure, build, install ----------------------------------------------------------
JOBS="${JOBS:-$(nproc)}"
TMP="$DEST.tmp"
rm -rf "$TMP" && mkdir -p "$TMP"
start=$SECONDS
if [ "$GPU_VARIANT" = 1 ]; then
  # nvcc runs ptxas, fatbinary and nvlink from the PATH: the toolkit's own come first,
  # or another toolkit's earlier on the PATH (say /usr/local/bin's) compiles for its CUDA.
  export PATH="$CUDA_ROOT/bin:$PATH"
  GPU_FLAGS=(-DFAISS_ENABLE_GPU=ON -DCMAKE_CXX_COMPILER="$CUDA_HOST_CXX" -DCMAKE_CUDA_COMPILER="$NVCC"
    -DCUDAToolkit_ROOT="$CUDA_ROOT"
    -DCMAKE_CUDA_ARCHITECTURES="$CUDA_ARCHS")
  log "building FAISS $FAISS_VERSION for $ISA (${ARCH_FLAGS:-x86-64 baseline}) with CUDA $CUDA_VERSION for sm $CUDA_ARCHS into $DEST"
  log "its CUDA code takes long (tens of minutes on 2 cores: docs/gpu.md); progress follows"
else
  GPU_FLAGS=(-DFAISS_ENABLE_GPU=OFF)
  log "building FAISS $FAISS_VERSION for $ISA (${ARCH_FLAGS:-x86-64 baseline}) into $DEST"
  log "a new machine does this once (a few minutes); progress follows"
fi
cmake -S "$SRC" -B "$TMP/build" -Wno-dev \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS="$ARCH_FLAGS" \
  -DFAISS_OPT_LEVEL="$OPT_LEVEL" \
  "${GPU_FLAGS[@]}" \
  -DFAISS_ENABLE_PYTHON=OFF \
  -DFAISS_ENABLE_C_API=OFF \
  -DBUILD_TESTING=OFF \
  -DBUILD_SHARED_LIBS=OFF \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DBLA_VENDOR=OpenBLAS >"$TMP/configure.log" 2>&1 || { tail -n 30 "$TMP/configure.log" >&2; die "FAISS configure failed"; }
# Only the one library: "all" would also build the generic library beside the
# optimised one, and FAISS's demos and tutorials.
nice -n 10 cmake --build "$TMP/build" --target "$LIB_TARGET" --parallel "$JOBS"

# The install by hand: FAISS's own install rule wants every level built. The GPU
# variant also installs faiss/gpu/'s headers (some public ones include .cuh files).
mkdir -p "$TMP/prefix/lib" "$TMP/prefix/include"
cp "$TMP/build/faiss/lib$LIB_TARGET.a" "$TMP/prefix/lib/libfaiss.a"
if [ "$GPU_VARIANT" = 1 ]; then
  (cd "$SRC" && find faiss \( -name '*.h' -o -name '*.cuh' \) -not -path 'faiss/python/*' \
    -not -path 'faiss/gpu/test/*' -not -path 'faiss/gpu/perf/*' -print0 | xargs -0 cp --parents -t "$TMP/prefix/include")
else
  (cd "$SRC" && find faiss -name '*.h' -not -path 'faiss/gpu/*' -not -path 'faiss/python/*' -print0 |
    xargs -0 cp --parents -t "$TMP/prefix/include")
fi
json_list() { local s="" f; for f in "$@"; do s+="${s:+, }\"$f\""; done; printf '[%s]' "$s"; }
if [ "$GPU_VARIANT" = 1 ]; then
  GPU_INFO=$(printf '"gpu": true,\n  "cudaVersion": "%s",\n  "cudaArchs": "%s",\n  "cudaRoot": "%s",\n  "nvcc": "%s"' \
    "$CUDA_VERSION" "$CUDA_ARCHS" "$CUDA_ROOT" "$NVCC")
else
  GPU_INFO='"gpu": false'
fi
cat >"$TMP/prefix/faiss-build-info.json" <<EOF
{
  "faissVersion": "$FAISS_VERSION",
  "debianSourceVersion": "$DEBIAN_SOURCE_VERSION",
  "isa": "$ISA",
  "archFlags": "$ARCH_FLAGS",
  "cpuFlags": $(json_list "${REQUIRED[@]}"),
  $GPU_INFO,
  "compiler": "$COMPILER",
  "key": "$KEY"
}
EOF
rm -rf "$TMP/build" "$DEST"
mv "$TMP" "$DEST"
log "built in $((SECONDS - start)) s: $DEST"
