#!/usr/bin/env bash
# The README's test command: sets everything up on a fresh Debian machine and runs
# every test. Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the dashboard is tested in a real browser (test/service/dashboard.test.ts).
# nats-server: the cluster tests start their own 3-node JetStream cluster on loopback.
# python3-pytest, python3-requests: the Python client (clients/python) and its conformance suite.
# scripts/prepare.sh installs, builds and compiles only what changed since it last did:
# FAISS for this CPU once per machine; npm ci; the primary build, cmake-js
# (CMakeLists.txt, into build-cmake/); and the TypeScript. A fresh clone (CI) builds all of them.
# python3-pip: clients/python's suite checks that `pip install ./clients/python` works (offline, in a venv).
# nginx-light: docs/deployment.md's TLS example is run (test/ship/tls-proxy.test.ts);
# sqlite3: scripts/backup-data-dir.sh copies the catalog with it (test/ship/backup-restore.test.ts).
bash scripts/prepare.sh chromium nats-server python3-pytest python3-requests python3-pip nginx-light sqlite3
# The node-gyp addon (binding.gyp) as a user's install builds it, kept from rotting
# (test/embedded/build.test.ts smoke-tests it): npm pack, then npm install of the tarball
# into a fresh project, whose install script builds it; again whenever what is packed changes.
bash scripts/pack-check.sh
# Tests that would skip for want of the gyp build or chromium fail instead.
export FAISS_PROXY_CI=1
node scripts/run-tests.js "$@"
