#!/usr/bin/env bash
# The README's start command: sets everything up on a fresh Debian machine, then
# runs the service on its embedded defaults (127.0.0.1:8080, data in ./data).
# Extra arguments go to `faiss-proxy serve` (e.g. --port 9000 --host 0.0.0.0).
set -euo pipefail
cd "$(dirname "$0")/.."

# Installs, builds and compiles only what changed since it last did (scripts/prepare.sh):
# a restart of an unchanged checkout checks and starts.
bash scripts/prepare.sh
# Large allocations in transparent huge pages: loading a snapshot is bound by page
# faults on the buffer FAISS fills, not by the disk (npm run bench:storage shows both).
export GLIBC_TUNABLES="${GLIBC_TUNABLES:-glibc.malloc.hugetlb=1}"
exec node dist/service/cli.js serve "$@"
