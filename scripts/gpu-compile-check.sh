#!/usr/bin/env bash
# Compiles the addon's GPU code as the GPU build would (-DFAISS_PROXY_GPU), syntax only:
# no GPU, no CUDA toolkit and no GPU build of FAISS needed, so CI (which has none of
# them) keeps that code from rotting. Against:
#   FAISS's headers: the CPU build's prefix, and faiss/gpu/ from the same unpacked
#     Debian source (scripts/build-faiss.sh --print-prefix, --print-source);
#   CUDA 11.8's headers: Debian's nvidia-cuda-dev's include/ (scripts/cuda-headers.sh:
#     the first 2 MiB of its .deb, cached);
#   Node's and node-addon-api's, with the addon's flags and defines (CMakeLists.txt).
#
#   bash scripts/gpu-compile-check.sh            native/gpu*.cc and every other
#                                                native/ source that mentions FAISS_PROXY_GPU
#   bash scripts/gpu-compile-check.sh FILE...    those files
# Exit 0 when every file compiles; 1 (after the compiler's errors) when one does not.
# Environment: JOBS (default: the core count), CXX (default: g++, as the addon's build).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
log() { printf '[gpu-compile-check] %s\n' "$*" >&2; }

if (($#)); then
  SOURCES=("$@")
else
  mapfile -t SOURCES < <({ ls native/gpu*.cc 2>/dev/null; grep -rlw --include='*.cc' FAISS_PROXY_GPU native; } | sort -u)
  ((${#SOURCES[@]})) || { log "error: no GPU sources in native/ (native/gpu*.cc)"; exit 1; }
fi

PREFIX=$(bash scripts/build-faiss.sh --print-prefix)
FAISS_SOURCE=$(bash scripts/build-faiss.sh --print-source)
CUDA_INCLUDE=$(bash scripts/cuda-headers.sh)
INFO="$PREFIX/faiss-build-info.json"
ISA=$(node -p "require('$INFO').isa")
ARCH_FLAGS=$(node -p "require('$INFO').archFlags")
NODE_INCLUDE=$(node -p "require('path').resolve(process.execPath, '..', '..', 'include', 'node')")
ADDON_API_INCLUDE=$(node -p "require('node-addon-api').include_dir")

# The flags of CMakeLists.txt's faiss_node target (keep them in step), and the GPU
# build's defines; FAISS's own prefix comes before its source, which only adds faiss/gpu/.
FLAGS=(-fsyntax-only -std=gnu++17 -O2 -fopenmp -Wall -Wextra -Wno-unused-parameter $ARCH_FLAGS
  -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DNODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS
  -DFAISS_PROXY_ISA="\"$ISA\"" -DFAISS_PROXY_GPU -DFAISS_PROXY_CUDA_VERSION='"11.8"' -DFAISS_PROXY_CUDA_ARCHS='"check"'
  -I"$ADDON_API_INCLUDE" -I"$PREFIX/include" -I"$FAISS_SOURCE" -isystem "$CUDA_INCLUDE" -isystem "$NODE_INCLUDE")

CXX="${CXX:-g++}"
RSP=$(mktemp)
trap 'rm -f "$RSP"' EXIT
printf '%q\n' "${FLAGS[@]}" >"$RSP"
export CXX RSP
start=$SECONDS
log "${#SOURCES[@]} sources; CUDA's headers from $CUDA_INCLUDE"
# Each source on its own (JOBS at a time); the compiler's errors go to stderr.
failed=$(printf '%s\0' "${SOURCES[@]}" |
  xargs -0 -n1 -P "${JOBS:-$(nproc)}" sh -c '"$CXX" @"$RSP" "$1" || echo "$1"' sh | sort)
if [ -n "$failed" ]; then
  log "these do not compile with -DFAISS_PROXY_GPU:"
  printf '  %s\n' $failed >&2
  exit 1
fi
log "all ${#SOURCES[@]} compile with -DFAISS_PROXY_GPU ($((SECONDS - start)) s)"
