#!/usr/bin/env bash
# The README's test command: sets everything up on a fresh Debian machine and runs
# every test. Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the dashboard is tested in a real browser (test/service/dashboard.test.ts).
# nats-server: the cluster tests start their own 3-node JetStream cluster on loopback.
# python3-pytest, python3-requests: the Python client (clients/python) and its conformance suite.
# scripts/prepare.sh installs, builds and compiles only what changed since it last did:
# FAISS for this CPU once per machine; npm ci, whose install script builds the addon
# with node-gyp (binding.gyp, into build/); with --gyp, that addon again whenever its
# sources change, so it cannot rot (test/embedded/build.test.ts smoke-tests it); the
# primary build, cmake-js (CMakeLists.txt, into build-cmake/); and the TypeScript.
# A fresh clone (CI) builds all of them.
# python3-pip: clients/python's suite checks that `pip install ./clients/python` works (offline, in a venv).
bash scripts/prepare.sh --gyp chromium nats-server python3-pytest python3-requests python3-pip
# Tests that would skip for want of the gyp build or chromium fail instead.
export FAISS_PROXY_CI=1
node scripts/run-tests.js "$@"
