// Dynamic batching: concurrent searches of one index are answered by fewer FAISS
// calls, with the same answers as one search at a time.
import { strict as assert } from 'node:assert';
import { randomVectors, row } from '../support/data';
import type { CreateIndexSpec } from '../../service/domain/index-spec';
import { openTestServices, type TestServices } from '../support/services';
import { SearchScheduler } from '../../service/domain/search-scheduler';
import { IndexFlatIP, IndexFlatL2, IndexHNSWFlat, IndexIDMap, IndexIDMap2, deserializeIndex, indexFactory, serializeIndex } from '../../lib';

const d = 32;

describe('search batching', function () {
  this.timeout(60_000);
  let s: TestServices;
  afterEach(async () => s.cleanup());

  // Brute-force indexes batch; graph and inverted-file indexes search one call per
  // request (native/index_type.cc, gainsFromBatching, says why). Answers are the same either way.
  const specs: [Omit<CreateIndexSpec, 'name' | 'dimension'>, boolean][] = [
    [{ type: 'IndexFlatL2' }, true],
    [{ factory: 'IDMap,Flat', metric: 'IP' }, true],
    [{ type: 'IndexHNSWFlat', params: { M: 16, efSearch: 64 } }, false],
    [{ type: 'IndexIVFFlat', params: { nlist: 16, nprobe: 4 } }, false],
  ];
  for (const [spec, batches] of specs) {
    const what = spec.type ?? spec.factory;
    it(`${what}: 64 concurrent searches give the answers of 64 single ones, ${batches ? 'in fewer FAISS calls' : 'one FAISS call each'}`, async () => {
      s = await openTestServices();
      const xb = randomVectors(5000, d, 11);
      await s.indexes.create('t', { name: 'b', dimension: d, ...spec });
      if (!(await s.indexes.describe('t', 'b')).isTrained) await s.indexes.train('t', 'b', xb);
      if (spec.factory?.startsWith('IDMap')) await s.indexes.add('t', 'b', xb, BigInt64Array.from({ length: 5000 }, (_, i) => BigInt(i * 7)));
      else await s.indexes.add('t', 'b', xb);
      const queries = randomVectors(64, d, 12);
      const alone = [];
      for (let i = 0; i < 64; i++) alone.push(await s.indexes.search('t', 'b', row(queries, d, i), 5));
      const before = s.indexes.searchStats();
      const together = await Promise.all(Array.from({ length: 64 }, (_, i) => s.indexes.search('t', 'b', row(queries, d, i), 5)));
      const after = s.indexes.searchStats();
      assert.equal(after.searches - before.searches, 64);
      if (batches) assert.ok(after.batches - before.batches < 64 / 4, `${after.batches - before.batches} FAISS calls for 64 searches`);
      else assert.equal(after.batches - before.batches, 64);
      for (let i = 0; i < 64; i++) {
        assert.deepEqual(together[i].labels, alone[i].labels, `query ${i}`);
        for (let j = 0; j < 5; j++) assert.ok(Math.abs(together[i].distances[j] - alone[i].distances[j]) <= 1e-4 * Math.max(1, Math.abs(alone[i].distances[j])));
      }
    });
  }

  it('batchable: Flat and IDMap over Flat, however built, and read back from their bytes; nothing else', async () => {
    const flat = (): IndexFlatL2 => new IndexFlatL2(d);
    const built: [string, () => { batchable: boolean; dispose(): void }, boolean][] = [
      ['IndexFlatL2', flat, true],
      ['IndexFlatIP', () => new IndexFlatIP(d), true],
      ['IndexIDMap over IndexFlatL2', () => new IndexIDMap(flat()), true],
      ['IndexIDMap2 over IndexFlatL2', () => new IndexIDMap2(flat()), true],
      ['IndexHNSWFlat', () => new IndexHNSWFlat(d, 8), false],
    ];
    for (const f of ['Flat', 'IDMap,Flat', 'IDMap2,Flat']) built.push([f, () => indexFactory(d, f), true]);
    for (const f of ['HNSW32', 'IVF16,Flat', 'IVF16,PQ8', 'PQ8', 'SQ8', 'IDMap,HNSW32', 'PCA16,Flat', 'LSH']) built.push([f, () => indexFactory(d, f), false]);
    for (const [what, make, expected] of built) {
      const index = make();
      assert.equal(index.batchable, expected, what);
      if (!what.startsWith('IVF') && !what.startsWith('PCA')) {
        // What an import reads: the same fact from the file's bytes.
        const copy = await deserializeIndex(await serializeIndex(index as never), { trusted: true });
        assert.equal(copy.batchable, expected, `${what}, read back`);
        copy.dispose();
      }
      index.dispose();
      assert.equal(index.batchable, expected, `${what}, after dispose`);
    }
  });

  it('an import that changes the index type changes whether its searches batch', async () => {
    s = await openTestServices();
    await s.indexes.create('t', { name: 'r', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('t', 'r', randomVectors(2000, d, 1));
    const concurrent = async () => {
      const before = s.indexes.searchStats();
      await Promise.all(Array.from({ length: 32 }, (_, i) => s.indexes.search('t', 'r', randomVectors(1, d, 100 + i), 3)));
      const after = s.indexes.searchStats();
      return after.batches - before.batches;
    };
    assert.ok((await concurrent()) < 32);
    const hnsw = new IndexHNSWFlat(d, 8);
    await hnsw.add(randomVectors(2000, d, 2));
    await s.indexes.importIndex('t', 'r', await serializeIndex(hnsw));
    hnsw.dispose();
    assert.equal(await concurrent(), 32);
  });

  it('an imported IDMap over a flat index batches: the FAISS type decides, not the name it was made under', async () => {
    s = await openTestServices();
    const mapped = new IndexIDMap2(new IndexFlatL2(d));
    await mapped.addWithIds(randomVectors(2000, d, 3), BigInt64Array.from({ length: 2000 }, (_, i) => BigInt(i * 3)));
    await s.indexes.importIndex('t', 'm2', await serializeIndex(mapped));
    mapped.dispose();
    const before = s.indexes.searchStats();
    const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => s.indexes.search('t', 'm2', randomVectors(1, d, 200 + i), 3)));
    const after = s.indexes.searchStats();
    assert.ok(after.batches - before.batches < 32, `${after.batches - before.batches} FAISS calls for 32 searches`);
    for (const a of answers) for (const label of a.labels) assert.equal(label % 3n, 0n);
  });

  it('searches with different k or tunables are not mixed', async () => {
    s = await openTestServices();
    await s.indexes.create('t', { name: 'm', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('t', 'm', randomVectors(1000, d, 1));
    const q = randomVectors(1, d, 2);
    const [a, b] = await Promise.all([s.indexes.search('t', 'm', q, 3), s.indexes.search('t', 'm', q, 7)]);
    assert.equal(a.labels.length, 3);
    assert.equal(b.labels.length, 7);
    assert.deepEqual(Array.from(b.labels.subarray(0, 3)), Array.from(a.labels));
  });

  it('a bad query in a batch fails alone', async () => {
    s = await openTestServices();
    await s.indexes.create('t', { name: 'e', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('t', 'e', randomVectors(1000, d, 1));
    const bad = new Float32Array(d).fill(NaN);
    const results = await Promise.allSettled([
      s.indexes.search('t', 'e', randomVectors(1, d, 3), 2),
      s.indexes.search('t', 'e', randomVectors(1, d, 4), 2),
      s.indexes.search('t', 'e', bad, 2),
      s.indexes.search('t', 'e', randomVectors(1, d, 5), 2),
    ]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
  });

  it('batching off (--batching false) makes one FAISS call per search', async () => {
    s = await openTestServices({ batching: false });
    await s.indexes.create('t', { name: 'o', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('t', 'o', randomVectors(500, d, 1));
    await Promise.all(Array.from({ length: 10 }, (_, i) => s.indexes.search('t', 'o', randomVectors(1, d, i), 1)));
    assert.deepEqual(s.indexes.searchStats(), { searches: 10, batches: 10 });
  });
});

// The batcher's policy, with a stand-in for FAISS.
describe('search scheduler batching policy', () => {
  const dim = 2;
  const turns = async (n: number) => {
    for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
  };
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  // A batchable stand-in for an index, searched through the scheduler.
  const makeBatcher = (maxWaitMs: number, sizes: number[], faiss: () => Promise<unknown>) => {
    const scheduler = new SearchScheduler({ batching: true, maxWaitMs });
    const target = {
      d: dim,
      batchable: true,
      search: async (x: Float32Array, k: number) => {
        sizes.push(x.length / dim);
        await faiss();
        return { distances: new Float32Array((x.length / dim) * k), labels: new BigInt64Array((x.length / dim) * k), version: 1 };
      },
    };
    return { search: (x: Float32Array, k: number) => scheduler.search(target, x, k) };
  };

  it('concurrent closed-loop clients are gathered into one batch, not two alternating cohorts', async function () {
    this.timeout(30_000);
    const sizes: number[] = [];
    // A slow index (a batch takes 100 ms, so the window is as long) and clients that
    // come back a few event-loop turns after their answer (the HTTP round trip).
    const b = makeBatcher(60_000, sizes, () => sleep(100));
    const clients = 32;
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        await turns(c % 7);
        for (let i = 0; i < 12; i++) {
          await b.search(new Float32Array(dim), 1);
          await turns(1 + (c % 3));
        }
      }),
    );
    assert.equal(sizes.reduce((a, x) => a + x, 0), clients * 12);
    // Without gathering the batches alternate (e.g. 31 1 31 1 or 21 11 21 11); with
    // it every batch after the first two holds every client (a stall of the machine
    // longer than the window may split one).
    const steady = sizes.slice(2);
    const full = steady.filter((n) => n === clients).length;
    assert.ok(full >= steady.length * 0.8, `batch sizes ${sizes.join(' ')}`);
  });

  it('a lone client never waits for a gathering window', async () => {
    const sizes: number[] = [];
    // With a window this long, any gathering would outlast mocha's timeout.
    const b = makeBatcher(600_000, sizes, () => sleep(20));
    for (let i = 0; i < 20; i++) await b.search(new Float32Array(dim), 1);
    assert.deepEqual(sizes, new Array(20).fill(1));
  });

  for (const [what, faiss] of [
    ['a fast index (sub-millisecond window)', () => turns(20)],
    ['a slow index (timer window)', () => sleep(40)],
  ] as const) {
    it(`the window ends a gathering when clients do not come back: ${what}`, async () => {
      const sizes: number[] = [];
      // maxWaitMs is far longer than mocha's timeout: only the batch-time rule ends it.
      const b = makeBatcher(600_000, sizes, faiss);
      await Promise.all(Array.from({ length: 8 }, () => b.search(new Float32Array(dim), 1)));
      // Only one of the eight clients searches again: it must not wait for the other seven.
      await b.search(new Float32Array(dim), 1);
      assert.deepEqual(sizes, [1, 7, 1]);
    });
  }
});
