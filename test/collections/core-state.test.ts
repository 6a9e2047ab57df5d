// CollectionState (lib/collections/collection-state.ts): filtered search equals
// brute force over the filtered subset on Flat, keeps its recall on HNSW and IVF,
// and has k hits whenever k points match; upsert replaces, delete removes, scroll
// pages through every point once in id order, a snapshot restores to the same
// answers, the same ops give the same state, and searches never see an op half done.
import { strict as assert } from 'node:assert';
import { FaissError, deserializeIndex, getNumThreads, serializeIndex, setNumThreads } from '../../lib';
import { CollectionState, type CollectionOp } from '../../lib/collections/collection-state';
import { parseFilter } from '../../lib/collections/filter';
import type { Hit, Payload } from '../../lib/collections/types';
import { randomVectors, rng } from '../support/data';

const read = { withPayload: true, withVector: false };
const code = (c: string) => (e: unknown) => e instanceof FaissError && e.code === c;

function l2(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += (a[j] - b[j]) * (a[j] - b[j]);
  return s;
}
function ip(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j] * b[j];
  return s;
}

/** The exact k nearest among `ids` (by the metric's order), from the vectors as given. */
function bruteForce(q: Float32Array, ids: string[], vectors: Map<string, Float32Array>, k: number, metric: 'l2' | 'ip'): { id: string; score: number }[] {
  const scored = ids.map((id) => ({ id, score: metric === 'l2' ? l2(q, vectors.get(id)!) : ip(q, vectors.get(id)!) }));
  scored.sort((a, b) => (metric === 'l2' ? a.score - b.score : b.score - a.score));
  return scored.slice(0, k);
}

function upsertOp(ids: string[], x: Float32Array, payloads: (Payload | null)[]): CollectionOp {
  return { type: 'upsert', ids, x, payloads };
}

const bucketPayloads = (n: number) => Array.from({ length: n }, (_, i) => ({ bucket: i % 1000, parity: i % 2 === 0 ? 'even' : 'odd' }));
// 0.1%, 1% and 50% of the points, by a payload condition.
const SELECTIVITIES: [string, unknown, (i: number) => boolean][] = [
  ['0.1%', { must: [{ key: 'bucket', match: { value: 7 } }] }, (i) => i % 1000 === 7],
  ['1%', { must: [{ key: 'bucket', range: { gte: 100, lt: 110 } }] }, (i) => i % 1000 >= 100 && i % 1000 < 110],
  ['50%', { must_not: [{ key: 'parity', match: { value: 'odd' } }] }, (i) => i % 2 === 0],
];

describe('collections core: CollectionState search', () => {
  for (const metric of ['l2', 'ip'] as const) {
    it(`Flat (${metric}): every filtered search is brute force over the filtered subset, ids and scores`, async () => {
      const n = 2000;
      const d = 8;
      const x = randomVectors(n, d, 3);
      const ids = Array.from({ length: n }, (_, i) => `id-${i}`);
      const vectors = new Map(ids.map((id, i) => [id, x.subarray(i * d, (i + 1) * d)]));
      const s = CollectionState.create({ name: 'flat', dimension: d, metric, payloadIndexes: { bucket: 'integer' } });
      await s.apply(upsertOp(ids, x, bucketPayloads(n)));
      const queries = randomVectors(5, d, 4);
      for (const [name, filter, keep] of [...SELECTIVITIES, ['all', undefined, () => true] as const]) {
        const subset = ids.filter((_, i) => keep(i));
        const results = await s.search(queries, 5, 10, { ...read, ...(filter ? { filter: parseFilter(filter) } : {}) });
        results.forEach((hits, qi) => {
          const expected = bruteForce(queries.subarray(qi * d, (qi + 1) * d), subset, vectors, 10, metric);
          assert.deepEqual(hits.map((h) => h.id), expected.map((e) => e.id), `${name} query ${qi}`);
          hits.forEach((h, j) => assert.ok(Math.abs(h.score - expected[j].score) < 1e-4, `${h.score} vs ${expected[j].score}`));
          for (const h of hits) assert.equal((h.payload as { bucket: number }).bucket, Number(h.id.slice(3)) % 1000);
        });
      }
      s.dispose();
    });
  }

  for (const factory of ['Flat', 'HNSW32', 'IVF32,Flat', 'PQ4', 'IVF16,SQ8'] as const) {
    it(`${factory}: k hits whenever k match (0.1%, 1%, 50% of 10,000), and recall against the exact filtered answer`, async () => {
      const n = 10_000;
      const d = 16;
      const x = randomVectors(n, d, 5);
      const ids = Array.from({ length: n }, (_, i) => `id-${i}`);
      const vectors = new Map(ids.map((id, i) => [id, x.subarray(i * d, (i + 1) * d)]));
      const s = CollectionState.create({ name: 'c', dimension: d, factory, payloadIndexes: { parity: 'keyword' } });
      if (!s.info().isTrained) await s.apply({ type: 'train', x });
      await s.apply(upsertOp(ids, x, bucketPayloads(n)));
      const nq = 20;
      const queries = randomVectors(nq, d, 6);
      const knobs = factory === 'HNSW32' ? { efSearch: 64 } : factory.startsWith('IVF') ? { nprobe: 8 } : {};
      const recallOf = (results: Hit[][], subset: string[]) => {
        let found = 0;
        results.forEach((hits, qi) => {
          const truth = new Set(bruteForce(queries.subarray(qi * d, (qi + 1) * d), subset, vectors, 10, 'l2').map((e) => e.id));
          found += hits.filter((h) => truth.has(h.id)).length;
        });
        return found / (10 * nq);
      };
      const unfiltered = recallOf(await s.search(queries, nq, 10, { ...read, ...knobs }), ids);
      for (const [name, filter, keep] of SELECTIVITIES) {
        const subset = ids.filter((_, i) => keep(i));
        const results = await s.search(queries, nq, 10, { ...read, ...knobs, filter: parseFilter(filter) });
        for (const hits of results) {
          assert.equal(hits.length, 10, `${name}: ${hits.length} hits`);
          for (const h of hits) assert.ok(keep(Number(h.id.slice(3))), `${name}: ${h.id} does not match`);
        }
        const recall = recallOf(results, subset);
        assert.ok(recall >= 0.95 * unfiltered - 0.02, `${name}: recall ${recall} against ${unfiltered} unfiltered`);
      }
      // More asked than match: every matching point, and no other.
      const few = await s.search(queries.subarray(0, d), 1, 50, { ...read, ...knobs, filter: parseFilter(SELECTIVITIES[0][1]) });
      assert.equal(few[0].length, 10);
      s.dispose();
    });
  }

  it('nothing matches: no hits, no search; an empty collection: no hits', async () => {
    const s = CollectionState.create({ name: 'e', dimension: 2 });
    assert.deepEqual(await s.search(new Float32Array(2), 1, 3, read), [[]]);
    await s.apply(upsertOp(['a'], new Float32Array([1, 1]), [{ t: 1 }]));
    assert.deepEqual(await s.search(new Float32Array(2), 1, 3, { ...read, filter: parseFilter({ must: [{ key: 't', match: { value: 2 } }] }) }), [[]]);
    s.dispose();
  });
});

describe('collections core: CollectionState points', () => {
  it('upsert replaces an id\'s vector and payload; the old vector is no longer found', async () => {
    for (const factory of ['Flat', 'HNSW16', 'IVF4,Flat']) {
      const s = CollectionState.create({ name: 'u', dimension: 2, factory });
      if (!s.info().isTrained) await s.apply({ type: 'train', x: randomVectors(200, 2, 9) });
      await s.apply(upsertOp(['a', 'b'], new Float32Array([0, 0, 10, 10]), [{ v: 1 }, null]));
      await s.apply(upsertOp(['a'], new Float32Array([20, 20]), [{ v: 2 }]));
      assert.equal(s.count(), 2);
      const [near0] = await s.search(new Float32Array([0, 0]), 1, 2, { ...read, ...(factory.startsWith('IVF') ? { nprobe: 4 } : {}) });
      assert.deepEqual(near0.map((h) => h.id), ['b', 'a'], factory);
      assert.deepEqual(near0[1].payload, { v: 2 });
      assert.deepEqual(await s.get(['a', 'zz', 'b'], { withPayload: true, withVector: true }), [
        { id: 'a', payload: { v: 2 }, vector: new Float32Array([20, 20]) },
        { id: 'b', payload: null, vector: new Float32Array([10, 10]) },
      ]);
      s.dispose();
    }
  });

  it('a filter\'s kept answer follows every op (upsert, delete, payload index)', async () => {
    const s = CollectionState.create({ name: 'k', dimension: 1 });
    const f = parseFilter({ must: [{ key: 'c', match: { value: 'red' } }] });
    const search = async () => (await s.search(new Float32Array([0]), 1, 10, { ...read, filter: f }))[0].map((h) => h.id);
    await s.apply(upsertOp(['a', 'b'], new Float32Array([1, 2]), [{ c: 'red' }, { c: 'blue' }]));
    assert.deepEqual(await search(), ['a']);
    await s.apply(upsertOp(['b'], new Float32Array([2]), [{ c: 'red' }]));
    assert.deepEqual(await search(), ['a', 'b']);
    assert.equal(s.count(f), 2);
    await s.apply({ type: 'delete', ids: ['a'] });
    assert.deepEqual(await search(), ['b']);
    await s.apply({ type: 'createPayloadIndex', field: 'c', schema: 'keyword' });
    await s.apply(upsertOp(['c'], new Float32Array([3]), [{ c: ['red'] }]));
    assert.deepEqual(await search(), ['b', 'c']);
    assert.deepEqual(s.matchingIds(f), ['b', 'c']);
    s.dispose();
  });

  it('a filter searched again and again stays kept among many filters searched once (least recently used goes first)', async () => {
    const s = CollectionState.create({ name: 'lru', dimension: 1 });
    await s.apply(upsertOp(['a', 'b'], new Float32Array([1, 2]), [{ c: 0 }, { c: 1 }]));
    const indexes = (s as unknown as { payloadIndexes: { evaluate: (...a: unknown[]) => unknown } }).payloadIndexes;
    const evaluate = indexes.evaluate.bind(indexes);
    let evaluations = 0;
    indexes.evaluate = (...a: unknown[]) => {
      evaluations++;
      return evaluate(...a);
    };
    const hot = parseFilter({ must: [{ key: 'c', match: { value: 0 } }] });
    assert.equal(s.count(hot), 1);
    // 100 filters searched once each (more than the kept answers), the hot one between each two.
    for (let i = 0; i < 100; i++) {
      assert.equal(s.count(parseFilter({ must: [{ key: 'c', range: { gte: i + 2 } }] })), 0);
      assert.equal(s.count(hot), 1);
    }
    assert.equal(evaluations, 101, 'the hot filter was evaluated once, each other filter once');
    s.dispose();
  });

  it('one upsert with a repeated id keeps the last; payloads are copies', async () => {
    const s = CollectionState.create({ name: 'r', dimension: 1 });
    const payload = { v: 1 };
    await s.apply(upsertOp(['a', 'b', 'a'], new Float32Array([1, 2, 3]), [payload, null, { v: 3 }]));
    payload.v = 99;
    assert.deepEqual(await s.get(['a'], { withPayload: true, withVector: true }), [{ id: 'a', payload: { v: 3 }, vector: new Float32Array([3]) }]);
    const [got] = await s.get(['a'], read);
    (got.payload as { v: number }).v = 7;
    assert.deepEqual((await s.get(['a'], read))[0].payload, { v: 3 });
    s.dispose();
  });

  it('delete removes points from search, get, count and scroll; unknown ids count nothing', async () => {
    for (const factory of ['Flat', 'HNSW16']) {
      const s = CollectionState.create({ name: 'd', dimension: 2, factory });
      await s.apply(upsertOp(['a', 'b', 'c'], new Float32Array([0, 0, 1, 1, 2, 2]), [null, null, null]));
      assert.deepEqual(await s.apply({ type: 'delete', ids: ['a', 'a', 'zz'] }), { deleted: 1 });
      assert.equal(s.count(), 2);
      assert.deepEqual((await s.search(new Float32Array(2), 1, 3, read))[0].map((h) => h.id), ['b', 'c']);
      assert.deepEqual(await s.get(['a'], read), []);
      assert.deepEqual((await s.scroll({ ...read, limit: 10, offset: null })).points.map((p) => p.id), ['b', 'c']);
      s.dispose();
    }
  });

  it('an IVF collection refuses upserts before it is trained (ERR_NOT_TRAINED), and training once it holds points', async () => {
    const s = CollectionState.create({ name: 'i', dimension: 4, factory: 'IVF4,Flat' });
    const x = randomVectors(100, 4, 1);
    await assert.rejects(s.apply(upsertOp(['a'], x.subarray(0, 4), [null])), code('ERR_NOT_TRAINED'));
    assert.equal(s.count(), 0);
    await s.apply({ type: 'train', x });
    await s.apply(upsertOp(['a'], x.subarray(0, 4), [null]));
    await assert.rejects(s.apply({ type: 'train', x }), code('ERR_INVALID_ARGUMENT'));
    await assert.rejects(s.apply({ type: 'train', x: x.subarray(0, 3) }), code('ERR_DIMENSION'));
    s.dispose();
  });

  it('an op that fails leaves nothing: a wrong vector length, a payload that is not an object', async () => {
    const s = CollectionState.create({ name: 'f', dimension: 2 });
    await s.apply(upsertOp(['a'], new Float32Array([1, 1]), [{ v: 1 }]));
    const before = Buffer.from(s.serializePoints());
    await assert.rejects(s.apply(upsertOp(['a', 'b'], new Float32Array(3), [null, null])), code('ERR_DIMENSION'));
    await assert.rejects(s.apply(upsertOp(['a', 'b'], new Float32Array(4), [null, 5 as never])), code('ERR_INVALID_ARGUMENT'));
    assert.deepEqual(Buffer.from(s.serializePoints()), before);
    assert.equal(s.index.ntotal, 1);
    s.dispose();
  });

  it('scroll pages through every point once, in id order, with and without a filter', async () => {
    const next = rng(7);
    const ids = Array.from({ length: 257 }, (_, i) => `k${Math.floor(next() * 1e6)}-${i}`);
    const s = CollectionState.create({ name: 's', dimension: 1 });
    await s.apply(upsertOp(ids, new Float32Array(ids.length), ids.map((_, i) => ({ odd: i % 2 === 1 }))));
    for (const [filter, keep] of [
      [undefined, () => true],
      [{ must: [{ key: 'odd', match: { value: true } }] }, (i: number) => i % 2 === 1],
    ] as const) {
      const expected = ids.filter((_, i) => keep(i)).sort();
      for (const limit of [1, 10, 100, 10_000]) {
        const seen: string[] = [];
        let offset: string | null = null;
        for (;;) {
          const page: { points: { id: string }[]; nextOffset: string | null } = await s.scroll({ withPayload: false, withVector: false, limit, offset, ...(filter ? { filter: parseFilter(filter) } : {}) });
          assert.ok(page.points.length <= limit);
          seen.push(...page.points.map((p) => p.id));
          if (page.nextOffset === null) break;
          assert.equal(page.nextOffset, expected[seen.length], 'nextOffset is the first id of the next page');
          offset = page.nextOffset;
        }
        assert.deepEqual(seen, expected, `limit ${limit}`);
      }
    }
    const mid = [...ids].sort()[100];
    assert.equal((await s.scroll({ ...read, limit: 1, offset: mid })).points[0].id, mid, 'the offset is inclusive');
    assert.equal((await s.scroll({ ...read, limit: 1, offset: `${mid}!` })).points[0].id, [...ids].sort()[101], 'an offset between ids starts at the next');
    s.dispose();
  });
});

// A seeded mix of upserts (new ids and replacements), deletes and payload index changes.
function randomOps(seed: number, d: number, count: number): CollectionOp[] {
  const next = rng(seed);
  const ops: CollectionOp[] = [];
  for (let t = 0; t < count; t++) {
    const r = next();
    if (r < 0.65) {
      const n = 1 + Math.floor(next() * 40);
      const ids = Array.from({ length: n }, () => `p${Math.floor(next() * 300)}`);
      ops.push({ type: 'upsert', ids, x: randomVectors(n, d, Math.floor(next() * 1e9)), payloads: ids.map(() => ({ g: Math.floor(next() * 5), s: next() < 0.5 ? 'x' : 'y' })) });
    } else if (r < 0.9) {
      ops.push({ type: 'delete', ids: Array.from({ length: 1 + Math.floor(next() * 20) }, () => `p${Math.floor(next() * 300)}`) });
    } else if (r < 0.95) {
      ops.push({ type: 'createPayloadIndex', field: 'g', schema: 'integer' });
    } else {
      ops.push({ type: 'createPayloadIndex', field: 's', schema: 'keyword' });
    }
  }
  return ops;
}

async function answers(s: CollectionState, d: number): Promise<unknown> {
  const q = randomVectors(8, d, 77);
  const out: unknown[] = [];
  for (const filter of [undefined, { must: [{ key: 'g', range: { lt: 2 } }] }, { must: [{ key: 's', match: { value: 'x' } }], must_not: [{ key: 'g', match: { value: 0 } }] }]) {
    const f = filter ? parseFilter(filter) : undefined;
    out.push(await s.search(q, 8, 5, { withPayload: true, withVector: false, ...(f ? { filter: f } : {}) }), s.count(f), await s.scroll({ withPayload: true, withVector: false, limit: 10_000, offset: null, ...(f ? { filter: f } : {}) }));
  }
  return out;
}

describe('collections core: determinism and snapshots', () => {
  for (const factory of ['Flat', 'HNSW16', 'IVF8,Flat']) {
    it(`${factory}: the same ops on two states give the same labels and answers; a snapshot restores them`, async () => {
      // FAISS inserts into an HNSW graph from several threads, in an order that varies: one thread builds the same graph.
      const threads = getNumThreads();
      if (factory.startsWith('HNSW')) setNumThreads(1);
      try {
        await replayAndRestore(factory);
      } finally {
        setNumThreads(threads);
      }
    });
  }

  async function replayAndRestore(factory: string): Promise<void> {
    {
      const d = 8;
      const make = async () => {
        const s = CollectionState.create({ name: 'det', dimension: d, factory });
        if (!s.info().isTrained) await s.apply({ type: 'train', x: randomVectors(500, d, 1) });
        return s;
      };
      const [a, b] = [await make(), await make()];
      for (const op of randomOps(11, d, 60)) {
        assert.deepEqual(await a.apply(op), await b.apply(op));
      }
      assert.deepEqual(Buffer.from(a.serializePoints()), Buffer.from(b.serializePoints()), 'same labels, payloads, hidden labels');
      assert.deepEqual(await answers(a, d), await answers(b, d));
      const snap = await a.snapshot((index) => serializeIndex(index));
      const restored = CollectionState.restore({ name: 'det', dimension: d, factory }, await deserializeIndex(snap.index, { trusted: true }), snap.points);
      assert.deepEqual(restored.info(), a.info());
      assert.deepEqual(await answers(restored, d), await answers(a, d));
      // And it goes on as the original does.
      for (const op of randomOps(12, d, 20)) assert.deepEqual(await restored.apply(op), await a.apply(op));
      assert.deepEqual(await answers(restored, d), await answers(a, d));
      assert.deepEqual(Buffer.from(restored.serializePoints()), Buffer.from(a.serializePoints()));
      for (const s of [a, b, restored]) s.dispose();
    }
  }

  it('restore refuses points that do not fit the index, or damaged ones (ERR_CORRUPT_INDEX)', async () => {
    const s = CollectionState.create({ name: 'x', dimension: 2 });
    await s.apply(upsertOp(['a', 'b'], new Float32Array(4), [null, { v: 1 }]));
    const points = Buffer.from(s.serializePoints());
    const empty = CollectionState.create({ name: 'x', dimension: 2 });
    for (const bad of [
      Buffer.from(empty.serializePoints()), // 0 points for an index of 2
      points.subarray(0, points.length - 3),
      Buffer.from(points.toString().replace('"a"', '"b"')), // a repeated id
      Buffer.from(points.toString().replace('faiss-proxy', 'other')),
      Buffer.from(points.toString().replace('"nextLabel":2', '"nextLabel":1')),
    ]) {
      const index = await deserializeIndex(await serializeIndex(s.index), { trusted: true });
      assert.throws(() => CollectionState.restore({ name: 'x', dimension: 2 }, index, bad), code('ERR_CORRUPT_INDEX'));
      index.dispose();
    }
    s.dispose();
    empty.dispose();
  });
});

describe('collections core: searches and ops do not interleave', () => {
  it('searches running while upserts replace every point always map k live points', async () => {
    for (const factory of ['Flat', 'HNSW16']) {
      const d = 4;
      const n = 500;
      const ids = Array.from({ length: n }, (_, i) => `p${i}`);
      const s = CollectionState.create({ name: 'rw', dimension: d, factory });
      await s.apply(upsertOp(ids, randomVectors(n, d, 1), ids.map(() => null)));
      const q = randomVectors(1, d, 2);
      const search = () =>
        s.search(q, 1, 10, read).then(([hits]) => {
          assert.equal(hits.length, 10, `${factory}: ${hits.length} hits`);
          // One search sees one state: every hit's payload is of the same round.
          assert.equal(new Set(hits.map((h) => JSON.stringify(h.payload))).size, 1);
        });
      for (let round = 0; round < 15; round++) {
        // Searches started before the upsert, while it runs, and after it was queued.
        const work: Promise<unknown>[] = [search()];
        work.push(s.apply(upsertOp(ids, randomVectors(n, d, 100 + round), ids.map(() => ({ round })))));
        for (let j = 0; j < 3; j++) {
          await new Promise((resolve) => setImmediate(resolve));
          work.push(search());
        }
        await Promise.all(work);
      }
      s.dispose();
    }
  });

  it('a disposed state refuses every call (ERR_DISPOSED)', async () => {
    const s = CollectionState.create({ name: 'z', dimension: 1 });
    s.dispose();
    assert.throws(() => s.count(), code('ERR_DISPOSED'));
    assert.throws(() => s.apply({ type: 'delete', ids: [] }), code('ERR_DISPOSED'));
  });
});
