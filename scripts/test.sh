#!/usr/bin/env bash
# The README's test command: sets everything up on a fresh Debian machine and runs
# every test. Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the dashboard is tested in a real browser (test/service/dashboard.test.ts).
# nats-server: the cluster tests start their own 3-node JetStream cluster on loopback.
# python3-pytest, python3-requests: the Python client (clients/python) and its conformance suite.
bash scripts/setup-system.sh chromium nats-server python3-pytest python3-requests
# FAISS for this CPU, once per machine (minutes, with progress; then cached outside
# the clone): first and on its own, so its progress shows.
bash scripts/build-faiss.sh
# The dependencies (better-sqlite3 built by its own install script); the package's own
# install script (the node-gyp addon) runs below where a user's install runs it, in a
# fresh project installing the packed tarball (scripts/pack-check.sh). Then the primary
# build, cmake-js (CMakeLists.txt, into build-cmake/).
npm ci --ignore-scripts --no-audit --no-fund
npm rebuild better-sqlite3
npm run build:native
# Tests that would skip for want of the gyp build or chromium fail instead.
export FAISS_PROXY_CI=1
npm run build:ts
# npm pack, npm install of the tarball into a fresh project, whose install script builds
# the node-gyp addon (binding.gyp) on every run, keeping it from rotting
# (test/embedded/build.test.ts loads it).
bash scripts/pack-check.sh
node scripts/run-tests.js "$@"
