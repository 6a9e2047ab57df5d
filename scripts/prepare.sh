#!/usr/bin/env bash
# Brings this checkout up to date for scripts/start.sh and scripts/test.sh, doing only
# the steps whose inputs changed since they last succeeded. A fresh machine gets the
# whole set-up; a restart of an unchanged checkout checks and does no work.
#
#   bash scripts/prepare.sh [extra Debian packages ...]
#
# FAISS's build runs beside npm ci and build:ts, which need none of it; build:native
# waits for all three. Each step compares a stamp, written only after the step succeeded, with what its
# inputs are now, and says what it did and why ("[prepare] <step>: ..."):
#   npm ci        node_modules/.faiss-proxy-stamp: package-lock.json, node's version,
#                 ABI, platform and arch; and better-sqlite3 (the native dependency)
#                 must load in this node
#   build:native  build-cmake/.faiss-proxy-stamp: native/, CMakeLists.txt, the FAISS it
#                 links (its build info, libfaiss.a's size and time), node, g++, cmake,
#                 node-addon-api and cmake-js; and the addon, sandbox and build info exist
#   build:ts      dist/.faiss-proxy-stamp: the .ts files of tsconfig.json's include,
#                 tsconfig.json, typescript and package-lock.json (the @types)
# A step that fails leaves its stamp out, so the next run does it again.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=("$@")

log() { printf '[prepare] %s\n' "$*"; }
sha() { sha256sum | cut -c1-64; }
# Names and contents of every file under the given paths (a rename is a change too).
tree_hash() { find "$@" -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum | sha; }
# current STAMP WANT OUTPUT...: the stamp holds WANT and every output exists.
current() {
  local stamp=$1 want=$2 f
  shift 2
  [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] || return 1
  for f in "$@"; do [ -e "$f" ] || return 1; done
}
stamp() { mkdir -p "$(dirname "$1")" && printf '%s' "$2" >"$1"; }

bash scripts/setup-system.sh "${packages[@]}"
# node, then "<package> <version>" of each build tool installed in node_modules ("none"
# yet on a fresh clone).
versions() {
  node -e '
    const v = (p) => { try { return require(`./node_modules/${p}/package.json`).version; } catch { return "none"; } };
    console.log(`node ${process.version} abi ${process.versions.modules} ${process.platform}-${process.arch}`);
    for (const p of ["node-addon-api", "cmake-js", "typescript"]) console.log(`${p} ${v(p)}`);'
}
tool() { grep "^$1 " <<<"$installed"; }

# npm ci and the TypeScript: they need no FAISS. Run beside FAISS's build (below).
prepare_js() {
  # --- dependencies ---------------------------------------------------------------------
  installed="$(versions)"
  node_id="$(head -n1 <<<"$installed")"
  lock_hash="$(sha <package-lock.json)"
  deps_want="lock $lock_hash $node_id"
  deps_stamp=node_modules/.faiss-proxy-stamp
  if ! current "$deps_stamp" "$deps_want" node_modules/.package-lock.json; then
    log "npm ci: node_modules is not the install of this package-lock.json for $node_id: installing"
  elif ! node -e 'require("better-sqlite3")' 2>/dev/null; then
    log "npm ci: better-sqlite3 does not load in $node_id: installing"
  else
    deps_want=""
    log "npm ci: skipped, node_modules is current (package-lock.json, $node_id)"
  fi
  if [ -n "$deps_want" ]; then
    # --ignore-scripts: the package's own install script builds the node-gyp addon, which
    # neither the service nor the tests load from the clone (the test command builds it as a
    # user's install does: scripts/pack-check.sh); of the dependencies, only better-sqlite3
    # has a build to run (swagger-ui-dist's scarf postinstall is telemetry, left out).
    npm ci --ignore-scripts --no-audit --no-fund
    npm rebuild better-sqlite3 --no-audit --no-fund
    stamp "$deps_stamp" "$deps_want"
    installed="$(versions)"
  fi

  # --- TypeScript ------------------------------------------------------------------------
  # The folders of tsconfig.json's "include" (lib/**/*.ts: lib) that exist.
  mapfile -t ts_dirs < <(node -e '
    const include = JSON.parse(require("fs").readFileSync("tsconfig.json", "utf8")).include ?? [];
    for (const d of new Set(include.map((p) => p.split("/")[0]))) if (require("fs").existsSync(d)) console.log(d);')
  ts_want="ts ${ts_dirs[*]} $(find "${ts_dirs[@]}" /dev/null -name '*.ts' -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha) tsconfig $(sha <tsconfig.json) lock $lock_hash $(tool typescript)"
  ts_stamp=dist/.faiss-proxy-stamp
  if current "$ts_stamp" "$ts_want" dist/service/cli.js dist/lib/index.js; then
    log "build:ts: skipped, dist/ is current (the .ts sources, tsconfig.json, typescript)"
  else
    log "build:ts: a .ts source, tsconfig.json or typescript changed since the last build: compiling"
    npm run build:ts
    stamp "$ts_stamp" "$ts_want"
  fi
}

# FAISS for this CPU, once per machine (minutes, with progress; then cached outside the
# clone), for the cmake-js addon below, built while npm ci and tsc run beside it: on a
# new machine FAISS's compile takes the CPU for minutes and npm ci mostly waits on the
# network. FAISS's progress shows as it goes; the other steps' once it has ended (what
# they printed so far, then as it comes).
js_log="$(mktemp)"
prepare_js >"$js_log" 2>&1 &
js_pid=$!
faiss_status=0
bash scripts/build-faiss.sh || faiss_status=$?
tail -n +1 --pid="$js_pid" -f "$js_log"
js_status=0
wait "$js_pid" || js_status=$?
rm -f "$js_log"
[ "$js_status" = 0 ] || { log "npm ci or build:ts failed (above)"; exit "$js_status"; }
[ "$faiss_status" = 0 ] || exit "$faiss_status"
installed="$(versions)"
node_id="$(head -n1 <<<"$installed")"
faiss_prefix="$(bash scripts/build-faiss.sh --print-prefix)"
faiss_id="$faiss_prefix $(sha <"$faiss_prefix/faiss-build-info.json") $(stat -c '%s %Y' "$faiss_prefix/lib/libfaiss.a")"
toolchain="g++ $(g++ -dumpfullversion) $(cmake --version | head -n1)"

native_sources="$(tree_hash native)"
addon_inputs="native $native_sources faiss $faiss_id $toolchain $node_id $(tool node-addon-api)"

# --- the cmake-js addon (what the service loads) ---------------------------------------
native_want="$addon_inputs $(tool cmake-js) CMakeLists.txt $(sha <CMakeLists.txt)"
native_stamp=build-cmake/.faiss-proxy-stamp
if current "$native_stamp" "$native_want" build-cmake/Release/faiss_node.node build-cmake/Release/faiss-proxy-sandbox build-cmake/Release/faiss-build-info.json; then
  log "build:native: skipped, build-cmake/ is current (native/, CMakeLists.txt, FAISS, toolchain)"
else
  log "build:native: native/, CMakeLists.txt, FAISS or the toolchain changed since the last build: building"
  npm run build:native
  stamp "$native_stamp" "$native_want"
fi
