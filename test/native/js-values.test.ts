// JS values that are not what they claim to be: every call given one settles with a
// FaissError that has a code, never a TypeError, a RangeError, an error thrown by
// the caller's own getter, a V8 fatal error or a runaway allocation. Each case runs
// in a process of its own (test/support/crash-case.ts) under a memory bound.
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase } from '../support/crash-case';

const MAX_RSS = 768 * 2 ** 20;

// In scope for every case: x (10 rows of d = 4), a flat index holding them, and a
// Proxy whose every trap throws.
const prelude = `
  const d = 4;
  const x = new Float32Array(10 * d).map((_, i) => i / 7);
  const index = new faiss.IndexFlatL2(d);
  await index.add(x);
  const hostile = new Proxy({}, new Proxy({}, { get: () => () => { throw new Error('trap'); } }));
`;

interface Case {
  name: string;
  body: string;
  code: string;
}

const proxies: Case[] = [
  { name: 'add(a Proxy around a Float32Array)', body: `await index.add(new Proxy(x, {}));`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'search(a Proxy around a Float32Array)', body: `await index.search(new Proxy(x.subarray(0, d), {}), 1);`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'train(a Proxy whose every trap throws)', body: `await index.train(hostile);`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'add(a revoked Proxy around an array of rows)',
    body: `const { proxy, revoke } = Proxy.revocable([[1, 2, 3, 4]], {}); revoke(); await index.add(proxy);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

const foreignIndexes: Case[] = [
  {
    name: 'a method called on an object made from Index.prototype',
    body: `await faiss.IndexFlatL2.prototype.search.call(Object.create(faiss.Index.prototype), x, 1);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'a getter (d) read on an object made from IndexFlatL2.prototype',
    body: `return Object.create(faiss.IndexFlatL2.prototype).d;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'search called on a Proxy whose every trap throws',
    body: `await faiss.Index.prototype.search.call(hostile, x, 1);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'dispose() called on a plain object',
    body: `faiss.Index.prototype.dispose.call({});`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'mergeFrom(an object made from Index.prototype)',
    body: `await index.mergeFrom(Object.create(faiss.Index.prototype));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'mergeFrom(a Proxy around an index)',
    body: `const other = new faiss.IndexFlatL2(d); await index.mergeFrom(new Proxy(other, {}));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexIVFFlat(a quantizer made from Index.prototype)',
    body: `new faiss.IndexIVFFlat(Object.create(faiss.IndexFlatL2.prototype), d, 4);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexIVFPQ(a Proxy whose every trap throws as the quantizer)',
    body: `new faiss.IndexIVFPQ(hostile, d, 4, 2, 4);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexIDMap(an index made from Index.prototype)',
    body: `new faiss.IndexIDMap(Object.create(faiss.Index.prototype));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'IndexIDMap2(a Proxy around an index)',
    body: `new faiss.IndexIDMap2(new Proxy(new faiss.IndexFlatL2(d), {}));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'serializeIndex(an object made from Index.prototype)',
    body: `await faiss.serializeIndex(Object.create(faiss.Index.prototype));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'writeIndex(a Proxy around an index)',
    body: `await faiss.writeIndex(new Proxy(index, {}), require('node:os').tmpdir() + '/never-written.index');`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'a native getter read on an object made from NativeIndex.prototype (the addon, bypassing lib/)',
    body: `const proto = Object.getPrototypeOf(index.native()); return Object.getOwnPropertyDescriptor(proto, 'ntotal').get.call(Object.create(proto));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'new Index(a native object made from NativeIndex.prototype)',
    body: `const proto = Object.getPrototypeOf(index.native()); const fake = new faiss.Index(Object.create(proto)); await fake.search(x, 1);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

const hugeArrays: Case[] = [
  { name: 'add(an array of length 2^32 - 1)', body: `const a = []; a.length = 2 ** 32 - 1; await index.add(a);`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'addWithIds(rows, ids of length 2^32 - 1)',
    body: `const ids = []; ids.length = 2 ** 32 - 1; const m = new faiss.IndexIDMap(new faiss.IndexFlatL2(d)); await m.addWithIds(x, ids);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'removeIds(an array of length 2^32 - 1)',
    body: `const ids = []; ids.length = 2 ** 32 - 1; await index.removeIds(ids);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'add(a sparse array of length 2^29 with d = 1)',
    body: `const one = new faiss.IndexFlatL2(1); const a = []; a.length = 2 ** 29; a[5] = [1]; await one.add(a);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'add(a sparse array of 2^24 rows: a hole is not a zero vector)',
    body: `const a = []; a.length = 2 ** 24; a[0] = [1, 2, 3, 4]; await index.add(a);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'search(a sparse array of length 2^28, d = 4)',
    body: `const a = []; a.length = 2 ** 28; await index.search(a, 1);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

const throwingGetters: Case[] = [
  {
    name: 'search params whose nprobe getter throws',
    body: `await index.search(x, 1, { get nprobe() { throw new Error('getter'); } });`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'search params that are a Proxy whose every trap throws', body: `await index.search(x, 1, hostile);`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'a row whose element getter throws a non-Error',
    body: `await index.add([{ length: 4, get 0() { throw 42; } }]);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'a row whose getter throws a Proxy whose every trap throws',
    body: `await index.add([{ get length() { throw hostile; } }]);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'an ids array whose element getter throws',
    body: `const ids = [1]; Object.defineProperty(ids, 0, { get() { throw new Error('id'); } }); await index.removeIds(ids);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'a Float32Array subclass whose length getter throws',
    body: `class Evil extends Float32Array { get length() { throw new Error('length'); } } await index.add(new Evil(x));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'readIndex options whose mmap getter throws',
    body: `await faiss.readIndex('/nonexistent.index', { get mmap() { throw new Error('mmap'); } });`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'setSearchLanes settings whose threads getter throws',
    body: `faiss.setSearchLanes({ get threads() { throw new Error('threads'); } });`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

const wrongKinds: Case[] = [
  { name: 'add(an object made from Float32Array.prototype)', body: `await index.add(Object.create(Float32Array.prototype));`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'deserializeIndex(a Uint8Array over a SharedArrayBuffer)',
    body: `const bytes = await faiss.serializeIndex(index); const shared = new Uint8Array(new SharedArrayBuffer(bytes.length)); shared.set(bytes); await faiss.deserializeIndex(shared);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'add(a Float32Array over a growable SharedArrayBuffer)',
    body: `const g = new SharedArrayBuffer(x.byteLength, { maxByteLength: 2 * x.byteLength }); new Float32Array(g).set(x); await index.add(new Float32Array(g));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

describe('native: every value thrown for a JS value that is not what it claims is a coded FaissError', function () {
  this.timeout(60_000);

  const groups: [string, Case[]][] = [
    ['Proxies', proxies],
    ['foreign objects passed as indexes', foreignIndexes],
    ['arrays too large to convert', hugeArrays],
    ['getters that throw', throwingGetters],
    ['typed arrays of the wrong kind', wrongKinds],
  ];
  for (const [group, cases] of groups) {
    describe(group, () => {
      for (const c of cases) {
        it(c.name, async () => {
          const o = await runCase(prelude + c.body, { maxRssBytes: MAX_RSS, timeoutMs: 30_000 });
          assert.equal(brokenPromise(o, MAX_RSS), undefined, brokenPromise(o, MAX_RSS));
          assert.equal(o.status, 'error', `expected ${c.code}, got the value ${JSON.stringify(o.value)}`);
          assert.equal(o.code, c.code, o.message);
        });
      }
    });
  }
});
