// npm run build:binary: the single-file `faiss-proxy` executable (Node's single
// executable applications: --experimental-sea-config, then postject).
//
// Into build-binary/: faiss-proxy (the executable), and the files it is made of.
// It holds Node, scripts/sea-main.js, and one asset: the application, packed and
// gzipped: package.json, dist/lib and dist/service (compiled JavaScript), the
// dashboard's files, the native addon with its sandbox and faiss-build-info.json
// (build-cmake/Release: npm run build:native first), and the production
// dependencies from node_modules (package-lock.json's tree, without the build-only
// cmake-js and node-addon-api). sea-main.js unpacks it into a cache directory on
// first start: a .node addon can only be loaded from a file.
//
// What it needs on the machine that runs it: glibc (as new as this one's), and the
// addon's shared libraries: OpenBLAS and libgomp (Debian: libopenblas0-pthread,
// libgomp1). It runs on CPUs with the instruction set FAISS was built for.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const crypto = require('node:crypto');
const { execFileSync } = require('node:child_process');

const ROOT = path.resolve(__dirname, '..');
const OUT = path.join(ROOT, 'build-binary');
const MAGIC = 'FPAK1\n';
// Node's SEA fuse: the marker postject flips so that node runs the injected blob.
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const BUILD_ONLY = new Set(['cmake-js', 'node-addon-api']);
const ADDON_FILES = ['faiss_node.node', 'faiss-proxy-sandbox', 'faiss-build-info.json'];

function fail(message) {
  console.error(`build-binary: ${message}`);
  process.exit(1);
}

function walk(dir, keep = () => true) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return keep(p, true) ? walk(p, keep) : [];
    return e.isFile() && keep(p, false) ? [p] : [];
  });
}

/** The production packages' folders (node_modules/...), resolved as Node would through package-lock.json. */
function productionPackages() {
  const lock = JSON.parse(fs.readFileSync(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const packages = lock.packages;
  const resolve = (from, name) => {
    let base = from;
    for (;;) {
      const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
      if (packages[candidate]) return candidate;
      if (!base) return null;
      const i = base.lastIndexOf('/node_modules/');
      base = i < 0 ? '' : base.slice(0, i);
    }
  };
  const found = new Set();
  const visit = (from, names, optional) => {
    for (const name of names) {
      const at = resolve(from, name);
      if (!at) {
        if (optional) continue;
        fail(`${name} (needed by ${from || 'the package'}) is not in package-lock.json`);
      }
      if (found.has(at)) continue;
      found.add(at);
      const p = packages[at];
      visit(at, Object.keys(p.dependencies ?? {}), false);
      visit(at, Object.keys(p.optionalDependencies ?? {}), true);
    }
  };
  visit('', Object.keys(packages[''].dependencies).filter((n) => !BUILD_ONLY.has(n)), false);
  return [...found].sort();
}

/** Files of one package that the running service may need: no types, source maps, docs, or nested packages. */
function packageFiles(dir) {
  const name = path.basename(dir);
  return walk(dir, (p, isDir) => {
    const rel = path.relative(dir, p);
    if (isDir) {
      if (path.basename(p) === 'node_modules') return false;
      // better-sqlite3: only its JavaScript and the compiled .node, not SQLite's source.
      if (name === 'better-sqlite3') return !/^(deps|src|docs|build\/(?!Release$)|build\/Release\/(obj|\.deps))/.test(rel) || rel === 'build';
      return true;
    }
    if (name === 'better-sqlite3' && rel.startsWith('build/')) return rel === 'build/Release/better_sqlite3.node';
    return !/\.(d\.ts|d\.mts|d\.cts|map|md|markdown)$/i.test(p);
  });
}

function applicationFiles() {
  const release = path.join(ROOT, 'build-cmake', 'Release');
  for (const f of ADDON_FILES) {
    if (!fs.existsSync(path.join(release, f))) fail(`${path.join(release, f)} is missing: run npm run build:native first`);
  }
  if (!fs.existsSync(path.join(ROOT, 'dist', 'service', 'cli.js'))) fail('dist/ is missing: run npm run build:ts first');
  const js = (p, isDir) => isDir || /\.(js|json)$/.test(p);
  return [
    path.join(ROOT, 'package.json'),
    ...walk(path.join(ROOT, 'dist', 'lib'), js),
    ...walk(path.join(ROOT, 'dist', 'service'), js),
    ...walk(path.join(ROOT, 'service', 'dashboard')),
    ...walk(path.join(ROOT, 'service', 'docs-page')),
    ...ADDON_FILES.map((f) => path.join(release, f)),
    ...productionPackages().flatMap((at) => packageFiles(path.join(ROOT, at))),
  ];
}

function pack(files) {
  const header = [];
  const bodies = [];
  for (const file of files) {
    const data = fs.readFileSync(file);
    const mode = fs.statSync(file).mode & 0o777;
    header.push({ path: path.relative(ROOT, file), size: data.length, mode });
    bodies.push(data);
  }
  const headerBytes = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32LE(headerBytes.length);
  return Buffer.concat([Buffer.from(MAGIC, 'latin1'), length, headerBytes, ...bodies]);
}

function main() {
  const files = applicationFiles();
  const packed = pack(files);
  const id = crypto.createHash('sha256').update(packed).digest('hex').slice(0, 24);
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  fs.writeFileSync(path.join(OUT, 'app.pack.gz'), zlib.gzipSync(packed, { level: 6 }));
  fs.writeFileSync(path.join(OUT, 'app-id'), `${id}\n`);
  fs.copyFileSync(path.join(__dirname, 'sea-main.js'), path.join(OUT, 'sea-main.js'));
  fs.writeFileSync(path.join(OUT, 'sea-config.json'), JSON.stringify({
    main: 'sea-main.js',
    output: 'sea-prep.blob',
    disableExperimentalSEAWarning: true,
    assets: { app: 'app.pack.gz', 'app-id': 'app-id' },
  }, null, 2));
  execFileSync(process.execPath, ['--experimental-sea-config', 'sea-config.json'], { cwd: OUT, stdio: ['ignore', 'ignore', 'inherit'] });
  const binary = path.join(OUT, 'faiss-proxy');
  fs.copyFileSync(process.execPath, binary);
  fs.chmodSync(binary, 0o755);
  const postject = path.join(path.dirname(require.resolve('postject/package.json')), 'dist', 'cli.js');
  // postject warns about ELF note names it cannot map; the injection itself is checked by running the result.
  execFileSync(process.execPath, [postject, binary, 'NODE_SEA_BLOB', path.join(OUT, 'sea-prep.blob'), '--sentinel-fuse', SEA_FUSE],
    { stdio: ['ignore', 'ignore', 'ignore'] });
  const size = (p) => `${(fs.statSync(p).size / 1e6).toFixed(1)} MB`;
  console.log(`build-binary: ${binary} (${size(binary)}; ${files.length} files, ${(packed.length / 1e6).toFixed(1)} MB packed, ${size(path.join(OUT, 'app.pack.gz'))} gzipped; application ${id})`);
}

main();
