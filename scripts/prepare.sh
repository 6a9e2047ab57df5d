#!/usr/bin/env bash
# Brings this checkout up to date for scripts/start.sh and scripts/test.sh, doing only
# the steps whose inputs changed since they last succeeded. A fresh machine gets the
# whole set-up; a restart of an unchanged checkout checks and does no work.
#
#   bash scripts/prepare.sh [--gyp] [extra Debian packages ...]
#     --gyp   also keep the node-gyp addon (binding.gyp, build/) current (the test command)
#
# Each step compares a stamp, written only after the step succeeded, with what its
# inputs are now, and says what it did and why ("[prepare] <step>: ..."):
#   npm ci        node_modules/.faiss-proxy-stamp: package-lock.json, node's version,
#                 ABI, platform and arch; and better-sqlite3 (the native dependency)
#                 must load in this node
#   build:native  build-cmake/.faiss-proxy-stamp: native/, CMakeLists.txt, the FAISS it
#                 links (its build info, libfaiss.a's size and time), node, g++, cmake,
#                 node-addon-api and cmake-js; and the addon, sandbox and build info exist
#   build:gyp     build/.faiss-proxy-stamp: the same with binding.gyp and node-gyp
#   build:ts      dist/.faiss-proxy-stamp: the .ts files tsconfig.json compiles,
#                 tsconfig.json, typescript and package-lock.json (the @types)
# A step that fails leaves its stamp out, so the next run does it again.
set -euo pipefail
cd "$(dirname "$0")/.."

gyp=0
packages=()
for a in "$@"; do
  if [ "$a" = --gyp ]; then gyp=1; else packages+=("$a"); fi
done

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
# FAISS for this CPU, once per machine (minutes, with progress; then cached outside
# the clone). npm ci's install script builds the node-gyp addon against it.
bash scripts/build-faiss.sh
faiss_prefix="$(bash scripts/build-faiss.sh --print-prefix)"
faiss_id="$faiss_prefix $(sha <"$faiss_prefix/faiss-build-info.json") $(stat -c '%s %Y' "$faiss_prefix/lib/libfaiss.a")"
toolchain="g++ $(g++ -dumpfullversion) $(cmake --version | head -n1)"
# node and the versions of the build tools installed in node_modules (none yet on a fresh clone).
versions() {
  node -e '
    const v = (p) => { try { return require(`./node_modules/${p}/package.json`).version; } catch { return "none"; } };
    console.log(`node ${process.version} abi ${process.versions.modules} ${process.platform}-${process.arch}`);
    console.log(["node-addon-api", "cmake-js", "node-gyp", "typescript"].map((p) => `${p} ${v(p)}`).join(" "));'
}

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
  # Its install script (package.json "install") builds the node-gyp addon into build/.
  npm ci --no-audit --no-fund
  stamp "$deps_stamp" "$deps_want"
  installed="$(versions)"
fi

tools="$(tail -n1 <<<"$installed")"
native_sources="$(tree_hash native)"
addon_inputs="native $native_sources faiss $faiss_id $toolchain $node_id $tools"

# --- the node-gyp addon ---------------------------------------------------------------
gyp_want="$addon_inputs binding.gyp $(sha <binding.gyp)"
gyp_stamp=build/.faiss-proxy-stamp
gyp_outputs=(build/Release/faiss_node.node build/Release/faiss-proxy-sandbox)
if [ -n "$deps_want" ]; then
  stamp "$gyp_stamp" "$gyp_want" # npm ci just built it
elif [ "$gyp" = 1 ]; then
  if current "$gyp_stamp" "$gyp_want" "${gyp_outputs[@]}"; then
    log "build:gyp: skipped, build/ is current (native/, binding.gyp, FAISS, toolchain)"
  else
    log "build:gyp: native/, binding.gyp, FAISS or the toolchain changed since the last build: building"
    npm run build:gyp
    stamp "$gyp_stamp" "$gyp_want"
  fi
fi

# --- the cmake-js addon (what the service loads) ---------------------------------------
native_want="$addon_inputs CMakeLists.txt $(sha <CMakeLists.txt)"
native_stamp=build-cmake/.faiss-proxy-stamp
if current "$native_stamp" "$native_want" build-cmake/Release/faiss_node.node build-cmake/Release/faiss-proxy-sandbox build-cmake/Release/faiss-build-info.json; then
  log "build:native: skipped, build-cmake/ is current (native/, CMakeLists.txt, FAISS, toolchain)"
else
  log "build:native: native/, CMakeLists.txt, FAISS or the toolchain changed since the last build: building"
  npm run build:native
  stamp "$native_stamp" "$native_want"
fi

# --- TypeScript ------------------------------------------------------------------------
ts_dirs=()
for d in lib service test bench scripts; do [ -d "$d" ] && ts_dirs+=("$d"); done
ts_want="ts $(find "${ts_dirs[@]}" -name '*.ts' -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum | sha) tsconfig $(sha <tsconfig.json) lock $lock_hash $tools"
ts_stamp=dist/.faiss-proxy-stamp
if current "$ts_stamp" "$ts_want" dist/service/cli.js dist/lib/index.js; then
  log "build:ts: skipped, dist/ is current (the .ts sources, tsconfig.json, typescript)"
else
  log "build:ts: a .ts source, tsconfig.json or typescript changed since the last build: compiling"
  npm run build:ts
  stamp "$ts_stamp" "$ts_want"
fi
