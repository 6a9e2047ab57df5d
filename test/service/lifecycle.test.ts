// Black-box lifecycle of every index type over HTTP, in both wire formats, plus
// restart and graceful shutdown, against a real server process.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { randomVectors, row } from '../support/data';
import { call, client, makeTenant, startServer, type ServerProcess } from '../support/server';

const d = 8;
const xb = randomVectors(1000, d, 101);
const xq = randomVectors(5, d, 102);
const rows = (x: Float32Array): number[][] => Array.from({ length: x.length / d }, (_, i) => Array.from(row(x, d, i)));
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

interface Kind {
  name: string;
  create: Record<string, unknown>;
  type: string;
  canRange: boolean;
  search?: Record<string, number>;
}

const kinds: Kind[] = [
  { name: 'flat-l2', create: { type: 'IndexFlatL2' }, type: 'IndexFlatL2', canRange: true },
  { name: 'flat-ip', create: { type: 'IndexFlatIP' }, type: 'IndexFlatIP', canRange: true },
  { name: 'ivf-flat', create: { type: 'IndexIVFFlat', params: { nlist: 8, nprobe: 2 } }, type: 'IndexIVFFlat', canRange: true, search: { nprobe: 8 } },
  { name: 'ivf-pq', create: { type: 'IndexIVFPQ', params: { nlist: 8, m: 4, nbits: 4 } }, type: 'IndexIVFPQ', canRange: true, search: { nprobe: 4 } },
  { name: 'hnsw', create: { type: 'IndexHNSWFlat', params: { M: 8, efSearch: 32 } }, type: 'IndexHNSWFlat', canRange: false, search: { efSearch: 64 } },
  { name: 'pq', create: { type: 'IndexPQ', params: { m: 4, nbits: 4 } }, type: 'IndexPQ', canRange: false },
  { name: 'sq', create: { type: 'IndexScalarQuantizer', params: { qtype: 'SQ8' } }, type: 'IndexScalarQuantizer', canRange: false },
  { name: 'factory-ivf-sq', create: { factory: 'IVF8,SQ8', metric: 'L2' }, type: 'IndexIVFScalarQuantizer', canRange: true },
  { name: 'idmap-flat', create: { type: 'IndexFlatL2', params: { idMap: true } }, type: 'IndexIDMap2', canRange: true },
  // FAISS's other metrics (flat and HNSW-flat): FAISS range-searches none of them.
  { name: 'factory-flat-l1', create: { factory: 'Flat', metric: 'L1' }, type: 'IndexFlat', canRange: false },
  { name: 'hnsw-canberra', create: { type: 'IndexHNSWFlat', metric: 'Canberra', params: { M: 8 } }, type: 'IndexHNSWFlat', canRange: false },
];

describe('service: index lifecycle over HTTP', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  let api: ReturnType<typeof client>;

  before(async () => {
    s = await startServer();
    api = client(s.url, (await makeTenant(s, 'acme')).write);
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  async function finish(name: string): Promise<void> {
    const reset = await api.post(`/v1/indexes/${name}/reset`);
    assert.equal(reset.status, 200);
    assert.equal(reset.json.ntotal, 0);
    assert.equal((await api.del(`/v1/indexes/${name}`)).status, 204);
    await api.del(`/v1/indexes/${name}-copy`);
    assert.equal((await api.get(`/v1/indexes/${name}`)).status, 404);
  }

  for (const kind of kinds) {
    it(`${kind.name}: create, train, add, search (JSON and binary), range, reconstruct, remove, export/import, reset, delete`, async () => {
      const name = kind.name;
      const created = await api.post('/v1/indexes', { name, dimension: d, ...kind.create });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.equal(created.json.type, kind.type);
      if (!created.json.isTrained) {
        const trained = await api.post(`/v1/indexes/${name}/train`, undefined, { body: bytes(xb) });
        assert.equal(trained.status, 200, JSON.stringify(trained.json));
        assert.equal(trained.json.isTrained, true);
      }
      const idMapped = kind.name.startsWith('idmap');
      const ids = Array.from({ length: 1000 }, (_, i) => 5000 + i);
      // Half the vectors as JSON, half as binary.
      const jsonHalf = idMapped
        ? await api.post(`/v1/indexes/${name}/add`, { vectors: rows(xb.subarray(0, 500 * d)), ids: ids.slice(0, 500) })
        : await api.post(`/v1/indexes/${name}/add`, { vectors: rows(xb.subarray(0, 500 * d)) });
      assert.equal(jsonHalf.status, 200, JSON.stringify(jsonHalf.json));
      const binHalf = idMapped
        ? await api.post(`/v1/indexes/${name}/add?ids=true`, undefined, {
            body: Buffer.concat([bytes(xb.subarray(500 * d)), bytes(BigInt64Array.from(ids.slice(500), BigInt))]),
          })
        : await api.post(`/v1/indexes/${name}/add`, undefined, { body: bytes(xb.subarray(500 * d)) });
      assert.equal(binHalf.status, 200, JSON.stringify(binHalf.json));
      // The service says which ids it gave (consecutive from firstId), or null for caller ids.
      assert.deepEqual(binHalf.json, { added: 500, ntotal: 1000, firstId: idMapped ? null : 500 });

      const described = await api.get(`/v1/indexes/${name}`);
      assert.equal(described.json.ntotal, 1000);
      assert.ok(described.json.bytes > 0);

      // JSON search and binary search give the same answer.
      const params = kind.search ?? {};
      const js = await api.post(`/v1/indexes/${name}/search`, { vectors: rows(xq), k: 4, ...params });
      assert.equal(js.status, 200, JSON.stringify(js.json));
      const qs = new URLSearchParams({ k: '4', ...Object.fromEntries(Object.entries(params).map(([k, v]) => [k, String(v)])) });
      const bin = await api.post(`/v1/indexes/${name}/search?${qs}`, undefined, { body: bytes(xq), headers: { Accept: 'application/octet-stream' } });
      assert.equal(bin.status, 200);
      assert.equal(bin.headers.get('x-faiss-nq'), '5');
      const buf = new Uint8Array(bin.bytes).buffer;
      const distances = new Float32Array(buf, 0, 20);
      const labels = new BigInt64Array(buf, 80, 20);
      assert.deepEqual(js.json.labels.flat(), Array.from(labels, Number));
      assert.deepEqual(js.json.distances.flat(), Array.from(distances));
      // A stored vector finds itself (L2: inner product favours long vectors instead).
      if (kind.create.type !== 'IndexFlatIP') {
        const self = await api.post(`/v1/indexes/${name}/search`, { vectors: [Array.from(row(xb, d, 7))], k: 1, ...params });
        assert.equal(self.json.labels[0][0], idMapped ? 5007 : 7);
      }

      const range = await api.post(`/v1/indexes/${name}/range_search`, { vectors: rows(xq), radius: 0.5 });
      if (kind.canRange) {
        assert.equal(range.status, 200, JSON.stringify(range.json));
        assert.equal(range.json.results.length, 5);
      } else {
        assert.equal(range.status, 422);
        assert.equal(range.json.error.code, 'ERR_UNSUPPORTED');
      }

      if (kind.name === 'flat-l2' || idMapped) {
        const rec = await api.post(`/v1/indexes/${name}/reconstruct`, { ids: [idMapped ? 5003 : 3] });
        assert.equal(rec.status, 200, JSON.stringify(rec.json));
        assert.deepEqual(rec.json.vectors[0], Array.from(row(xb, d, 3)));
      }

      const exported = await api.get(`/v1/indexes/${name}/export`);
      assert.equal(exported.status, 200);
      const imported = await api.put(`/v1/indexes/${name}-copy/import`, { body: exported.bytes });
      assert.equal(imported.status, 201, JSON.stringify(imported.json));
      assert.equal(imported.json.ntotal, 1000);
      const again = await api.post(`/v1/indexes/${name}-copy/search`, { vectors: rows(xq), k: 4, ...params });
      assert.deepEqual(again.json.labels, js.json.labels);

      const removed = await api.post(`/v1/indexes/${name}/remove`, { ids: idMapped ? [5000, 5001] : [0, 1] });
      assert.equal(removed.status, 200, JSON.stringify(removed.json));
      assert.deepEqual(removed.json, { removed: 2, ntotal: 998 });
      // Every type removes: the removed ids never come back in an answer.
      const gone = await api.post(`/v1/indexes/${name}/search`, { vectors: [Array.from(row(xb, d, 0)), Array.from(row(xb, d, 1))], k: 10, ...params });
      const removedIds = idMapped ? [5000, 5001] : [0, 1];
      for (const l of gone.json.labels.flat()) assert.ok(!removedIds.includes(l), `removed id ${l} returned`);

      await finish(name);
    });
  }

  it('/healthz answers while a long batch search runs (FAISS work is off the event loop)', async () => {
    await api.post('/v1/indexes', { name: 'busy', dimension: 64, type: 'IndexFlatL2' });
    await api.post('/v1/indexes/busy/add', undefined, { body: bytes(randomVectors(100_000, 64, 9)) });
    let searchDone = false;
    const search = api.post('/v1/indexes/busy/search?k=10', undefined, { body: bytes(randomVectors(3000, 64, 10)) }).then((r) => {
      searchDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 30));
    const health = await call(s.url, 'GET', '/healthz');
    assert.equal(health.status, 200);
    assert.equal(searchDone, false, 'the health check answered before the search finished');
    assert.equal((await search).status, 200);
    await api.del('/v1/indexes/busy');
  });

  it('lists the tenant\'s indexes', async () => {
    await api.post('/v1/indexes', { name: 'listed', dimension: d, type: 'IndexFlatL2' });
    const list = await api.get('/v1/indexes');
    assert.deepEqual(list.json.indexes.map((i: { name: string }) => i.name), ['listed']);
  });
});

describe('service: restart and shutdown', function () {
  this.timeout(120_000);

  it('keeps tenants, keys and indexes across a restart', async () => {
    let s = await startServer();
    const keys = await makeTenant(s, 'durable');
    let api = client(s.url, keys.write);
    await api.post('/v1/indexes', { name: 'v', dimension: d, type: 'IndexHNSWFlat', params: { M: 8 } });
    await api.post('/v1/indexes/v/add', undefined, { body: bytes(xb) });
    const before = await api.post('/v1/indexes/v/search', { vectors: rows(xq), k: 5 });
    await api.post('/v1/indexes', { name: 'l1', dimension: d, factory: 'Flat', metric: 'BrayCurtis' });
    await api.post('/v1/indexes/l1/add', undefined, { body: bytes(xb) });
    const beforeL1 = await api.post('/v1/indexes/l1/search', { vectors: rows(xq), k: 5 });
    assert.equal(await s.stop('SIGTERM'), 0);

    s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey });
    try {
      api = client(s.url, keys.write);
      const described = await api.get('/v1/indexes/v');
      assert.equal(described.status, 200, 'the write key still works and the index is there');
      assert.equal(described.json.ntotal, 1000);
      assert.deepEqual((await api.post('/v1/indexes/v/search', { vectors: rows(xq), k: 5 })).json, before.json);
      assert.equal((await api.get('/v1/indexes/l1')).json.metric, 'BrayCurtis');
      assert.deepEqual((await api.post('/v1/indexes/l1/search', { vectors: rows(xq), k: 5 })).json, beforeL1.json);
    } finally {
      await s.stop();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });

  it('on SIGTERM finishes the request in flight, saves the index and exits 0', async () => {
    const s = await startServer();
    try {
      const api = client(s.url, (await makeTenant(s, 'grace')).write);
      await api.post('/v1/indexes', { name: 'big', dimension: 64, type: 'IndexFlatL2' });
      assert.equal((await api.post('/v1/indexes/big/add', undefined, { body: bytes(randomVectors(100_000, 64, 7)) })).status, 200);
      // A batch search that takes a while, then SIGTERM while it runs.
      const pending = api.post('/v1/indexes/big/search?k=10', undefined, { body: bytes(randomVectors(2000, 64, 8)) });
      await new Promise((r) => setTimeout(r, 50));
      s.proc.kill('SIGTERM');
      const answer = await pending;
      assert.equal(answer.status, 200);
      assert.equal(answer.json.labels.length, 2000);
      assert.equal(await s.stop(), 0);
      assert.match(s.output(), /stopped/);
      const again = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey });
      try {
        const keys = await call(again.url, 'GET', '/v1/admin/tenants/grace', { key: again.adminKey });
        assert.equal(keys.status, 200);
        assert.equal(keys.json.usage.vectors, 100_000, `the add acknowledged before shutdown was saved; server said: ${s.output()}`);
      } finally {
        await again.stop();
      }
    } finally {
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });
});
