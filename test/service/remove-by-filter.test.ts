// removeIds(selector) in all three places: embedded, over HTTP (a JSON `filter`, or
// a binary body that is the filter part) and through the remote client. The
// service resolves the filter to the ids present inside the mutation queue, logs
// those ids, and fingerprints the filter for Idempotency-Key; what it removes is
// what the embedded removeIds(sel) removes from the same index.
/* eslint-disable @typescript-eslint/no-explicit-any */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as faiss from '../../lib';
import { connect } from '../../lib/client';
import { selectorPart } from '../../lib/wire';
import { randomVectors } from '../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';
import { openTestServices, type TestServices } from '../support/services';

const d = 16;
const n = 640;
const xb = randomVectors(n, d, 611);
// Caller ids for the id-keeping kinds: not positions (so a mix-up of the two shows).
const callerIds = BigInt64Array.from({ length: n }, (_, i) => BigInt(1000 + 3 * i));

interface Kind {
  name: string;
  make: () => faiss.Index;
  /** Added with callerIds (IDMap, IVF); else ids are positions. */
  ids: boolean;
  /** The embedded index removes (FAISS's HNSW cannot: the service hides instead, as for ids). */
  embeddedRemoves: boolean;
}

const kinds: Kind[] = [
  { name: 'IndexFlatL2', make: () => new faiss.IndexFlatL2(d), ids: false, embeddedRemoves: true },
  { name: 'IndexScalarQuantizer', make: () => new faiss.IndexScalarQuantizer(d, faiss.ScalarQuantizer.QT_8bit), ids: false, embeddedRemoves: true },
  { name: 'IndexPQ', make: () => new faiss.IndexPQ(d, 8, 4), ids: false, embeddedRemoves: true },
  { name: 'IndexHNSWFlat', make: () => new faiss.IndexHNSWFlat(d, 16), ids: false, embeddedRemoves: false },
  { name: 'IndexIDMap', make: () => new faiss.IndexIDMap(new faiss.IndexFlatL2(d)), ids: true, embeddedRemoves: true },
  { name: 'IndexIDMap2', make: () => new faiss.IndexIDMap2(new faiss.IndexFlatL2(d)), ids: true, embeddedRemoves: true },
  { name: 'IndexIVFFlat', make: () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 8), ids: true, embeddedRemoves: true },
];

// Selectors of every kind, over both id spaces (positions 0..639 and caller ids 1000..2917).
const selectors: [string, () => faiss.IDSelector][] = [
  ['IDSelectorBatch', () => new faiss.IDSelectorBatch([3, 4, 599, 600, -1, 1000, 1003, 2797, 5000])],
  ['IDSelectorArray', () => new faiss.IDSelectorArray([7, 8, 1006, 1009])],
  ['IDSelectorRange', () => new faiss.IDSelectorRange(100, 1300)],
  ['IDSelectorBitmap', () => new faiss.IDSelectorBitmap(Uint8Array.from({ length: 200 }, (_, i) => (i % 5 === 0 ? 0b10010110 : 0)))],
  ['IDSelectorNot', () => new faiss.IDSelectorNot(new faiss.IDSelectorRange(50, 2500))],
  [
    'And / Or / XOr',
    () =>
      new faiss.IDSelectorXOr(
        new faiss.IDSelectorOr(new faiss.IDSelectorRange(0, 40), new faiss.IDSelectorRange(1000, 1100)),
        new faiss.IDSelectorAnd(new faiss.IDSelectorRange(20, 1050), new faiss.IDSelectorNot(new faiss.IDSelectorBatch([25, 1020]))),
      ),
  ],
];

const vectorKey = (x: Float32Array, i: number): string => Buffer.from(x.buffer, x.byteOffset + i * d * 4, d * 4).toString('hex');

/** Ids of the vectors `index` holds: its own ids, or (positional ids, which removal renumbers) the ids `before` had for the same vectors. */
async function idsHeld(index: faiss.Index, before?: Map<string, bigint>): Promise<bigint[]> {
  const { ids, vectors } = await index.extractAll();
  const out = before ? Array.from(ids, (_, i) => before.get(vectorKey(vectors, i))!) : [...ids];
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

describe('removeIds(selector): embedded, HTTP and the remote client', function () {
  this.timeout(180_000);
  let server: ServerProcess;
  let keys: { admin: string; write: string; read: string };
  let remote: ReturnType<typeof connect>;

  before(async () => {
    server = await startServer();
    keys = await makeTenant(server, 'removals');
    remote = connect({ url: server.url, apiKey: keys.write });
  });
  after(async () => {
    await server?.stop();
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
  });

  for (const kind of kinds) {
    it(`${kind.name}: the remote removeIds(sel) removes what the embedded one does, selector by selector`, async () => {
      // One state on both sides (training and HNSW builds vary): built here, imported there.
      const built = kind.make();
      if (!built.isTrained) await built.train(xb);
      if (kind.ids) await built.addWithIds(xb, callerIds);
      else await built.add(xb);
      const bytes = await faiss.serializeIndex(built);
      if (!kind.embeddedRemoves) await assert.rejects(built.removeIds(new faiss.IDSelectorRange(0, 1)), { code: 'ERR_UNSUPPORTED' });
      built.dispose();
      // What the embedded side does; FAISS's HNSW cannot remove, so its oracle is a flat index of the same positions.
      const oracleOf = async (): Promise<faiss.Index> => {
        if (kind.embeddedRemoves) return faiss.deserializeIndex(bytes);
        const flat = new faiss.IndexFlatL2(d);
        await flat.add(xb);
        return flat;
      };
      let total = 0;
      // Each selector on a fresh copy: the embedded removal renumbers positional ids.
      for (const [what, make] of selectors) {
        const oracle = await oracleOf();
        const far = await remote.deserializeIndex(bytes, { name: `k-${kind.name.toLowerCase()}-${total}-${what.length}` });
        try {
          // Positional ids: which vector each id held before the removal renumbered them.
          const all = await oracle.extractAll();
          const before = kind.ids ? undefined : new Map(Array.from(all.ids, (id, i) => [vectorKey(all.vectors, i), id]));
          if (before) assert.equal(before.size, n, 'the vectors are distinct (so they tell the ids apart)');
          const want = await oracle.removeIds(make());
          const got = await far.removeIds(make());
          assert.equal(got, want, `${what}: removed`);
          assert.ok(got > 0 && got < n, `${what} removed ${got} of ${n}`);
          total += got;
          await far.refresh();
          assert.equal(far.ntotal, n - got);
          // Which ids are left: the export rebuilds hidden ones away, keeping every id.
          const exported = await faiss.deserializeIndex(await remote.serializeIndex(far));
          try {
            assert.deepEqual(await idsHeld(exported), await idsHeld(oracle, before), `${what}: the ids left`);
          } finally {
            exported.dispose();
          }
        } finally {
          oracle.dispose();
          far.dispose();
        }
      }
    });
  }

  it('a JSON filter and a binary filter part remove as the remote client does; a removed id stays removed', async () => {
    const api = client(server.url, keys.write);
    for (const name of ['json-f', 'binary-f']) {
      assert.equal((await api.post('/v1/indexes', { name, dimension: d, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await api.post(`/v1/indexes/${name}/add`, { vectors: Array.from({ length: 20 }, (_, i) => Array.from(xb.subarray(i * d, (i + 1) * d))) })).status, 200);
      assert.deepEqual((await api.post(`/v1/indexes/${name}/remove`, { ids: [3] })).json, { removed: 1, ntotal: 19 });
    }
    const filter = { or: [{ idRange: [0, 5] }, { ids: [12, '13', 99] }] };
    const sel = new faiss.IDSelectorOr(new faiss.IDSelectorRange(0, 5), new faiss.IDSelectorBatch([12, 13, 99]));
    const json = await api.post('/v1/indexes/json-f/remove', { filter });
    // 3 was removed already: ids 0, 1, 2, 4, 12 and 13 are.
    assert.deepEqual([json.status, json.json], [200, { removed: 6, ntotal: 13 }]);
    const part = selectorPart(sel);
    const binary = await api.post('/v1/indexes/binary-f/remove?filterBytes=' + part.length, undefined, { body: part });
    assert.deepEqual([binary.status, binary.json], [200, { removed: 6, ntotal: 13 }]);
    const again = await api.post('/v1/indexes/json-f/remove', { filter });
    assert.deepEqual(again.json, { removed: 0, ntotal: 13 });
    const r = await api.post('/v1/indexes/json-f/search', { vectors: [Array.from(xb.subarray(0, d))], k: 20 });
    assert.deepEqual(new Set(r.json.labels[0]), new Set([5, 6, 7, 8, 9, 10, 11, 14, 15, 16, 17, 18, 19, -1]));
  });

  it('bad requests are 400s with a JSON body, before anything is removed', async () => {
    const api = client(server.url, keys.write);
    assert.equal((await api.post('/v1/indexes', { name: 'bad-f', dimension: d, type: 'IndexFlatL2' })).status, 201);
    await api.post('/v1/indexes/bad-f/add', { vectors: [Array.from(xb.subarray(0, d))] });
    const part = selectorPart(new faiss.IDSelectorRange(0, 10));
    const ids = new Uint8Array(BigInt64Array.of(0n).buffer);
    const cases: [string, () => Promise<any>][] = [
      ['ids and filter', () => api.post('/v1/indexes/bad-f/remove', { ids: [0], filter: { ids: [0] } })],
      ['neither', () => api.post('/v1/indexes/bad-f/remove', {})],
      ['an unknown filter key', () => api.post('/v1/indexes/bad-f/remove', { filter: { idz: [0] } })],
      ['idRange min > max', () => api.post('/v1/indexes/bad-f/remove', { filter: { idRange: [5, 1] } })],
      ['filterBytes short of the body (ids and a filter)', () => api.post(`/v1/indexes/bad-f/remove?filterBytes=${part.length}`, undefined, { body: Buffer.concat([ids, part]) })],
      ['a malformed filter part', () => api.post('/v1/indexes/bad-f/remove?filterBytes=8', undefined, { body: new Uint8Array(8).fill(0xff) })],
      ['filterBytes in a JSON request', () => api.post('/v1/indexes/bad-f/remove?filterBytes=8', { filter: { ids: [0] } })],
    ];
    for (const [what, run] of cases) {
      const r = await run();
      assert.equal(r.status, 400, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.ok(typeof r.json?.error?.code === 'string', what);
    }
    assert.equal((await api.get('/v1/indexes/bad-f')).json.ntotal, 1);
  });

  it('a binary index removes by ids only, as embedded: a filter is 422 ERR_UNSUPPORTED', async () => {
    const api = client(server.url, keys.write);
    assert.equal((await api.post('/v1/indexes', { name: 'bits-f', dimension: 64, factory: 'BIVF2' })).status, 201);
    const codes = Uint8Array.from({ length: 40 * 8 }, (_, i) => (i * 37) & 0xff);
    assert.equal((await api.post('/v1/indexes/bits-f/train', undefined, { body: codes })).status, 200);
    assert.equal((await api.post('/v1/indexes/bits-f/add', undefined, { body: codes })).status, 200);
    const r = await api.post('/v1/indexes/bits-f/remove', { filter: { idRange: [0, 10] } });
    assert.equal(r.status, 422, JSON.stringify(r.json));
    assert.equal(r.json.error.code, 'ERR_UNSUPPORTED');
    assert.equal((await api.get('/v1/indexes/bits-f')).json.ntotal, 40);
  });
});

describe('service: a remove by filter is one mutation (queue, log, idempotency)', function () {
  this.timeout(60_000);
  let s: TestServices;
  beforeEach(async () => {
    s = await openTestServices({ fsync: false });
    await s.indexes.create('t', { name: 'i', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
    await s.indexes.add('t', 'i', randomVectors(10, d, 1), BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i)));
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('is resolved in its turn: an add queued before it is seen, one after it is not', async () => {
    await s.indexes.create('t', { name: 'graph', dimension: d, type: 'IndexHNSWFlat', params: { M: 16 } });
    await s.indexes.add('t', 'graph', randomVectors(10, d, 2));
    // HNSW's add is slow enough to still run when the remove arrives behind it.
    const slowAdd = s.indexes.add('t', 'graph', randomVectors(3000, d, 3));
    await new Promise((r) => setImmediate(r));
    const removed = s.indexes.remove('t', 'graph', new faiss.IDSelectorRange(0, 1_000_000));
    const later = s.indexes.add('t', 'graph', randomVectors(5, d, 4));
    await slowAdd;
    assert.equal((await removed).removed, 3010);
    assert.deepEqual(await later, { added: 5, ntotal: 5, firstId: 3010 });
  });

  for (const via of ['the log', 'a snapshot']) {
    it(`logs the ids it removed and fingerprints the filter for a retry, through ${via}`, async () => {
      const sel = () => new faiss.IDSelectorRange(2, 5);
      assert.deepEqual(await s.indexes.remove('t', 'i', sel(), 'k1'), { removed: 3, ntotal: 7 });
      // The same key: the same filter is a retry, another filter or ids another request.
      assert.deepEqual(await s.indexes.remove('t', 'i', sel(), 'k1'), { removed: 3, ntotal: 7 });
      await assert.rejects(s.indexes.remove('t', 'i', new faiss.IDSelectorRange(2, 6), 'k1'), { code: 'ERR_IDEMPOTENCY_MISMATCH' });
      await assert.rejects(s.indexes.remove('t', 'i', BigInt64Array.of(2n, 3n, 4n), 'k1'), { code: 'ERR_IDEMPOTENCY_MISMATCH' });
      // Ids added after it in the range: a replay of the filter would remove them too; the log's ids do not.
      await s.indexes.add('t', 'i', randomVectors(2, d, 5), BigInt64Array.of(3n, 4n));
      if (via === 'a snapshot') await s.indexes.snapshotAll();
      // As a crash leaves the files (closing would snapshot): the log's tail is replayed.
      const crashed = `${s.config.dataDir}-crashed`;
      fs.cpSync(s.config.dataDir, crashed, { recursive: true });
      await s.cleanup();
      s = await openTestServices({ fsync: false }, crashed);
      assert.equal((await s.indexes.describe('t', 'i')).ntotal, 9);
      assert.equal((await s.indexes.reconstruct('t', 'i', [3n, 4n])).length, 2 * d);
      await assert.rejects(s.indexes.reconstruct('t', 'i', [2n]), { code: 'ERR_NOT_FOUND' });
      assert.deepEqual(await s.indexes.remove('t', 'i', sel(), 'k1'), { removed: 3, ntotal: 9 });
      await assert.rejects(s.indexes.remove('t', 'i', new faiss.IDSelectorRange(2, 6), 'k1'), { code: 'ERR_IDEMPOTENCY_MISMATCH' });
      assert.equal((await s.indexes.describe('t', 'i')).ntotal, 9);
    });
  }
});
