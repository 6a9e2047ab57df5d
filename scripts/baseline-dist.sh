#!/usr/bin/env bash
# The dist/ of an earlier commit, for the harness's --baseline-dist (npm run bench
# -- --only targets --baseline-dist DIR): that commit's TypeScript compiled into
# build/baseline-<commit>/dist, beside links to this checkout's node_modules and
# build-cmake (the addon: the HTTP comparisons measure the TypeScript around it,
# so both sides run the same native build). Prints the dist/ path.
# Usage: bash scripts/baseline-dist.sh <commit>
set -euo pipefail
commit=${1:?usage: scripts/baseline-dist.sh <commit>}
root=$(cd "$(dirname "$0")/.." && pwd)
short=$(git -C "$root" rev-parse --short "$commit")
out="$root/build/baseline-$short"
rm -rf "$out"
mkdir -p "$out"
git -C "$root" archive "$short" | tar -x -C "$out"
ln -s "$(readlink -f "$root/node_modules")" "$out/node_modules"
ln -s "$root/build-cmake" "$out/build-cmake"
(cd "$out" && nice -n 10 node node_modules/typescript/bin/tsc -p tsconfig.json)
echo "$out/dist"
