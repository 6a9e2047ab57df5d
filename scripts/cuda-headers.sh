#!/usr/bin/env bash
# Prints a folder holding CUDA's headers (cuda_runtime.h, cublas_v2.h, ...) for
# compiling the addon's GPU sources without the toolkit (scripts/gpu-compile-check.sh):
# Debian's nvidia-cuda-dev (CUDA 11.8, bookworm's non-free), of which only the front of
# the .deb is downloaded: its usr/include/ comes first, before 770 MB of libraries
# (scripts/deb-include.py). Cached beside FAISS's builds, keyed by the package's version:
#   ${FAISS_PROXY_CACHE:-~/.cache/faiss-proxy}/cuda-headers-<version>/include
#
# apt's hashes cover the whole .deb, so this partial download is not checked against
# them; it comes over https from the mirror apt names. It is only ever compiled with
# -fsyntax-only, never linked or run.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PACKAGE=nvidia-cuda-dev
log() { printf '[cuda-headers] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"

CACHE_ROOT="${FAISS_PROXY_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/faiss-proxy}"
# Debian's images enable only main: the toolkit is in non-free (scripts/build-faiss.sh
# --gpu writes the same file).
candidate() { apt-cache policy "$PACKAGE" 2>/dev/null | sed -n 's/^ *Candidate: \([0-9].*\)$/\1/p'; }
VERSION=$(candidate)
if [ -z "$VERSION" ]; then
  log "enabling Debian's contrib and non-free components (/etc/apt/sources.list.d/faiss-proxy-cuda.sources)"
  printf '%s\n' 'Types: deb' 'URIs: http://deb.debian.org/debian' 'Suites: bookworm bookworm-updates' \
    'Components: contrib non-free' 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg' |
    $SUDO tee /etc/apt/sources.list.d/faiss-proxy-cuda.sources >/dev/null
  $SUDO apt-get update -qq
  VERSION=$(candidate)
  [ -n "$VERSION" ] || die "apt knows no $PACKAGE (bookworm's non-free)"
fi
DEST="$CACHE_ROOT/cuda-headers-${VERSION//[^A-Za-z0-9.+-]/_}"
if [ -f "$DEST/include/cuda_runtime.h" ]; then echo "$DEST/include"; exit 0; fi

mkdir -p "$CACHE_ROOT"
exec 9>"$DEST.lock"
flock 9
if [ -f "$DEST/include/cuda_runtime.h" ]; then echo "$DEST/include"; exit 0; fi
URI=$(cd /tmp && apt-get --print-uris download "$PACKAGE=$VERSION" 2>/dev/null | sed -n "s/^'\([^']*\)'.*/\1/p" | head -n1)
[ -n "$URI" ] || die "apt-get --print-uris download $PACKAGE=$VERSION printed no address"
URI="${URI/#http:\/\/deb.debian.org\//https://deb.debian.org/}"
start=$SECONDS
# The front of the .deb, 2 MiB at first (1 MiB holds 11.8's headers), more if short.
for mib in 2 8 32; do
  rm -rf "$DEST.tmp" && mkdir -p "$DEST.tmp"
  rc=0
  curl -fsSL --retry 3 -r "0-$((mib * 1024 * 1024 - 1))" "$URI" -o "$DEST.tmp/front.deb" || die "download of $URI failed"
  python3 "$ROOT/scripts/deb-include.py" "$DEST.tmp" <"$DEST.tmp/front.deb" || rc=$?
  [ "$rc" = 3 ] && continue
  [ "$rc" = 0 ] || die "no headers in $URI"
  [ -f "$DEST.tmp/include/cuda_runtime.h" ] || die "$PACKAGE $VERSION has no cuda_runtime.h"
  log "$PACKAGE $VERSION's headers: ${mib} MiB of its .deb read in $((SECONDS - start)) s"
  rm -f "$DEST.tmp/front.deb"
  rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
  echo "$DEST/include"
  exit 0
done
die "$PACKAGE's headers did not end within its first 32 MiB"
