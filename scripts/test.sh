#!/usr/bin/env bash
# The README's test command: sets everything up on a fresh Debian machine and runs
# every test. Ends with a line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# chromium: the dashboard is tested in a real browser (test/dashboard.test.ts).
bash scripts/setup-system.sh chromium
npm ci --no-audit --no-fund
npm run build:native
# binding.gyp builds the same sources with node-gyp; building (and smoke-testing)
# it on every run keeps it from rotting.
npm run build:gyp
# Tests that would skip for want of the gyp build or chromium fail instead.
export FAISS_PROXY_CI=1
npm run build:ts
node scripts/run-tests.js "$@"
