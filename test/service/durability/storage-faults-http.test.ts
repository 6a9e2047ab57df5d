// Storage faults as a client and an operator see them, against a real server
// (issue 13, faults 1 and 6): a storage fault is a 503 with an ERR_STORAGE_*
// code, never a 500, a 400 or an acknowledged write that is then lost;
// readiness is false while storage is broken and true again once it heals; a
// SIGTERM whose final snapshot fails exits 1; a SIGKILL during an import never
// leaves the catalog and the index files disagreeing.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexFlatL2, serializeIndex } from '../../../lib';
import { randomVectors } from '../../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../../support/server';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rows = (n: number, d: number, seed: number) => {
  const x = randomVectors(n, d, seed);
  return Array.from({ length: n }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
};

async function flatIndexBytes(n: number, d: number): Promise<Uint8Array> {
  const index = new IndexFlatL2(d);
  await index.add(randomVectors(n, d, 3));
  const bytes = await serializeIndex(index);
  index.dispose();
  return bytes;
}

describe('durability: storage faults over HTTP', function () {
  this.timeout(180_000);
  let s: ServerProcess | undefined;
  afterEach(async () => {
    await s?.stop('SIGKILL');
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
    s = undefined;
  });

  it('data directory deleted under the server: writes are 503 ERR_STORAGE_FAILED (none acknowledged), /readyz is 503, SIGTERM exits 1', async () => {
    s = await startServer();
    const keys = await makeTenant(s, 'acme');
    const api = client(s.url, keys.admin);
    const admin = client(s.url, s.adminKey);
    assert.equal((await api.post('/v1/indexes', { name: 'a', dimension: 4, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api.post('/v1/indexes/a/add', { vectors: rows(2, 4, 1) })).status, 200);
    // An index with writes only in its log, for the shutdown to save.
    assert.equal((await api.post('/v1/indexes', { name: 'keep', dimension: 4, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api.post('/v1/indexes/keep/add', { vectors: rows(2, 4, 3) })).status, 200);
    assert.equal((await client(s.url).get('/readyz')).status, 200);

    fs.rmSync(s.dataDir, { recursive: true, force: true });
    const answers = {
      create: await api.post('/v1/indexes', { name: 'b', dimension: 4, type: 'IndexFlatL2' }),
      import: await api.put('/v1/indexes/c/import', { body: await flatIndexBytes(5, 4) }),
      add: await api.post('/v1/indexes/a/add', { vectors: rows(1, 4, 2) }),
      tenant: await admin.post('/v1/admin/tenants', { name: 'other' }),
      key: await admin.post('/v1/admin/tenants/acme/keys', { role: 'read' }),
    };
    for (const [what, r] of Object.entries(answers)) {
      assert.equal(r.status, 503, `${what}: ${r.status} ${JSON.stringify(r.json)}\n${s.output()}`);
      assert.match(r.json.error.code, /^ERR_STORAGE_/, what);
    }
    const ready = await client(s.url).get('/readyz');
    assert.equal(ready.status, 503, 'readiness is false while storage is broken');
    // The operator sees it: metrics and the dashboard's overview.
    const metrics = (await admin.get('/metrics')).bytes.toString();
    assert.match(metrics, /^faiss_proxy_storage_healthy 0$/m);
    assert.ok(Number(/^faiss_proxy_storage_faults_total (\d+)$/m.exec(metrics)?.[1]) >= 5, 'every failed write counted');
    const overview = await admin.get('/v1/admin/overview');
    assert.match(overview.json.storage.fault.message, /deleted or replaced|ENOENT/);
    assert.equal(await s.stop('SIGTERM'), 1, `the final snapshot failed, so the exit status says so:\n${s.output()}`);
  });

  describe('on a full disk (a small tmpfs)', () => {
    let mount: string | undefined;
    before(function () {
      mount = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-full-disk-'));
      try {
        execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=12m', 'tmpfs', mount], { stdio: 'ignore' });
      } catch {
        fs.rmSync(mount, { recursive: true, force: true });
        mount = undefined;
        this.skip(); // mounting needs root (CI runs as root); test/durability/crash-points injects the same faults without it
      }
    });
    after(() => {
      if (!mount) return;
      try {
        execFileSync('umount', [mount], { stdio: 'ignore' });
      } finally {
        fs.rmSync(mount, { recursive: true, force: true });
      }
    });

    it('an import is 503 ERR_STORAGE_FAILED (not 400 ERR_FAISS), adds are 503, /readyz is 503; with room again all of it heals', async () => {
      const dataDir = path.join(mount!, 'data');
      s = await startServer({ dataDir });
      const keys = await makeTenant(s, 'acme');
      const api = client(s.url, keys.write);
      assert.equal((await api.post('/v1/indexes', { name: 'a', dimension: 4, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await api.post('/v1/indexes/a/add', { vectors: rows(3, 4, 1) })).status, 200);
      const bytes = await flatIndexBytes(4000, 128); // 2 MB
      // Fill the disk.
      const filler = path.join(mount!, 'filler');
      const fd = fs.openSync(filler, 'w');
      try {
        for (const chunk = Buffer.alloc(1 << 16, 1); ; ) fs.writeSync(fd, chunk);
      } catch (e) {
        assert.equal((e as NodeJS.ErrnoException).code, 'ENOSPC');
      } finally {
        fs.closeSync(fd);
      }
      const imported = await api.put('/v1/indexes/a/import', { body: bytes });
      assert.equal(imported.status, 503, JSON.stringify(imported.json));
      assert.equal(imported.json.error.code, 'ERR_STORAGE_FAILED');
      assert.match(imported.json.error.message, /ENOSPC|No space left on device/);
      const created = await api.put('/v1/indexes/b/import', { body: bytes });
      assert.equal(created.status, 503, JSON.stringify(created.json));
      // A log append fills the last page cache page... until it cannot: keep adding until the disk says no.
      let add;
      for (let i = 0; i < 200; i++) {
        add = await api.post('/v1/indexes/a/add', { vectors: rows(64, 4, 10 + i) });
        if (add.status !== 200) break;
      }
      assert.equal(add!.status, 503, JSON.stringify(add!.json));
      assert.equal(add!.json.error.code, 'ERR_STORAGE_FAILED');
      assert.equal((await client(s.url).get('/readyz')).status, 503);

      fs.rmSync(filler);
      await sleep(1100); // the health probe runs at most once a second
      assert.equal((await client(s.url).get('/readyz')).status, 200, 'readiness comes back once the disk has room');
      const after = await api.post('/v1/indexes/a/add', { vectors: rows(1, 4, 99) });
      assert.equal(after.status, 200, JSON.stringify(after.json));
      const described = await api.get('/v1/indexes/a');
      assert.equal(described.json.dimension, 4, 'the failed import changed nothing');
      const ntotal = described.json.ntotal as number;
      assert.equal((await api.put('/v1/indexes/a/import', { body: bytes })).status, 200);
      assert.equal(await s.stop('SIGTERM'), 0);
      s = await startServer({ dataDir, adminKey: s.adminKey });
      const again = await client(s.url, keys.write).get('/v1/indexes/a');
      assert.deepEqual([again.json.dimension, again.json.ntotal], [128, 4000]);
      assert.ok(ntotal > 3);
    });
  });

  it('SIGKILL while an import writes its snapshot: after restart the catalog and the files agree (old index or new, whole)', async () => {
    const bytes = await flatIndexBytes(40_000, 128); // 20 MB
    for (let trial = 0; trial < 2; trial++) {
      s = await startServer();
      const keys = await makeTenant(s, 'acme');
      const api = client(s.url, keys.write);
      assert.equal((await api.post('/v1/indexes', { name: 'a', dimension: 4, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await api.post('/v1/indexes/a/add', { vectors: rows(3, 4, 1) })).status, 200);
      const server = s;
      // Kill the server the moment the new snapshot's temporary file appears.
      const watcher = fs.watch(path.join(s.dataDir, 'indexes'), (_event, name) => {
        if (name?.endsWith('.tmp')) server.proc.kill('SIGKILL');
      });
      const imported = await api.put('/v1/indexes/a/import', { body: bytes }).catch(() => undefined);
      watcher.close();
      await s.stop('SIGKILL');
      assert.equal(imported, undefined, 'the server died during the import');
      s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey });
      const api2 = client(s.url, keys.write);
      const { dimension, ntotal } = (await api2.get('/v1/indexes/a')).json;
      assert.ok((dimension === 4 && ntotal === 3) || (dimension === 128 && ntotal === 40_000), `catalog and files disagree: dimension ${dimension}, ntotal ${ntotal}`);
      const q = rows(1, dimension, 5);
      const found = await api2.post('/v1/indexes/a/search', { vectors: q, k: 5 });
      assert.equal(found.status, 200);
      assert.equal(found.json.labels[0].filter((l: number) => l >= 0).length, Math.min(5, ntotal));
      await s.stop('SIGKILL');
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
    s = undefined;
  });
});
