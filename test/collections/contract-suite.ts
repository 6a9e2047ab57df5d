// The contract every CollectionsApi meets (lib/collections/types.ts): the
// embedded collections in memory and on disk (embedded.test.ts) and the remote
// client over HTTP run these same tests. Backend-neutral: it sees only the
// CollectionsApi, and makes its own collection and alias names (unique per
// test), so one backend may serve the whole suite.
import { strict as assert } from 'node:assert';
import type { Collection, CollectionsApi, Hit, Payload, Point, PointInput } from '../../lib/collections/types';

export interface ContractBackend {
  api: CollectionsApi;
  /** The payload limit the backend was opened with (bytes of a payload's JSON). */
  maxPayloadBytes: number;
  close(): Promise<void>;
}

const d = 4;

/** Ten points on a line: p<i> at (i, 0, 0, 0), so the nearest to the origin come in id order. */
function payloadOf(i: number): Payload {
  const p: Payload = {
    source: i % 2 === 0 ? 'wiki' : 'web',
    n: i,
    date: new Date(Date.UTC(2026, 0, 1 + i)).toISOString(),
    tags: [`t${i % 3}`, 'all'],
    meta: { lang: i < 5 ? 'en' : 'fr' },
  };
  if (i === 3) p.note = null;
  if (i === 4) p.tags = [];
  return p;
}

const points = (ids = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]): PointInput[] =>
  ids.map((i) => ({ id: `p${i}`, vector: [i, 0, 0, 0], payload: payloadOf(i) }));

const idsOf = (xs: readonly (Point | Hit)[]): string[] => xs.map((x) => x.id);
const sorted = (xs: string[]): string[] => [...xs].sort();

async function rejectsWith(p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    const err = e as { name?: string; code?: string; message?: string };
    assert.equal(err.name, 'FaissError', `a FaissError, not ${String(e)}`);
    assert.equal(err.code, code, `code ${code}, not ${err.code}: ${err.message}`);
    if (message) assert.match(err.message ?? '', message);
    return true;
  });
}

export function registerContractSuite(title: string, open: () => Promise<ContractBackend>): void {
  describe(`collections contract: ${title}`, function () {
    this.timeout(60_000);
    let backend: ContractBackend;
    let api: CollectionsApi;
    const run = Math.random().toString(36).slice(2, 8);
    let counter = 0;
    /** A name no other test (or run) uses. */
    const fresh = (what = 'c'): string => `${what}-${run}-${++counter}`;

    before(async () => {
      backend = await open();
      api = backend.api;
    });
    after(async () => {
      await backend?.close();
    });

    async function filled(spec: { factory?: string; metric?: 'l2' | 'ip'; payloadIndexes?: Record<string, 'keyword' | 'integer' | 'float' | 'bool' | 'datetime'> } = {}): Promise<Collection> {
      const c = await api.createCollection({ name: fresh(), dimension: d, ...spec });
      assert.deepEqual(await c.upsert(points()), { upserted: 10 });
      return c;
    }

    describe('collections', () => {
      it('createCollection gives a handle; info tells its spec, with the defaults', async () => {
        const name = fresh();
        const c = await api.createCollection({ name, dimension: d });
        assert.equal(c.name, name);
        assert.deepEqual(await c.info(), { name, dimension: d, factory: 'Flat', metric: 'l2', count: 0, isTrained: true, payloadIndexes: {} });
        const c2 = await api.createCollection({ name: fresh(), dimension: 8, factory: 'HNSW16', metric: 'ip', payloadIndexes: { source: 'keyword' } });
        const info = await c2.info();
        assert.equal(info.factory, 'HNSW16');
        assert.equal(info.metric, 'ip');
        assert.deepEqual(info.payloadIndexes, { source: 'keyword' });
      });

      it('listCollections lists them; collection(name) is a handle on one', async () => {
        const a = fresh();
        const b = fresh();
        await api.createCollection({ name: a, dimension: d });
        await api.createCollection({ name: b, dimension: 2 });
        const listed = (await api.listCollections()).filter((i) => i.name === a || i.name === b);
        assert.deepEqual(listed.map((i) => [i.name, i.dimension]).sort(), [[a, d], [b, 2]]);
        assert.equal((await api.collection(b).info()).dimension, 2);
      });

      it('a name taken by a collection is refused with ERR_COLLECTION_EXISTS, and the first one is untouched', async () => {
        const c = await filled();
        await rejectsWith(api.createCollection({ name: c.name, dimension: 8 }), 'ERR_COLLECTION_EXISTS');
        assert.equal((await c.info()).dimension, d);
        assert.equal(await c.count(), 10);
      });

      for (const [what, spec] of [
        ['a dimension of 0', { dimension: 0 }],
        ['a fractional dimension', { dimension: 2.5 }],
        ['an unknown metric', { dimension: d, metric: 'cosine' }],
        ['a factory string FAISS does not know', { dimension: d, factory: 'NoSuchIndex' }],
        ['an unknown payload index type', { dimension: d, payloadIndexes: { a: 'text' } }],
      ] as const) {
        it(`a spec with ${what} is refused with ERR_INVALID_ARGUMENT and creates nothing`, async () => {
          const name = fresh();
          await rejectsWith(api.createCollection({ name, ...spec } as never), 'ERR_INVALID_ARGUMENT');
          assert.ok(!(await api.listCollections()).some((i) => i.name === name));
          await rejectsWith(api.collection(name).info(), 'ERR_COLLECTION_NOT_FOUND');
        });
      }

      for (const name of ['', 'has space', 'a/b', '../x', 'x'.repeat(65)]) {
        it(`the collection name ${JSON.stringify(name.length > 20 ? `${name.slice(0, 10)}…` : name)} is refused with ERR_INVALID_ARGUMENT`, async () => {
          await rejectsWith(api.createCollection({ name, dimension: d }), 'ERR_INVALID_ARGUMENT');
        });
      }

      it('deleteCollection deletes it: its handle and its name find nothing, and the name can be used again', async () => {
        const c = await filled();
        await api.deleteCollection(c.name);
        await rejectsWith(c.count(), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.search([0, 0, 0, 0], 1), 'ERR_COLLECTION_NOT_FOUND');
        assert.ok(!(await api.listCollections()).some((i) => i.name === c.name));
        const again = await api.createCollection({ name: c.name, dimension: 2 });
        assert.equal(await again.count(), 0, 'a new collection, not the old points');
      });

      it('a missing collection is ERR_COLLECTION_NOT_FOUND for every call', async () => {
        const c = api.collection(fresh());
        await rejectsWith(api.deleteCollection(c.name), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.info(), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.upsert(points([1])), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.get(['p1']), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.delete(['p1']), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.count(), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.scroll(), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.search([0, 0, 0, 0], 1), 'ERR_COLLECTION_NOT_FOUND');
        await rejectsWith(c.createPayloadIndex('n', 'integer'), 'ERR_COLLECTION_NOT_FOUND');
      });
    });

    describe('points', () => {
      it('upsert then get: payloads and vectors come back as stored, in the order asked, missing ids left out', async () => {
        const c = await filled();
        const got = await c.get(['p7', 'nope', 'p2'], { withVector: true });
        assert.deepEqual(idsOf(got), ['p7', 'p2']);
        assert.deepEqual(got[0].payload, payloadOf(7));
        assert.ok(got[0].vector instanceof Float32Array);
        assert.deepEqual(Array.from(got[0].vector!), [7, 0, 0, 0]);
        assert.deepEqual(Array.from(got[1].vector!), [2, 0, 0, 0]);
        const bare = await c.get(['p1'], { withPayload: false });
        assert.equal(bare[0].payload, undefined);
        assert.equal(bare[0].vector, undefined);
      });

      it('a Float32Array vector and a point without a payload are taken (payload null)', async () => {
        const c = await api.createCollection({ name: fresh(), dimension: d });
        await c.upsert([{ id: 'a', vector: new Float32Array([1, 2, 3, 4]) }, { id: 'b', vector: [0, 0, 0, 1], payload: null }]);
        const got = await c.get(['a', 'b'], { withVector: true });
        assert.deepEqual(got.map((p) => p.payload), [null, null]);
        assert.deepEqual(Array.from(got[0].vector!), [1, 2, 3, 4]);
      });

      it('upsert of an existing id replaces its vector and payload (count unchanged, searches see the new vector)', async () => {
        const c = await filled();
        await c.upsert([{ id: 'p9', vector: [0.5, 0, 0, 0], payload: { replaced: true } }]);
        assert.equal(await c.count(), 10);
        const [p9] = await c.get(['p9'], { withVector: true });
        assert.deepEqual(p9.payload, { replaced: true });
        assert.deepEqual(Array.from(p9.vector!), [0.5, 0, 0, 0]);
        const hits = await c.search([0, 0, 0, 0], 3);
        assert.deepEqual(idsOf(hits), ['p0', 'p9', 'p1']);
        assert.equal(await c.count({ filter: { must: [{ key: 'n', match: { value: 9 } }] } }), 0, 'the old payload is gone from filters');
      });

      it('a batch that names an id twice keeps the last one', async () => {
        const c = await api.createCollection({ name: fresh(), dimension: d });
        await c.upsert([
          { id: 'x', vector: [1, 1, 1, 1], payload: { v: 1 } },
          { id: 'x', vector: [2, 2, 2, 2], payload: { v: 2 } },
        ]);
        assert.equal(await c.count(), 1);
        const [x] = await c.get(['x'], { withVector: true });
        assert.deepEqual(x.payload, { v: 2 });
        assert.deepEqual(Array.from(x.vector!), [2, 2, 2, 2]);
      });

      it('ids are any UTF-8 string of 1 to 256 bytes', async () => {
        const c = await api.createCollection({ name: fresh(), dimension: d });
        const ids = ['é'.repeat(128), 'x'.repeat(256), '日本語 id/with?odd#chars', '0'];
        await c.upsert(ids.map((id) => ({ id, vector: [1, 0, 0, 0] })));
        assert.deepEqual(idsOf(await c.get(ids)), ids);
      });

      it('delete(ids) deletes those that exist and says how many', async () => {
        const c = await filled();
        assert.deepEqual(await c.delete(['p1', 'p2', 'nope']), { deleted: 2 });
        assert.equal(await c.count(), 8);
        assert.deepEqual(await c.get(['p1', 'p2']), []);
        assert.ok(!idsOf(await c.search([1, 0, 0, 0], 10)).includes('p1'));
      });

      it('delete({ filter }) deletes the matching points', async () => {
        const c = await filled();
        assert.deepEqual(await c.delete({ filter: { must: [{ key: 'source', match: { value: 'web' } }] } }), { deleted: 5 });
        assert.deepEqual(sorted(idsOf((await c.scroll()).points)), ['p0', 'p2', 'p4', 'p6', 'p8']);
        assert.deepEqual(await c.delete({ filter: { must: [{ key: 'source', match: { value: 'web' } }] } }), { deleted: 0 });
      });

      it('count, with and without a filter', async () => {
        const c = await filled();
        assert.equal(await c.count(), 10);
        assert.equal(await c.count({ filter: { must: [{ key: 'n', range: { gte: 7 } }] } }), 3);
      });

      it('scroll pages through the points in id order; nextOffset is null at the end', async () => {
        const c = await filled();
        const seen: string[] = [];
        let offset: string | null = null;
        let pages = 0;
        do {
          const page: { points: Point[]; nextOffset: string | null } = await c.scroll({ limit: 3, offset });
          assert.ok(page.points.length <= 3);
          seen.push(...idsOf(page.points));
          offset = page.nextOffset;
          pages++;
        } while (offset !== null && pages < 10);
        assert.deepEqual(seen, sorted(seen));
        assert.deepEqual(sorted(seen), sorted(points().map((p) => p.id)));
        const filteredPage = await c.scroll({ filter: { must: [{ key: 'meta.lang', match: { value: 'fr' } }] }, withPayload: false });
        assert.deepEqual(idsOf(filteredPage.points), ['p5', 'p6', 'p7', 'p8', 'p9']);
        assert.equal(filteredPage.nextOffset, null);
        assert.equal(filteredPage.points[0].payload, undefined);
      });
    });

    describe('search', () => {
      it('the k nearest, nearest first, with their payloads (and vectors when asked)', async () => {
        const c = await filled();
        const hits = await c.search([2.1, 0, 0, 0], 3, { withVector: true });
        assert.deepEqual(idsOf(hits), ['p2', 'p3', 'p1']);
        assert.ok(Math.abs(hits[0].score - 0.01) < 1e-4, `squared L2 ${hits[0].score}`);
        assert.deepEqual(hits[0].payload, payloadOf(2));
        assert.deepEqual(Array.from(hits[0].vector!), [2, 0, 0, 0]);
        const bare = await c.search(new Float32Array([2.1, 0, 0, 0]), 1, { withPayload: false });
        assert.deepEqual(idsOf(bare), ['p2']);
        assert.equal(bare[0].payload, undefined);
      });

      it('searchBatch answers each query', async () => {
        const c = await filled();
        const rows = await c.searchBatch([[0, 0, 0, 0], [9, 0, 0, 0]], 2);
        assert.deepEqual(rows.map(idsOf), [['p0', 'p1'], ['p9', 'p8']]);
        const flat = await c.searchBatch(new Float32Array([5, 0, 0, 0, 5.9, 0, 0, 0]), 1);
        assert.deepEqual(flat.map(idsOf), [['p5'], ['p6']]);
      });

      it('a filtered search gives the nearest matching points: k whenever k match, all of them when fewer do', async () => {
        const c = await filled();
        const fr = { must: [{ key: 'meta.lang', match: { value: 'fr' } }] };
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 3, { filter: fr })), ['p5', 'p6', 'p7']);
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 8, { filter: fr })), ['p5', 'p6', 'p7', 'p8', 'p9']);
        assert.deepEqual(await c.search([0, 0, 0, 0], 3, { filter: { must: [{ key: 'n', match: { value: 100 } }] } }), []);
      });

      it('an inner-product collection ranks the largest score first', async () => {
        const c = await filled({ metric: 'ip' });
        const hits = await c.search([1, 0, 0, 0], 2);
        assert.deepEqual(idsOf(hits), ['p9', 'p8']);
        assert.equal(hits[0].score, 9);
      });

      it('an HNSW collection finds its points, filtered too', async () => {
        const c = await filled({ factory: 'HNSW8' });
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 2)), ['p0', 'p1']);
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 2, { filter: { must: [{ key: 'source', match: { value: 'web' } }] }, efSearch: 16 })), ['p1', 'p3']);
      });

      it('an IVF collection takes points once trained (ERR_NOT_TRAINED before), and searches with nprobe', async () => {
        const c = await api.createCollection({ name: fresh(), dimension: d, factory: 'IVF2,Flat' });
        assert.equal((await c.info()).isTrained, false);
        await rejectsWith(c.upsert(points([1])), 'ERR_NOT_TRAINED');
        assert.equal(await c.count(), 0);
        await c.train(points().map((p) => p.vector as number[]));
        assert.equal((await c.info()).isTrained, true);
        await c.upsert(points());
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 2, { nprobe: 2 })), ['p0', 'p1']);
      });
    });

    describe('filters', () => {
      const cases: [string, object, string[]][] = [
        ['match.value (string)', { must: [{ key: 'source', match: { value: 'wiki' } }] }, ['p0', 'p2', 'p4', 'p6', 'p8']],
        ['match.value (number)', { must: [{ key: 'n', match: { value: 3 } }] }, ['p3']],
        ['match.any', { must: [{ key: 'n', match: { any: [1, 2, 42] } }] }, ['p1', 'p2']],
        ['match.except (the field exists)', { must: [{ key: 'meta.lang', match: { except: ['en'] } }] }, ['p5', 'p6', 'p7', 'p8', 'p9']],
        ['an array matches when any element does', { must: [{ key: 'tags', match: { value: 't1' } }] }, ['p1', 'p7']],
        ['range on numbers', { must: [{ key: 'n', range: { gt: 2, lte: 5 } }] }, ['p3', 'p4', 'p5']],
        ['range on ISO dates', { must: [{ key: 'date', range: { gte: '2026-01-08T00:00:00Z' } }] }, ['p7', 'p8', 'p9']],
        ['is_null', { must: [{ is_null: { key: 'note' } }] }, ['p3']],
        ['is_empty (missing, null or [])', { must: [{ is_empty: { key: 'tags' } }] }, ['p4']],
        ['has_id', { must: [{ has_id: ['p8', 'p1', 'zz'] }] }, ['p1', 'p8']],
        ['must_not', { must_not: [{ key: 'meta.lang', match: { value: 'en' } }] }, ['p5', 'p6', 'p7', 'p8', 'p9']],
        ['should (any of)', { should: [{ key: 'n', match: { value: 0 } }, { key: 'n', match: { value: 9 } }] }, ['p0', 'p9']],
        [
          'nested filters',
          { must: [{ key: 'source', match: { value: 'web' } }, { should: [{ key: 'n', range: { lt: 2 } }, { must_not: [{ key: 'meta.lang', match: { value: 'en' } }] }] }] },
          ['p1', 'p5', 'p7', 'p9'],
        ],
        ['a single condition without a list', { must: { key: 'n', match: { value: 6 } } }, ['p6']],
      ];
      // p4's tags are [] (so 't1' is p1 and p7 only); the rest hold t<i % 3>.
      for (const [what, filter, expected] of cases) {
        it(`${what}: count, scroll, search and delete agree`, async () => {
          const c = await filled();
          assert.equal(await c.count({ filter: filter as never }), expected.length);
          assert.deepEqual(idsOf((await c.scroll({ filter: filter as never })).points), expected);
          assert.deepEqual(sorted(idsOf(await c.search([0, 0, 0, 0], 10, { filter: filter as never }))), expected);
          assert.deepEqual(await c.delete({ filter: filter as never }), { deleted: expected.length });
          assert.equal(await c.count(), 10 - expected.length);
        });
      }

      it('payload indexes give the same answers as a scan; info lists them; they can be deleted', async () => {
        const c = await filled();
        const f = { must: [{ key: 'source', match: { value: 'web' } }, { key: 'n', range: { gte: 3 } }, { key: 'date', range: { lt: '2026-01-09T00:00:00Z' } }] };
        const scanned = idsOf(await c.search([0, 0, 0, 0], 10, { filter: f }));
        await c.createPayloadIndex('source', 'keyword');
        await c.createPayloadIndex('n', 'integer');
        await c.createPayloadIndex('date', 'datetime');
        assert.deepEqual((await c.info()).payloadIndexes, { source: 'keyword', n: 'integer', date: 'datetime' });
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 10, { filter: f })), scanned);
        assert.deepEqual(scanned, ['p3', 'p5', 'p7']);
        await c.upsert([{ id: 'p10', vector: [10, 0, 0, 0], payload: { source: 'web', n: 4, date: '2026-01-02T00:00:00Z' } }]);
        assert.deepEqual(idsOf(await c.search([0, 0, 0, 0], 10, { filter: f })), ['p3', 'p5', 'p7', 'p10'], 'the index follows upserts');
        await c.deletePayloadIndex('n');
        assert.deepEqual((await c.info()).payloadIndexes, { source: 'keyword', date: 'datetime' });
        assert.equal(await c.count({ filter: f }), 4);
      });

      const bad: [string, unknown][] = [
        ['an unknown operator', { must: [{ key: 'n', near: { value: 1 } }] }],
        ['an unknown top-level key', { must: [], maybe: [] }],
        ['a range bound that is not a number or a date', { must: [{ key: 'n', range: { gt: 'soon' } }] }],
        ['a match value that is an object', { must: [{ key: 'n', match: { value: { a: 1 } } }] }],
        ['match.any that is not a list', { must: [{ key: 'n', match: { any: 3 } }] }],
        ['an empty key', { must: [{ key: '', match: { value: 1 } }] }],
        ['a condition that is a string', { must: ['n = 1'] }],
        ['a filter that is an array', [{ key: 'n', match: { value: 1 } }]],
        ['has_id that is not a list of strings', { must: [{ has_id: [1, 2] }] }],
      ];
      for (const [what, filter] of bad) {
        it(`${what} is ERR_INVALID_FILTER for count, scroll, search and delete, and deletes nothing`, async () => {
          const c = await filled();
          await rejectsWith(c.count({ filter: filter as never }), 'ERR_INVALID_FILTER');
          await rejectsWith(c.scroll({ filter: filter as never }), 'ERR_INVALID_FILTER');
          await rejectsWith(c.search([0, 0, 0, 0], 3, { filter: filter as never }), 'ERR_INVALID_FILTER');
          await rejectsWith(c.delete({ filter: filter as never }), 'ERR_INVALID_FILTER');
          assert.equal(await c.count(), 10);
        });
      }
    });

    describe('aliases', () => {
      it('an alias stands for its collection in every call, resolved at each call; switchAlias moves it at once', async () => {
        const blue = await filled();
        const green = await api.createCollection({ name: fresh(), dimension: d });
        await green.upsert([{ id: 'g', vector: [0, 0, 0, 0], payload: { green: true } }]);
        const alias = fresh('alias');
        await api.createAlias(alias, blue.name);
        const handle = api.collection(alias);
        assert.equal(handle.name, alias);
        assert.equal((await handle.info()).name, blue.name);
        assert.equal(await handle.count(), 10);
        assert.deepEqual(await api.listAliases().then((as) => as.filter((a) => a.alias === alias)), [{ alias, collection: blue.name }]);
        await api.switchAlias(alias, green.name);
        assert.equal(await handle.count(), 1, 'the same handle now reaches the other collection');
        assert.deepEqual(idsOf(await handle.search([0, 0, 0, 0], 5)), ['g']);
        await handle.upsert([{ id: 'via-alias', vector: [1, 1, 1, 1] }]);
        assert.equal(await green.count(), 2);
        assert.equal(await blue.count(), 10);
        await api.deleteAlias(alias);
        await rejectsWith(handle.count(), 'ERR_COLLECTION_NOT_FOUND');
        assert.ok(!(await api.listAliases()).some((a) => a.alias === alias));
        assert.equal(await green.count(), 2, 'deleting the alias leaves its collection');
      });

      it('a duplicate alias is ERR_ALIAS_EXISTS, and so is an alias named like a collection', async () => {
        const a = await filled();
        const b = await filled();
        const alias = fresh('alias');
        await api.createAlias(alias, a.name);
        await rejectsWith(api.createAlias(alias, b.name), 'ERR_ALIAS_EXISTS');
        await rejectsWith(api.createAlias(b.name, a.name), 'ERR_ALIAS_EXISTS');
        assert.equal((await api.collection(alias).info()).name, a.name, 'the alias still points where it did');
        assert.equal((await api.collection(b.name).info()).name, b.name);
      });

      it('an alias to a missing collection is ERR_COLLECTION_NOT_FOUND and is not made', async () => {
        const alias = fresh('alias');
        await rejectsWith(api.createAlias(alias, fresh()), 'ERR_COLLECTION_NOT_FOUND');
        assert.ok(!(await api.listAliases()).some((a) => a.alias === alias));
        const c = await filled();
        await api.createAlias(alias, c.name);
        await rejectsWith(api.switchAlias(alias, fresh()), 'ERR_COLLECTION_NOT_FOUND');
        assert.equal((await api.collection(alias).info()).name, c.name);
      });

      it('switching or deleting a missing alias is ERR_ALIAS_NOT_FOUND', async () => {
        const c = await filled();
        await rejectsWith(api.switchAlias(fresh('alias'), c.name), 'ERR_ALIAS_NOT_FOUND');
        await rejectsWith(api.deleteAlias(fresh('alias')), 'ERR_ALIAS_NOT_FOUND');
      });

      it('a collection that aliases point at is not deleted (ERR_INVALID_ARGUMENT naming them)', async () => {
        const c = await filled();
        const alias = fresh('alias');
        await api.createAlias(alias, c.name);
        await rejectsWith(api.deleteCollection(c.name), 'ERR_INVALID_ARGUMENT', new RegExp(alias));
        assert.equal(await c.count(), 10);
        await api.deleteAlias(alias);
        await api.deleteCollection(c.name);
      });
    });

    describe('bad input: a clear error, nothing stored half-way', () => {
      const good = (i: number): PointInput => ({ id: `ok${i}`, vector: [i, 0, 0, 0], payload: { i } });
      const badPoints: [string, () => PointInput, string][] = [
        ['an empty id', () => ({ id: '', vector: [0, 0, 0, 0] }), 'ERR_INVALID_ARGUMENT'],
        ['an id of 257 bytes', () => ({ id: 'x'.repeat(257), vector: [0, 0, 0, 0] }), 'ERR_INVALID_ARGUMENT'],
        ['an id of 129 two-byte characters (258 bytes)', () => ({ id: 'é'.repeat(129), vector: [0, 0, 0, 0] }), 'ERR_INVALID_ARGUMENT'],
        ['an id that is a number', () => ({ id: 7 as never, vector: [0, 0, 0, 0] }), 'ERR_INVALID_ARGUMENT'],
        ['a vector of the wrong dimension', () => ({ id: 'v', vector: [0, 0, 0] }), 'ERR_DIMENSION'],
        ['a vector holding a string', () => ({ id: 'v', vector: [0, 0, 'a' as never, 0] }), 'ERR_INVALID_ARGUMENT'],
        ['a payload that is an array', () => ({ id: 'v', vector: [0, 0, 0, 0], payload: [1, 2] as never }), 'ERR_INVALID_ARGUMENT'],
        ['a payload that is a string', () => ({ id: 'v', vector: [0, 0, 0, 0], payload: 'text' as never }), 'ERR_INVALID_ARGUMENT'],
        ['a payload over the limit', () => ({ id: 'v', vector: [0, 0, 0, 0], payload: { text: 'x'.repeat(backend.maxPayloadBytes) } }), 'ERR_PAYLOAD_TOO_LARGE'],
      ];
      for (const [what, point, code] of badPoints) {
        it(`${what}: the batch is refused with ${code}, the good points in it are not stored`, async () => {
          const c = await filled();
          await rejectsWith(c.upsert([good(1), good(2), point()]), code);
          assert.equal(await c.count(), 10);
          assert.deepEqual(await c.get(['ok1', 'ok2']), []);
        });
      }

      it('a payload just under the limit is taken', async () => {
        const c = await api.createCollection({ name: fresh(), dimension: d });
        const text = 'x'.repeat(backend.maxPayloadBytes - '{"text":""}'.length);
        await c.upsert([{ id: 'big', vector: [0, 0, 0, 0], payload: { text } }]);
        assert.equal((await c.get(['big']))[0].payload?.text, text);
      });

      it('get and delete refuse bad ids (ERR_INVALID_ARGUMENT) and delete nothing', async () => {
        const c = await filled();
        await rejectsWith(c.get(['p1', '']), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.get('p1' as never), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.delete(['p1', 'x'.repeat(300)]), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.delete({ nope: 1 } as never), 'ERR_INVALID_ARGUMENT');
        assert.equal(await c.count(), 10);
      });

      it('search refuses a query of the wrong dimension (ERR_DIMENSION) and a bad k (ERR_INVALID_ARGUMENT)', async () => {
        const c = await filled();
        await rejectsWith(c.search([0, 0, 0], 1), 'ERR_DIMENSION');
        await rejectsWith(c.search(new Float32Array(5), 1), 'ERR_DIMENSION');
        await rejectsWith(c.searchBatch([[0, 0, 0, 0], [0, 0]], 1), 'ERR_DIMENSION');
        await rejectsWith(c.search([0, 0, 0, 0], 0), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.search([0, 0, 0, 0], 1.5), 'ERR_INVALID_ARGUMENT');
      });

      it('scroll refuses a limit over 10,000 or under 1', async () => {
        const c = await filled();
        await rejectsWith(c.scroll({ limit: 10_001 }), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.scroll({ limit: 0 }), 'ERR_INVALID_ARGUMENT');
      });

      it('train refuses vectors of the wrong dimension (ERR_DIMENSION) and stays untrained', async () => {
        const c = await api.createCollection({ name: fresh(), dimension: d, factory: 'IVF2,Flat' });
        await rejectsWith(c.train([[1, 2, 3]]), 'ERR_DIMENSION');
        assert.equal((await c.info()).isTrained, false);
      });

      it('a payload index of an unknown type is refused (ERR_INVALID_ARGUMENT)', async () => {
        const c = await filled();
        await rejectsWith(c.createPayloadIndex('n', 'text' as never), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.createPayloadIndex('', 'keyword'), 'ERR_INVALID_ARGUMENT');
        assert.deepEqual((await c.info()).payloadIndexes, {});
      });
    });

    describe('idempotency keys', () => {
      it('a retry with the same key and request gets the first answer and is not applied again', async () => {
        const c = await filled();
        const batch = [{ id: 'k1', vector: [1, 1, 1, 1], payload: { v: 1 } }];
        assert.deepEqual(await c.upsert(batch, { idempotencyKey: 'up-1' }), { upserted: 1 });
        await c.delete(['k1']);
        assert.deepEqual(await c.upsert(batch, { idempotencyKey: 'up-1' }), { upserted: 1 });
        assert.deepEqual(await c.get(['k1']), [], 'the retry did not store the point again');
        assert.deepEqual(await c.delete(['p1', 'p2'], { idempotencyKey: 'del-1' }), { deleted: 2 });
        assert.deepEqual(await c.delete(['p1', 'p2'], { idempotencyKey: 'del-1' }), { deleted: 2 }, 'the first answer, not 0');
      });

      it('the same key with another request is ERR_IDEMPOTENCY_MISMATCH and changes nothing', async () => {
        const c = await filled();
        await c.upsert([{ id: 'k1', vector: [1, 1, 1, 1] }], { idempotencyKey: 'same' });
        await rejectsWith(c.upsert([{ id: 'k1', vector: [2, 2, 2, 2] }], { idempotencyKey: 'same' }), 'ERR_IDEMPOTENCY_MISMATCH');
        await rejectsWith(c.delete(['p1'], { idempotencyKey: 'same' }), 'ERR_IDEMPOTENCY_MISMATCH');
        assert.equal(await c.count(), 11);
        assert.deepEqual(Array.from((await c.get(['k1'], { withVector: true }))[0].vector!), [1, 1, 1, 1]);
      });

      it('a delete by filter retried with its key is not applied again', async () => {
        const c = await filled();
        const f = { filter: { must: [{ key: 'source', match: { value: 'web' } }] } };
        assert.deepEqual(await c.delete(f, { idempotencyKey: 'df' }), { deleted: 5 });
        await c.upsert([{ id: 'new-web', vector: [0, 0, 0, 0], payload: { source: 'web' } }]);
        assert.deepEqual(await c.delete(f, { idempotencyKey: 'df' }), { deleted: 5 });
        assert.equal(await c.count(), 6, 'the point upserted after the delete is still there');
      });

      it('a malformed key is ERR_INVALID_ARGUMENT', async () => {
        const c = await filled();
        await rejectsWith(c.upsert(points([1]), { idempotencyKey: '' }), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.upsert(points([1]), { idempotencyKey: 'has space' }), 'ERR_INVALID_ARGUMENT');
        await rejectsWith(c.upsert(points([1]), { idempotencyKey: 'k'.repeat(129) }), 'ERR_INVALID_ARGUMENT');
      });
    });
  });
}
