#!/usr/bin/env bash
# Runs the GPU tests and the GPU benchmark on a GPU host from what was built elsewhere,
# for a host that has NVIDIA's driver but no Node.js, no compiler and no network.
#
#   bash scripts/gpu-check.sh pack [--addon-dir DIR] [--out FILE]
#       here, after npm run build:native-gpu and npm run build:ts: packs the GPU addon
#       (build-cmake-gpu/Release: the addon with its FAISS and CUDA's runtime linked in,
#       the sandbox, faiss-build-info.json), this Node binary, dist/ (the library, the
#       service, the tests, the benchmarks), the node_modules they load, and this script,
#       into FILE (default build-cmake-gpu/gpu-check.tar.xz), and fails if it is not
#       well under 64 MiB (MAX_MIB, default 56; below).
#       --addon-dir build-cmake/Release packs the CPU addon instead: the same pack, to
#       check here that it unpacks and runs (its GPU tests then say why they skip).
#   bash scripts/gpu-check.sh shim DIR
#       compiles native/cublas11-shim into DIR/libcublas.so.11 (pack does)
#   bash scripts/gpu-check.sh host FILE [RESULTS]
#       there: unpacks FILE into a fresh folder and runs it (below); the output goes to
#       RESULTS (default: $OUT where set, else ./gpu-check-results).
#   bash <unpacked>/scripts/gpu-check.sh run [RESULTS]
#       there: checks the addon's libraries resolve (cuBLAS 11, else 13's through the
#       pack's shim), then runs the GPU tests
#       (dist/test/gpu) and, where the pack has one, the GPU benchmark (dist/bench/gpu.js).
#
# What the host must have: glibc >= 2.34 and libstdc++ >= GCC 12's, the driver (libcuda.so.1,
# nvidia-smi; for CUDA 11.8, >= 520) and
# cuBLAS: CUDA 11's (libcublas.so.11 and libcublasLt.so.11: Debian's libcublas11 and
# libcublaslt11), or else CUDA 13's (libcublas.so.13 and libcublasLt.so.13, e.g. NVIDIA's
# nvidia-cublas wheel, with a CUDA 13 driver, >= 580), which the addon then reaches through
# the pack's libcublas.so.11 (native/cublas11-shim, 16 KB). cuBLAS itself is not carried:
# 11.8's is 670 MB, 251 MB as Debian's two .debs, and over 100 MB compressed even linked in
# and pruned to one architecture (docs/gpu.md). CUDA_LIBRARY_PATH names a folder holding
# either where the loader would not look.
#
# The pack's bound: the device machines take 64 MiB with a command; MAX_MIB (default 56)
# keeps it well under that, with room for the checkout that travels with it.
set -euo pipefail
SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")"
ROOT="$(cd "$(dirname "$SELF")/.." && pwd)"
TOP=faiss-proxy-gpu-check
FALLBACK_LIBS="libopenblas.so.0 libgfortran.so.5 libquadmath.so.0 libgomp.so.1"
log() { printf '[gpu-check] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Packages (folders under node_modules, relative to ROOT) that the packages named load,
# with their dependencies; run by the build machine's node.
node_closure() {
  node - "$ROOT" "$@" <<'EOF'
const fs = require('node:fs');
const path = require('node:path');
const [root, ...names] = process.argv.slice(2);
// Dependencies of an install step alone, never loaded: better-sqlite3's prebuild-install
// (it fetches a prebuilt binary at npm install) and swagger-ui-dist's @scarf/scarf (an
// install hook). What they alone pull in stays out too.
const installOnly = new Set(['prebuild-install', '@scarf/scarf']);
const seen = new Set();
const walk = (name, from) => {
  if (installOnly.has(name)) return;
  // Node's lookup, by hand: require.resolve('x/package.json') fails where x's
  // "exports" does not list it.
  let dir;
  for (let at = from; ; at = path.dirname(at)) {
    const candidate = path.join(at, 'node_modules', name);
    if (fs.existsSync(path.join(candidate, 'package.json'))) { dir = candidate; break; }
    if (at === path.dirname(at)) return; // an optional dependency that is not installed
  }
  const manifest = path.join(dir, 'package.json');
  if (seen.has(dir)) return;
  seen.add(dir);
  const pkg = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  for (const dep of Object.keys({ ...pkg.dependencies, ...pkg.optionalDependencies })) walk(dep, dir);
};
for (const name of names) walk(name, root);
const real = fs.realpathSync(path.join(root, 'node_modules'));
for (const dir of seen) console.log(path.join('node_modules', path.relative(real, fs.realpathSync(dir))));
EOF
}

pack() {
  local addon_dir="$ROOT/build-cmake-gpu/Release" out="" max="${MAX_MIB:-56}"
  while (($#)); do
    case "$1" in
      --addon-dir) addon_dir="$(cd "$2" && pwd)"; shift 2 ;;
      --out) out="$2"; shift 2 ;;
      *) die "unknown argument $1" ;;
    esac
  done
  [ -n "$out" ] || out="$ROOT/build-cmake-gpu/gpu-check.tar.xz"
  local f
  for f in faiss_node.node faiss-proxy-sandbox faiss-build-info.json; do
    [ -f "$addon_dir/$f" ] || die "no $addon_dir/$f: run npm run build:native-gpu"
  done
  [ -f "$ROOT/dist/lib/index.js" ] && [ -d "$ROOT/dist/test/gpu" ] || die "no dist/ with the GPU tests: run npm run build:ts"
  STAGE=$(mktemp -d)
  trap 'rm -rf "$STAGE"' EXIT
  local stage="$STAGE"
  # The stage holds links, which tar follows (-h), and the binaries' stripped copies:
  # their symbol tables serve debuggers only (the loader reads the dynamic symbols, which
  # stay), and are 1.5 MB of the addon and 12.6 MB of Node's 99 MB.
  mkdir -p "$stage/$TOP/bin" "$stage/$TOP/scripts" "$stage/$TOP/addon"
  strip --strip-all -o "$stage/$TOP/bin/node" "$(node -p process.execPath)"
  ln -s "$SELF" "$stage/$TOP/scripts/gpu-check.sh"
  for f in run-tests.js run-test-file.js test-durations.json; do ln -s "$ROOT/scripts/$f" "$stage/$TOP/scripts/$f"; done
  ln -s "$ROOT/package.json" "$stage/$TOP/package.json"
  ln -s "$ROOT/dist" "$stage/$TOP/dist"
  for f in faiss_node.node faiss-proxy-sandbox; do strip --strip-unneeded -o "$stage/$TOP/addon/$f" "$addon_dir/$f"; done
  shim "$stage/$TOP/lib/cublas11-on-13" >/dev/null
  # OpenBLAS (FAISS's BLAS, with its libgfortran and libquadmath) and OpenMP's libgomp, as
  # the addon loads them here: a GPU host's image need not have them (glibc, libstdc++ and
  # libgcc_s it has). run uses them only where the host lacks one.
  mkdir -p "$stage/$TOP/lib/fallback"
  local lib path
  for lib in $FALLBACK_LIBS; do
    path=$(ldd "$addon_dir/faiss_node.node" | awk -v lib="$lib" '$1 == lib && $3 ~ /^\// {print $3}')
    [ -n "$path" ] || die "the addon does not load $lib here (ldd)"
    cp -L "$path" "$stage/$TOP/lib/fallback/$lib"
  done
  ln -s "$addon_dir/faiss-build-info.json" "$stage/$TOP/addon/faiss-build-info.json"
  # What the library, the service and the tests load: package.json's dependencies,
  # less the build's own (cmake-js, node-addon-api), and mocha.
  local deps
  deps=$(node -p "Object.keys(require('$ROOT/package.json').dependencies).filter(d => !['cmake-js', 'node-addon-api'].includes(d)).join(' ')")
  # Top-level packages only: a nested one (node_modules/a/node_modules/b) comes with its
  # parent's folder.
  # shellcheck disable=SC2086
  node_closure $deps mocha | grep -E '^node_modules/(@[^/]+/)?[^/]+$' | while read -r dir; do
    mkdir -p "$stage/$TOP/$(dirname "$dir")"
    ln -s "$(realpath "$ROOT/$dir")" "$stage/$TOP/$dir"
  done
  mkdir -p "$(dirname "$out")"
  local start=$SECONDS
  # Not loaded: better-sqlite3's sources, its build's objects and generated sources (all
  # but build/Release/better_sqlite3.node), and every package's maps, types and docs.
  tar -C "$stage" -ch --owner=0 --group=0 \
    --exclude='node_modules/better-sqlite3/deps' --exclude='node_modules/better-sqlite3/src' \
    --exclude='node_modules/better-sqlite3/build/Release/obj' --exclude='test_extension.node' \
    --exclude='obj.target' --exclude='*.a' --exclude='.deps' --exclude='node_modules/.bin' \
    --exclude='*.mk' --exclude='Makefile' --exclude='config.gypi' \
    --exclude='*.map' --exclude='*.d.ts' --exclude='*.md' --exclude='*.ts.map' \
    "$TOP" | xz -T0 -9 >"$out.tmp"
  mv "$out.tmp" "$out"
  local bytes
  bytes=$(stat -c %s "$out")
  log "packed $out: $((bytes / 1024 / 1024)) MiB ($bytes bytes) in $((SECONDS - start)) s"
  ((bytes < max * 1024 * 1024)) || die "$out is $((bytes / 1024 / 1024)) MiB, over the $max MiB allowed"
  echo "$out"
}

run() {
  local results="${1:-${OUT:-$ROOT/gpu-check-results}}"
  [ -x "$ROOT/bin/node" ] || die "run works in an unpacked pack (bash scripts/gpu-check.sh host FILE)"
  mkdir -p "$results"
  export PATH="$ROOT/bin:$PATH"
  export FAISS_PROXY_ADDON="$ROOT/addon/faiss_node.node"
  [ "$(command -v node)" = "$ROOT/bin/node" ] || die "the packed node is not the one on the PATH"
  [ -n "${CUDA_LIBRARY_PATH:-}" ] && export LD_LIBRARY_PATH="$CUDA_LIBRARY_PATH${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  {
    echo "node $(node --version), addon $(node -p "JSON.stringify(require('$ROOT/addon/faiss-build-info.json'))")"
    if command -v nvidia-smi >/dev/null; then nvidia-smi -L; else echo "no nvidia-smi on this host"; fi
  } | tee "$results/host.txt" >&2
  local missing cublas13 lib
  missing=$(ldd "$FAISS_PROXY_ADDON" | awk '/not found/ {print $1}')
  for lib in $FALLBACK_LIBS; do
    if grep -qx "$lib" <<<"$missing"; then
      # One of them is missing: the pack's set, which belong together, comes after the rest.
      log "this host lacks $lib: using the pack's $(echo $FALLBACK_LIBS)"
      export LD_LIBRARY_PATH="${LD_LIBRARY_PATH:+$LD_LIBRARY_PATH:}$ROOT/lib/fallback"
      echo "OpenBLAS and libgomp: the pack's" >>"$results/host.txt"
      missing=$(ldd "$FAISS_PROXY_ADDON" | awk '/not found/ {print $1}')
      break
    fi
  done
  if [ "$missing" = libcublas.so.11 ] && cublas13=$(find_cublas13); then
    # No cuBLAS 11 here, but CUDA 13's: the pack's libcublas.so.11 calls it.
    log "no cuBLAS 11 on this host: using CUDA 13's ($cublas13/libcublas.so.13) through the pack's libcublas.so.11 (native/cublas11-shim)"
    export LD_LIBRARY_PATH="$ROOT/lib/cublas11-on-13:$cublas13${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    echo "cuBLAS: CUDA 13's, $cublas13, through native/cublas11-shim" >>"$results/host.txt"
    missing=$(ldd "$FAISS_PROXY_ADDON" | awk '/not found/ {print $1}')
  fi
  if [ -n "$missing" ]; then
    die "the addon needs libraries this host lacks: $(echo $missing) (CUDA $(node -p "require('$ROOT/addon/faiss-build-info.json').cudaVersion")'s cuBLAS: Debian's libcublas11, or CUDA 13's libcublas.so.13; or CUDA_LIBRARY_PATH=<folder holding either>)"
  fi
  cd "$ROOT"
  local rc=0
  node scripts/run-tests.js /test/gpu/ 2>&1 | tee "$results/gpu-tests.log" || rc=$?
  if [ -f dist/bench/gpu.js ]; then
    node dist/bench/gpu.js 2>&1 | tee "$results/gpu-bench.log" || rc=$?
  else
    log "this pack has no GPU benchmark (dist/bench/gpu.js)" | tee "$results/gpu-bench.log"
  fi
  return "$rc"
}

# A folder holding CUDA 13's cuBLAS (libcublas.so.13 and libcublasLt.so.13): CUDA_LIBRARY_PATH,
# the loader's cache, a toolkit under /usr/local/cuda, or NVIDIA's pip wheel (nvidia-cublas)
# in python3's packages, where this project's GPU machines have it.
find_cublas13() {
  local dir site
  for dir in ${CUDA_LIBRARY_PATH:-} $(ldconfig -p 2>/dev/null | awk '/libcublas\.so\.13 / {print $NF}' | xargs -r -n1 dirname) \
    /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib; do
    [ -e "$dir/libcublas.so.13" ] && [ -e "$dir/libcublasLt.so.13" ] && { echo "$dir"; return 0; }
  done
  if command -v python3 >/dev/null; then
    for site in $(python3 -c 'import site, sys; print(" ".join(site.getsitepackages() + [site.getusersitepackages()]))' 2>/dev/null); do
      for dir in "$site/nvidia/cu13/lib" "$site/nvidia/cublas/lib"; do
        [ -e "$dir/libcublas.so.13" ] && [ -e "$dir/libcublasLt.so.13" ] && { echo "$dir"; return 0; }
      done
    done
  fi
  return 1
}

host() {
  local file="${1:?usage: gpu-check.sh host FILE [RESULTS]}" results="${2:-${OUT:-$PWD/gpu-check-results}}"
  UNPACKED=$(mktemp -d)
  trap 'rm -rf "$UNPACKED"' EXIT
  tar -C "$UNPACKED" -xJf "$file"
  bash "$UNPACKED/$TOP/scripts/gpu-check.sh" run "$results"
}

# Compiles native/cublas11-shim (libcublas.so.11 over CUDA 13's cuBLAS) into DIR, against
# CUDA 11.8's cublas_v2.h (scripts/cuda-headers.sh: Debian's nvidia-cuda-dev, the toolkit
# the addon is built with).
shim() {
  local dir="${1:?usage: gpu-check.sh shim DIR}" include
  include=$(bash "$ROOT/scripts/cuda-headers.sh") || die "no CUDA headers (scripts/cuda-headers.sh)"
  mkdir -p "$dir"
  cc -O2 -Wall -Wextra -Werror -fPIC -shared -I "$include" -Wl,-soname,libcublas.so.11 \
    -Wl,--version-script="$ROOT/native/cublas11-shim/cublas11.map" -Wl,--no-undefined \
    -o "$dir/libcublas.so.11" "$ROOT/native/cublas11-shim/cublas11_on_13.c" -ldl
  echo "$dir/libcublas.so.11"
}

case "${1:-}" in
  pack) shift; pack "$@" ;;
  shim) shift; shim "$@" ;;
  run) shift; run "$@" ;;
  host) shift; host "$@" ;;
  *) die "usage: gpu-check.sh pack [--addon-dir DIR] [--out FILE] | host FILE [RESULTS] | run [RESULTS] | shim DIR" ;;
esac
