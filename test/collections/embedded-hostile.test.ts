// Hostile input to the embedded collections, each case in a node process of its
// own (support/crash-case.ts), so that a crash shows as a crash and a hang as a
// hang: every case settles with a value or with a coded FaissError.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokenPromise, runCase } from '../support/crash-case';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-coll-hostile-'));
const aFile = path.join(tmp, 'a-file');
fs.writeFileSync(aFile, 'not a directory');

/** Opens in-memory collections with a collection c of dimension 4 holding two points, then runs `body`. */
const withCollection = (body: string, open = '{}') => `
  const db = await faiss.openCollections(${open});
  const c = await db.createCollection({ name: 'c', dimension: 4 });
  await c.upsert([{ id: 'a', vector: [1, 0, 0, 0], payload: { n: 1 } }, { id: 'b', vector: [0, 1, 0, 0], payload: { n: 2 } }]);
  ${body}
`;

const cases: [string, string, string][] = [
  ['a path that is a file', `await faiss.openCollections({ path: ${JSON.stringify(aFile)} });`, 'ERR_IO'],
  ['a path under a file', `await faiss.openCollections({ path: ${JSON.stringify(path.join(aFile, 'sub'))} });`, 'ERR_IO'],
  ['a path with a NUL byte', `await faiss.openCollections({ path: 'a\\0b' });`, 'ERR_INVALID_ARGUMENT'],
  ['options whose getter throws', `await faiss.openCollections({ get path() { throw new Error('boom'); } });`, 'ERR_INVALID_ARGUMENT'],
  ['options that are a Proxy that throws', `await faiss.openCollections(new Proxy({}, { ownKeys() { throw new Error('boom'); }, get() { throw new Error('boom'); } }));`, 'ERR_INVALID_ARGUMENT'],
  ['maxPayloadBytes of 2^53', `await faiss.openCollections({ maxPayloadBytes: 2 ** 53 });`, 'ERR_INVALID_ARGUMENT'],
  ['a spec that is a Proxy that throws', `const db = await faiss.openCollections(); await db.createCollection(new Proxy({}, { get() { throw new Error('boom'); }, ownKeys() { throw new Error('boom'); } }));`, 'ERR_INVALID_ARGUMENT'],
  ['a collection name that is an object with toString', `const db = await faiss.openCollections(); await db.collection({ toString() { return 'c'; } }).count();`, 'ERR_INVALID_ARGUMENT'],
  ['points whose array getter throws', withCollection(`const p = [{ id: 'x', vector: [0, 0, 0, 0] }]; Object.defineProperty(p, 0, { get() { throw new Error('boom'); } }); await c.upsert(p);`), 'ERR_INVALID_ARGUMENT'],
  ['a point whose vector is a Proxy', withCollection(`await c.upsert([{ id: 'x', vector: new Proxy([0, 0, 0, 0], { get(t, k) { if (k === '0') throw new Error('boom'); return t[k]; } }) }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a payload that refers to itself', withCollection(`const p = { a: 1 }; p.self = p; await c.upsert([{ id: 'x', vector: [0, 0, 0, 0], payload: p }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a payload nested 100,000 deep', withCollection(`let p = {}; for (let i = 0; i < 100000; i++) p = { p }; await c.upsert([{ id: 'x', vector: [0, 0, 0, 0], payload: p }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a payload holding a BigInt', withCollection(`await c.upsert([{ id: 'x', vector: [0, 0, 0, 0], payload: { n: 1n } }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a payload holding a function', withCollection(`await c.upsert([{ id: 'x', vector: [0, 0, 0, 0], payload: { f() {} } }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a payload with a toJSON', withCollection(`await c.upsert([{ id: 'x', vector: [0, 0, 0, 0], payload: { d: new Date(0) } }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a vector holding NaN', withCollection(`await c.upsert([{ id: 'x', vector: new Float32Array([0, NaN, 0, 0]) }]);`), 'ERR_INVALID_ARGUMENT'],
  ['an id with a lone surrogate', withCollection(`await c.upsert([{ id: '\\ud800', vector: [0, 0, 0, 0] }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a filter nested 100,000 deep', withCollection(`let f = {}; for (let i = 0; i < 100000; i++) f = { must: [f] }; await c.count({ filter: f });`), 'ERR_INVALID_FILTER'],
  ['a filter with a million has_id values', withCollection(`await c.search([0, 0, 0, 0], 1, { filter: { must: [{ has_id: Array.from({ length: 1e6 }, (_, i) => 'id' + i) }] } });`), 'ERR_INVALID_FILTER'],
  ['a delete target with a filter getter that throws', withCollection(`await c.delete({ get filter() { throw new Error('boom'); } });`), 'ERR_INVALID_ARGUMENT'],
  ['an idempotency key that is an object', withCollection(`await c.upsert([{ id: 'x', vector: [0, 0, 0, 0] }], { idempotencyKey: { k: 1 } });`), 'ERR_INVALID_ARGUMENT'],
  ['k of 2^31', withCollection(`await c.search([0, 0, 0, 0], 2 ** 31);`), 'ERR_INVALID_ARGUMENT'],
  ['a scroll offset that is not an id', withCollection(`await c.scroll({ offset: 42 });`), 'ERR_INVALID_ARGUMENT'],
  ['a search vector that is a string', withCollection(`await c.search('0,0,0,0', 1);`), 'ERR_INVALID_ARGUMENT'],
  ['a searchBatch of a sparse array', withCollection(`await c.searchBatch(new Array(3), 1);`), 'ERR_INVALID_ARGUMENT'],
  ['an upsert of a sparse array', withCollection(`await c.upsert([{ id: 'x', vector: [0, 0, 0, 0] }, , { id: 'y', vector: [0, 0, 0, 0] }]);`), 'ERR_INVALID_ARGUMENT'],
  ['a get of a sparse array', withCollection(`await c.get(new Array(2));`), 'ERR_INVALID_ARGUMENT'],
  ['a delete of a sparse array', withCollection(`await c.delete(['a', , 'b']);`), 'ERR_INVALID_ARGUMENT'],
];

describe('embedded collections: hostile input, each case in its own process', function () {
  this.timeout(120_000);
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  for (const [what, body, code] of cases) {
    it(`${what}: ${code}, no crash`, async () => {
      const outcome = await runCase(body, { timeoutMs: 30_000 });
      assert.equal(brokenPromise(outcome), undefined, `${outcome.status} ${outcome.signal ?? ''} ${outcome.message ?? ''}\n${outcome.stderr}`);
      assert.deepEqual([outcome.status, outcome.code], ['error', code], outcome.message);
    });
  }

  it('the collection is unchanged after each refused upsert (the same cases in one process)', async () => {
    const outcome = await runCase(
      withCollection(`
        const bad = [
          () => { const p = { a: 1 }; p.self = p; return [{ id: 'x', vector: [0, 0, 0, 0] }, { id: 'y', vector: [0, 0, 0, 0], payload: p }]; },
          () => [{ id: 'x', vector: [0, 0, 0, 0] }, { id: 'a', vector: [0, 0, 0, 0], payload: { n: 1n } }],
          () => [{ id: 'a', vector: [9, 9, 9, 9] }, { id: '\\ud800', vector: [0, 0, 0, 0] }],
        ];
        const codes = [];
        for (const points of bad) codes.push(await c.upsert(points()).then(() => 'stored', (e) => e.code));
        const left = await c.scroll({ withVector: true });
        return { codes, left: left.points.map((p) => [p.id, p.payload, Array.from(p.vector)]) };
      `),
    );
    assert.equal(outcome.status, 'value', `${outcome.message}\n${outcome.stderr}`);
    assert.deepEqual(outcome.value, {
      codes: ['ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT'],
      left: [
        ['a', { n: 1 }, [1, 0, 0, 0]],
        ['b', { n: 2 }, [0, 1, 0, 0]],
      ],
    });
  });
});
