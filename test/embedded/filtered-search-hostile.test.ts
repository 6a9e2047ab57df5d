// Hostile selectors, each in a process of its own (test/support/crash-case.ts):
// what the TS layer would refuse, handed to the addon directly; ids FAISS could
// read as row numbers; selectors of extreme size and depth. Each settles with a
// value or a coded FaissError, never a crash or a hang.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { brokenPromise, runCase } from '../support/crash-case';

const NATIVE = path.resolve(__dirname, '..', '..', 'lib', 'native');

const prelude = `
  const { native } = require(${JSON.stringify(NATIVE)});
  const d = 4;
  const x = new Float32Array(50 * d).map((_, i) => Math.sin(i));
  const flat = new faiss.IndexFlatL2(d);
  await flat.add(x);
  const q = x.subarray(0, d);
`;

interface Case {
  name: string;
  body: string;
  /** The code it must fail with, or undefined when it must answer. */
  code?: string;
}

const cases: Case[] = [
  { name: 'newSelector of an unknown kind', body: `native.newSelector('all');`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("batch") of a Float64Array', body: `native.newSelector('batch', new Float64Array(3));`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("range") of numbers', body: `native.newSelector('range', 1, 2);`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("range") with min > max', body: `native.newSelector('range', 5n, 1n);`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("range") of a bigint past int64', body: `native.newSelector('range', 0n, 2n ** 64n);`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("bitmap") of an Int8Array', body: `native.newSelector('bitmap', new Int8Array(3));`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("not") of a plain object', body: `native.newSelector('not', {});`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newSelector("and") of an index', body: `native.newSelector('and', flat.native(), flat.native());`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'newSelector("xor") past the term limit, built natively',
    body: `let s = native.newSelector('range', 0n, 10n); for (let i = 0; i < 12; i++) s = native.newSelector('xor', s, s);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'newSelector("batch") of a detached BigInt64Array',
    body: `const a = new BigInt64Array(4); structuredClone(a.buffer, { transfer: [a.buffer] }); const s = native.newSelector('batch', a); const r = await flat.native().search(q, 3, undefined, undefined, s); return Array.from(r.labels);`,
  },
  // The payload column a collection's one-range filters are tested against (native/value_column.h).
  { name: 'newValueColumn of a fractional length', body: `native.newValueColumn(0, 2.5);`, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'newValueColumn of 2^31 + 1 values', body: `native.newValueColumn(0, 2 ** 31 + 1);`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'newValueColumn of 32 MiB under a 16 MiB per-call limit',
    body: `faiss.setMemoryLimits({ perCallBytes: 16 * 2 ** 20 }); native.newValueColumn(0, 2 ** 22);`,
    code: 'ERR_RESOURCE_LIMIT',
  },
  { name: 'newSelector("valueRange") of a Float64Array', body: `native.newSelector('valueRange', new Float64Array(4), 0, 0, 1, 1);`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'newSelector("valueRange") with a NaN bound',
    body: `native.newSelector('valueRange', native.newValueColumn(0, 8), NaN, -Infinity, Infinity, Infinity);`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'a valueRange selector over labels before, in and past its column, the column dropped while searches run',
    body: `let c = native.newValueColumn(40, 5); c.values.set([1, 2, NaN, 4, 5]);
      const s = native.newSelector('valueRange', c, -Infinity, 2, Infinity, 4); c = null;
      const rs = await Promise.all(Array.from({ length: 4 }, () => flat.native().search(x.subarray(0, 2 * d), 50, undefined, undefined, s)));
      const got = [...new Set(rs.flatMap((r) => Array.from(r.labels).filter((l) => l >= 0n)))].sort();
      if (got.join() !== '41,43') throw new Error('selected ' + got.join());
      return got.length;`,
  },
  { name: 'native search with a plain object as selector', body: `await flat.native().search(q, 1, undefined, undefined, {});`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'native search with a frozen copy of a selector',
    body: `const s = native.newSelector('range', 0n, 3n); await flat.native().search(q, 1, undefined, undefined, Object.freeze({ ...s }));`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  { name: 'native removeIds of a plain object', body: `await flat.native().removeIds({});`, code: 'ERR_INVALID_ARGUMENT' },
  {
    name: 'IDSelectorArray of ids outside the flat index (negative, past ntotal, 2^62) searched by IndexFlat',
    body: `const r = await flat.search(q, 4, { sel: new faiss.IDSelectorArray([-1, 50, 10n ** 15n, 2n ** 62n, 3]) }); return Array.from(r.labels);`,
  },
  {
    name: 'IDSelectorRange over all of int64 on IVF and IDMap',
    body: `const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 4); await ivf.train(x); await ivf.add(x);
      const m = new faiss.IndexIDMap(new faiss.IndexFlatL2(d)); await m.addWithIds(x, Array.from({ length: 50 }, (_, i) => -(2 ** 40) + i));
      const s = new faiss.IDSelectorRange(-(2n ** 63n), 2n ** 63n - 1n);
      await ivf.search(q, 3, { sel: s, nprobe: 4 }); return Array.from((await m.search(q, 3, { sel: s })).labels);`,
  },
  {
    name: 'a 64 MiB bitmap on an HNSW index',
    body: `const h = new faiss.IndexHNSWFlat(d, 8); await h.add(x); const bits = new Uint8Array(64 * 2 ** 20); bits[0] = 0b101;
      return Array.from((await h.search(q, 3, { sel: new faiss.IDSelectorBitmap(bits) })).labels);`,
  },
  {
    name: 'a selector of 767 terms (XOr of itself, nested: every term looked up for every id) on IndexFlat',
    body: `const nest = (n) => { let s = new faiss.IDSelectorRange(0, 10); for (let i = 0; i < n; i++) s = new faiss.IDSelectorXOr(s, s); return s; };
      const s = new faiss.IDSelectorOr(nest(8), nest(7));
      return (await flat.search(x, 5, { sel: s })).labels.length;`,
  },
  // A selector is built at its first use: its copy of the ids (a hash set for a
  // batch, 64 bytes an id) counts against the per-call memory limit, as the
  // search's own buffers do, rather than growing the process past it.
  {
    name: 'IDSelectorBatch of 4M ids (about 250 MiB built) under a 64 MiB per-call limit',
    body: `faiss.setMemoryLimits({ perCallBytes: 64 * 2 ** 20 }); const ids = BigInt64Array.from({ length: 4e6 }, (_, i) => BigInt(i));
      await flat.search(q, 3, { sel: new faiss.IDSelectorBatch(ids) });`,
    code: 'ERR_RESOURCE_LIMIT',
  },
  {
    name: 'removeIds(IDSelectorArray of 4M ids) under a 16 MiB per-call limit',
    body: `faiss.setMemoryLimits({ perCallBytes: 16 * 2 ** 20 }); const ids = BigInt64Array.from({ length: 4e6 }, (_, i) => BigInt(i));
      await flat.removeIds(new faiss.IDSelectorArray(ids));`,
    code: 'ERR_RESOURCE_LIMIT',
  },
  {
    name: 'a 64 MiB bitmap under a 16 MiB per-call limit',
    body: `faiss.setMemoryLimits({ perCallBytes: 16 * 2 ** 20 }); await flat.search(q, 3, { sel: new faiss.IDSelectorNot(new faiss.IDSelectorBitmap(new Uint8Array(64 * 2 ** 20))) });`,
    code: 'ERR_RESOURCE_LIMIT',
  },
  // FAISS 1.7.3's flat k-NN clips an IDSelectorRange to the stored rows in an
  // unsigned size: a range past ntotal or below 0 wrapped to 2^64 rows (SIGSEGV).
  {
    name: 'IDSelectorRange wholly past ntotal on IndexFlatL2 (1 and 30 queries) and IndexFlatIP: nothing selected',
    body: `const ip = new faiss.IndexFlatIP(d); await ip.add(x); const s = new faiss.IDSelectorRange(1000, 2000);
      const rs = [await flat.search(q, 3, { sel: s }), await flat.search(x.subarray(0, 30 * d), 3, { sel: s }), await ip.search(q, 200, { sel: s })];
      if (rs.some((r) => r.labels.some((l) => l !== -1n))) throw new Error('answered a label outside the range');
      return rs.length;`,
  },
  {
    name: 'IDSelectorRange wholly below 0 and [ntotal, ntotal + 1) on IndexFlatL2: nothing selected',
    body: `const a = await flat.search(q, 3, { sel: new faiss.IDSelectorRange(-(2n ** 63n), -5) });
      const b = await flat.search(q, 3, { sel: new faiss.IDSelectorRange(50, 51) });
      return [...a.labels, ...b.labels].every((l) => l === -1n);`,
  },
  {
    name: 'k = 2^20 with a selection of three ids',
    body: `const r = await flat.search(q, 2 ** 20, { sel: new faiss.IDSelectorBatch([1, 2, 3]) }); return r.labels.filter((l) => l >= 0n).length;`,
  },
  {
    name: 'a filtered search of a disposed index',
    body: `const i = new faiss.IndexFlatL2(d); i.dispose(); await i.search(q, 1, { sel: new faiss.IDSelectorRange(0, 1) });`,
    code: 'ERR_DISPOSED',
  },
  {
    name: 'dispose while filtered searches run',
    body: `const i = new faiss.IndexHNSWFlat(d, 8); await i.add(x); const s = new faiss.IDSelectorBatch([7]);
      const p = Array.from({ length: 8 }, () => i.search(x, 5, { sel: s })); i.dispose(); return (await Promise.all(p)).length;`,
  },
];

describe('filtered search with hostile selectors (each case in its own process)', function () {
  this.timeout(300_000);
  for (const c of cases) {
    it(c.name, async () => {
      const outcome = await runCase(prelude + c.body, { timeoutMs: 60_000 });
      assert.equal(brokenPromise(outcome), undefined);
      if (c.code) {
        assert.equal(outcome.status, 'error', `answered ${JSON.stringify(outcome.value)}`);
        assert.equal(outcome.code, c.code, outcome.message);
      } else {
        assert.equal(outcome.status, 'value', `${outcome.code}: ${outcome.message}`);
      }
    });
  }
});
