#!/usr/bin/env bash
# Installs the Debian packages faiss-proxy builds and tests with, only those
# missing, so a fresh Debian machine needs nothing installed by hand.
#   libopenblas-pthread-dev  OpenBLAS: FAISS's batch search is many times slower on
#                            Debian's reference BLAS (see README, "Why OpenBLAS")
#   python3-faiss, numpy     the reference implementation the conformance tests compare with
#   cmake, g++, make         the addon build (cmake-js; node-gyp for binding.gyp)
# FAISS itself is the project's own build (scripts/build-faiss.sh, which installs what
# it needs to fetch and compile Debian's FAISS source).
set -euo pipefail

packages=(libopenblas0-pthread libopenblas-pthread-dev python3-faiss python3-numpy cmake g++ make)
packages+=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "setup: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
