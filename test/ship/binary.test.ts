// The single-file binary (npm run build:binary) used as a user would: built, copied
// alone into an empty directory, run with a PATH that holds no node and an empty
// home (so its first start unpacks the application into a fresh cache), then used
// over HTTP: an index created, filled, searched, exported and imported again (the
// import runs the addon's sandbox executable), a collection (SQLite) written and
// read, the dashboard served; stopped, started again from its cache, and the data
// is there.
import { strict as assert } from 'node:assert';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

interface Started { child: ChildProcess; url: string; output: () => string }

function start(binary: string, cwd: string, env: NodeJS.ProcessEnv): Promise<Started> {
  const child = spawn('./faiss-proxy', ['serve', '--port', '0', '--data-dir', './data'], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${binary} did not listen within 60 s:\n${out}`)), 60_000);
    const exited = (code: number | null) => { clearTimeout(timer); reject(new Error(`${binary} exited (${code}):\n${out}`)); };
    child.on('exit', exited);
    const listening = () => {
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      child.off('exit', exited);
      child.stdout!.off('data', listening);
      resolve({ child, url: m[1], output: () => out });
    };
    child.stdout!.on('data', listening);
  });
}

function stop(s: Started): Promise<number | null> {
  return new Promise((resolve) => {
    if (s.child.exitCode !== null) return resolve(s.child.exitCode);
    s.child.once('exit', (code) => resolve(code));
    s.child.kill('SIGTERM');
  });
}

describe('single-file binary', function () {
  this.timeout(60_000);
  let dir: string;
  let binary: string;
  let env: NodeJS.ProcessEnv;
  let key: string;

  before(() => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-binary.js')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-binary-'));
    for (const d of ['run', 'home', 'bin']) fs.mkdirSync(path.join(dir, d));
    binary = path.join(dir, 'run', 'faiss-proxy');
    fs.copyFileSync(path.join(ROOT, 'build-binary', 'faiss-proxy'), binary);
    fs.chmodSync(binary, 0o755);
    // Nothing but what a login shell has: no node on PATH (an empty directory), a home of its own.
    env = { PATH: path.join(dir, 'bin'), HOME: path.join(dir, 'home'), LANG: 'C.UTF-8' };
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('serves from an empty directory without node or node_modules, and keeps its data across a restart', async () => {
    assert.deepEqual(fs.readdirSync(path.join(dir, 'run')), ['faiss-proxy']);
    const first = await start(binary, path.join(dir, 'run'), env);
    try {
      key = /admin API key \(shown once, store it now\): (\S+)/.exec(first.output())![1];
      const call = async (method: string, route: string, body?: unknown, raw?: Buffer) => {
        const res = await fetch(`${first.url}${route}`, {
          method,
          headers: { 'X-API-Key': key, 'Content-Type': raw ? 'application/octet-stream' : 'application/json' },
          body: raw ? new Uint8Array(raw) : body === undefined ? undefined : JSON.stringify(body),
        });
        const type = res.headers.get('content-type') ?? '';
        const value = type.includes('json') ? await res.json() : Buffer.from(await res.arrayBuffer());
        assert.ok(res.ok, `${method} ${route}: ${res.status} ${JSON.stringify(value)}`);
        return value as any;
      };
      await call('POST', '/v1/indexes', { name: 'docs', dimension: 4, type: 'IndexHNSWFlat' });
      await call('POST', '/v1/indexes/docs/add', { vectors: [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2]] });
      assert.deepEqual((await call('POST', '/v1/indexes/docs/search', { vectors: [[0.9, 1, 1, 1]], k: 2 })).labels, [[1, 0]]);
      const file: Buffer = await call('GET', '/v1/indexes/docs/export');
      await call('PUT', '/v1/indexes/copy/import', undefined, file);
      assert.deepEqual((await call('POST', '/v1/indexes/copy/search', { vectors: [[2, 2, 2, 2.1]], k: 1 })).labels, [[2]]);
      await call('POST', '/v1/collections', { name: 'notes', dimension: 2 });
      await call('PUT', '/v1/collections/notes/points', { points: [{ id: 'a', vector: [1, 0], payload: { tag: 'x' } }] });
      const dashboard = await fetch(`${first.url}/dashboard/`);
      assert.equal(dashboard.status, 200);
      assert.match(await dashboard.text(), /<html/);
      const docsPage = await fetch(`${first.url}/docs/`);
      assert.equal(docsPage.status, 200, 'the /docs page (service/docs-page) travels in the binary');
      assert.match(await docsPage.text(), /<html/i);
    } finally {
      assert.equal(await stop(first), 0, first.output());
    }
    const unpacked = fs.readdirSync(path.join(dir, 'home', '.cache', 'faiss-proxy', 'binary'));
    assert.equal(unpacked.length, 1, `one unpacked application: ${unpacked}`);
    const marker = fs.statSync(path.join(dir, 'home', '.cache', 'faiss-proxy', 'binary', unpacked[0], '.complete')).mtimeMs;

    const second = await start(binary, path.join(dir, 'run'), env);
    try {
      const res = await fetch(`${second.url}/v1/indexes/docs/search`, {
        method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ vectors: [[0.9, 1, 1, 1]], k: 2 }),
      });
      assert.deepEqual(((await res.json()) as any).labels, [[1, 0]]);
      const points = await fetch(`${second.url}/v1/collections/notes/points/get`, {
        method: 'POST', headers: { 'X-API-Key': key, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ids: ['a'], withPayload: true }),
      });
      assert.deepEqual(((await points.json()) as any).points.map((p: any) => [p.id, p.payload]), [['a', { tag: 'x' }]]);
    } finally {
      assert.equal(await stop(second), 0, second.output());
    }
    // The second start used the unpacked copy.
    assert.equal(fs.statSync(path.join(dir, 'home', '.cache', 'faiss-proxy', 'binary', unpacked[0], '.complete')).mtimeMs, marker);
  });
});
