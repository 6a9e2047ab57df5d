#!/usr/bin/env bash
# The README's test command: sets everything up on a fresh Debian machine and runs
# every test. Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the dashboard is tested in a real browser (test/service/dashboard.test.ts).
# nats-server: the cluster tests start their own 3-node JetStream cluster on loopback.
# python3-pytest, python3-requests: the Python client (clients/python) and its conformance suite.
bash scripts/setup-system.sh chromium nats-server python3-pytest python3-requests
# python3-pip: clients/python's suite checks that `pip install ./clients/python` works (offline, in a venv).
bash scripts/setup-system.sh python3-pip
# FAISS for this CPU, once per machine (minutes, with progress; then cached outside
# the clone): first and on its own, so its progress shows.
bash scripts/build-faiss.sh
# npm ci runs the package's install script, which builds the addon with node-gyp
# (binding.gyp, into build/): building (and smoke-testing) it on every run keeps it
# from rotting. Then the primary build, cmake-js (CMakeLists.txt, into build-cmake/).
npm ci --no-audit --no-fund
npm run build:native
# Tests that would skip for want of the gyp build or chromium fail instead.
export FAISS_PROXY_CI=1
npm run build:ts
node scripts/run-tests.js "$@"
