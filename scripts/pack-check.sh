#!/usr/bin/env bash
# The package as a user gets it: `npm pack`, then `npm install ./faiss-proxy-*.tgz` into
# a fresh project, whose install script builds the addon (node-gyp, binding.gyp) against
# the cached FAISS (scripts/build-faiss.sh builds it first when it is not cached). The
# test command runs this in place of building the node-gyp addon inside the clone:
# test/embedded/build.test.ts then loads the installed package from that project.
#
#   bash scripts/pack-check.sh [DIR]     (default DIR: test-artifacts/pack-check)
#
# It always packs, installs the tarball and loads the installed package. Like
# scripts/prepare.sh's steps, its long part, the addon's compilation, runs again only when
# its inputs changed since it last succeeded (DIR/.faiss-proxy-stamp: the packed native/,
# binding.gyp and scripts/build-faiss.sh, the FAISS it builds against, node, g++);
# otherwise the last install's build/ is kept. FORCE=1 compiles anyway.
#
# Needs what the package's install needs: bash, g++, cmake, make, OpenBLAS's headers and
# Node's headers (scripts/setup-system.sh installs them); the dependencies come from the
# npm registry, or npm's cache. Their own native builds are not the point here: the
# fresh project takes better-sqlite3's compiled addon from this clone's node_modules
# (the same version, for the same Node) instead of compiling SQLite again.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR="${1:-$ROOT/test-artifacts/pack-check}"
log() { printf '[pack-check] %s\n' "$*" >&2; }
start=$SECONDS
[ -f "$ROOT/dist/lib/index.js" ] || { log "dist/ is missing: npm run build:ts first"; exit 1; }

packed="$(mktemp -d)"
trap 'rm -rf "$packed"' EXIT
tarball=$(cd "$ROOT" && npm pack --silent --pack-destination "$packed")
log "packed $tarball ($(du -k "$packed/$tarball" | cut -f1) KiB, $(tar tzf "$packed/$tarball" | wc -l) files)"
faiss_prefix="$(bash "$ROOT/scripts/build-faiss.sh" --print-prefix 2>/dev/null || echo none)"
tar xzf "$packed/$tarball" -C "$packed" package/native package/binding.gyp package/scripts/build-faiss.sh
native_hash="$(cd "$packed/package" && find native binding.gyp scripts/build-faiss.sh -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha256sum | cut -c1-64)"
want="native $native_hash faiss $faiss_prefix $(sha256sum <"$faiss_prefix/faiss-build-info.json" 2>/dev/null | cut -c1-16) node $(node --version) g++ $(g++ -dumpfullversion 2>/dev/null)"
addon=node_modules/faiss-proxy/build/Release/faiss_node.node
kept=""
if [ "${FORCE:-0}" != 1 ] && [ -f "$DIR/.faiss-proxy-stamp" ] && [ "$(cat "$DIR/.faiss-proxy-stamp")" = "$want" ] && [ -f "$DIR/project/$addon" ]; then
  kept="$packed/kept-build"
  mv "$DIR/project/node_modules/faiss-proxy/build" "$kept"
fi
rm -rf "$DIR" && mkdir -p "$DIR/project"
mv "$packed/$tarball" "$DIR/$tarball"
cd "$DIR/project"
printf '{ "name": "pack-check", "version": "1.0.0", "private": true }\n' >package.json
# --ignore-scripts: the dependencies unpacked, nothing built yet (see above).
npm install --ignore-scripts --prefer-offline --no-audit --no-fund --loglevel=error "../$tarball"
sqlite_addon=build/Release/better_sqlite3.node
[ "$(node -p "require('./node_modules/better-sqlite3/package.json').version")" = \
  "$(node -p "require('$ROOT/node_modules/better-sqlite3/package.json').version")" ] &&
  [ -f "$ROOT/node_modules/better-sqlite3/$sqlite_addon" ] ||
  { log "this clone's node_modules has no better-sqlite3 of the same version: npm ci first"; exit 1; }
mkdir -p "node_modules/better-sqlite3/build/Release"
cp "$ROOT/node_modules/better-sqlite3/$sqlite_addon" "node_modules/better-sqlite3/$sqlite_addon"
if [ -n "$kept" ]; then
  mv "$kept" node_modules/faiss-proxy/build
  log "install script: skipped, the packed native/, binding.gyp, build-faiss.sh, FAISS, node and g++ are those of the last build (FORCE=1 compiles)"
else
  # The package's own install script, as npm runs it at install: FAISS (cached), the addon.
  log "npm rebuild faiss-proxy (its install script: scripts/build-faiss.sh, node-gyp rebuild)"
  JOBS="${JOBS:-$(nproc)}" npm rebuild faiss-proxy --foreground-scripts --loglevel=error >"$DIR/install.log" 2>&1 ||
    { tail -n 30 "$DIR/install.log" >&2; log "FAILED: the package's install script"; exit 1; }
fi
[ -f "$addon" ] && [ -x node_modules/faiss-proxy/build/Release/faiss-proxy-sandbox ] ||
  { log "FAILED: the install built no $addon and sandbox"; exit 1; }
printf '%s' "$want" >"$DIR/.faiss-proxy-stamp"
# Used as a user would: require('faiss-proxy') from the project, which loads the addon it built.
node -e "
  const f = require('faiss-proxy');
  const i = new f.IndexFlatL2(2);
  i.add(new Float32Array([0, 0, 5, 5])).then(() => i.search(new Float32Array([4, 4]), 1)).then((r) => {
    if (r.labels[0] !== 1n) throw new Error('wrong answer ' + r.labels[0]);
    if (!require('fs').readFileSync('/proc/self/maps', 'utf8').includes(require('path').resolve('$addon'))) throw new Error('not the installed addon');
  });
  require('faiss-proxy/client');
"
log "OK: installed, built its addon and searched in $((SECONDS - start)) s ($DIR/project)"
