// The entry of the single-file binary (npm run build:binary, scripts/build-binary.js).
// The binary is Node with this script and one asset, the application (compiled
// TypeScript, the production node_modules, the native addon and its sandbox, the
// dashboard's files), packed. A native addon can only be loaded from a file, and the
// sandbox is an executable, so on first start the application is unpacked into a
// cache directory named by its hash; later starts find it there and load it at once.
// Plain JavaScript, no dependencies: inside the binary only Node's built-ins exist.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const zlib = require('node:zlib');
const sea = require('node:sea');
const { createRequire } = require('node:module');

const MAGIC = 'FPAK1\n';

function cacheRoot() {
  if (process.env.FAISS_PROXY_BINARY_CACHE) return path.resolve(process.env.FAISS_PROXY_BINARY_CACHE);
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'faiss-proxy', 'binary');
}

/** Unpacks the packed application into dir (atomically: a half-written tree is never used). */
function unpack(dir) {
  const packed = zlib.gunzipSync(Buffer.from(sea.getAsset('app')));
  if (packed.subarray(0, MAGIC.length).toString('latin1') !== MAGIC) throw new Error('the binary holds no packed application');
  const headerLength = packed.readUInt32LE(MAGIC.length);
  let offset = MAGIC.length + 4;
  const files = JSON.parse(packed.subarray(offset, offset + headerLength).toString('utf8'));
  offset += headerLength;
  const tmp = `${dir}.tmp-${process.pid}`;
  fs.rmSync(tmp, { recursive: true, force: true });
  for (const f of files) {
    const target = path.join(tmp, f.path);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, packed.subarray(offset, offset + f.size), { mode: f.mode });
    offset += f.size;
  }
  fs.writeFileSync(path.join(tmp, '.complete'), '');
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    // Another start unpacked the same application first: use its copy.
    fs.rmSync(tmp, { recursive: true, force: true });
    if (!fs.existsSync(path.join(dir, '.complete'))) throw e;
  }
}

function main() {
  const id = sea.getAsset('app-id', 'utf8').trim();
  const root = cacheRoot();
  const dir = path.join(root, id);
  if (!fs.existsSync(path.join(dir, '.complete'))) {
    try {
      fs.mkdirSync(root, { recursive: true, mode: 0o700 });
      unpack(dir);
    } catch (e) {
      console.error(`faiss-proxy: cannot unpack the application into ${dir} (${e.message}); set FAISS_PROXY_BINARY_CACHE to a writable directory`);
      process.exit(2);
    }
  }
  // process.argv is [binary, binary as invoked, ...arguments]: the CLI's slice(2), as
  // under `node cli.js ...`.
  createRequire(path.join(dir, 'package.json'))('./dist/service/cli.js');
}

main();
