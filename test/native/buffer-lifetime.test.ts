// Memory handed to an asynchronous call stays valid until the call settles: the
// caller may transfer the array's ArrayBuffer away (structuredClone, postMessage)
// and let it be freed, or shrink a resizable one, while FAISS reads it on another
// thread. Each case runs in a process of its own (test/support/crash-case.ts), with
// glibc returning every freed block of 64 KiB or more to the kernel at once, so
// that a read of freed memory is a SIGSEGV rather than a read of stale bytes.
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase, type CaseOutcome } from '../support/crash-case';

const env = { ...process.env, MALLOC_MMAP_THRESHOLD_: '65536' };
const nodeArgs = ['--expose-gc'];

// In scope for every case: vectors(n, d), and takeAway(typedArray, how), which
// detaches the array's buffer and lets its memory be freed.
const prelude = `
  let seed = 7;
  const vectors = (n, d) => new Float32Array(n * d).map(() => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648));
  const takeAway = async (a, how = 'structuredClone') => {
    if (how === 'postMessage') {
      const { port1, port2 } = new MessageChannel();
      port1.postMessage(a.buffer, [a.buffer]);
      port1.close();
      port2.close();
    } else {
      structuredClone(a.buffer, { transfer: [a.buffer] });
    }
    if (a.byteLength !== 0) throw new Error('the buffer was not detached');
    global.gc();
    await new Promise((resolve) => setImmediate(resolve));
    global.gc();
  };
`;

async function run(body: string): Promise<CaseOutcome> {
  return runCase(prelude + body, { env, nodeArgs, timeoutMs: 60_000 });
}

interface Case {
  name: string;
  body: string;
  /** What the case returns when it runs as it should. */
  value?: unknown;
  /** The FaissError code it rejects with, when the call is refused instead. */
  code?: string;
}

const cases: Case[] = [
  {
    name: 'add: the vectors transferred by structuredClone',
    body: `
      const index = new faiss.IndexFlatL2(64);
      const x = vectors(200_000, 64);
      const pending = index.add(x);
      await takeAway(x);
      await pending;
      return index.ntotal;`,
    value: 200_000,
  },
  {
    name: 'add: the vectors transferred by postMessage',
    body: `
      const index = new faiss.IndexHNSWFlat(16, 8);
      const x = vectors(20_000, 16);
      const pending = index.add(x);
      await takeAway(x, 'postMessage');
      await pending;
      return index.ntotal;`,
    value: 20_000,
  },
  {
    name: 'addWithIds: vectors and ids transferred',
    body: `
      const index = new faiss.IndexIDMap2(new faiss.IndexFlatL2(64));
      const x = vectors(200_000, 64);
      const ids = new BigInt64Array(200_000).map((_, i) => BigInt(i) * 3n);
      const expected = x.slice(64 * 7, 64 * 8);
      const pending = index.addWithIds(x, ids);
      await takeAway(x);
      await takeAway(ids);
      await pending;
      const back = await index.reconstruct(21n);
      return [index.ntotal, back.every((v, i) => v === expected[i])];`,
    value: [200_000, true],
  },
  {
    name: 'search on the search lanes: the queries transferred',
    body: `
      faiss.setInlineSearchBudget(0);
      const index = new faiss.IndexFlatL2(64);
      await index.add(vectors(2_000, 64));
      const q = vectors(20_000, 64);
      const expected = await index.search(q.subarray(0, 64 * 4), 3);
      const pending = index.search(q, 3);
      await takeAway(q);
      const r = await pending;
      return [r.labels.length, Array.from(r.labels.subarray(0, 12)).join() === Array.from(expected.labels).join()];`,
    value: [60_000, true],
  },
  {
    name: 'search on the libuv pool (lanes off): the queries transferred',
    body: `
      faiss.setInlineSearchBudget(0);
      faiss.setSearchLanes({ threads: 0 });
      const index = new faiss.IndexFlatL2(64);
      await index.add(vectors(2_000, 64));
      const q = vectors(20_000, 64);
      const pending = index.search(q, 3);
      await takeAway(q, 'postMessage');
      return (await pending).labels.length;`,
    value: 60_000,
  },
  {
    name: 'rangeSearch: the queries transferred',
    body: `
      const index = new faiss.IndexFlatL2(64);
      await index.add(vectors(2_000, 64));
      const q = vectors(20_000, 64);
      const pending = index.rangeSearch(q, 0.5);
      await takeAway(q);
      return (await pending).lims.length;`,
    value: 20_001,
  },
  {
    name: 'train: the training set transferred',
    body: `
      const index = new faiss.IndexPQ(32, 8, 6);
      const x = vectors(12_000, 32);
      const pending = index.train(x);
      await takeAway(x);
      await pending;
      return index.isTrained;`,
    value: true,
  },
  {
    name: 'deserializeIndex: the bytes transferred',
    body: `
      const index = new faiss.IndexFlatL2(64);
      await index.add(vectors(100_000, 64));
      const bytes = new Uint8Array(await faiss.serializeIndex(index));
      const pending = faiss.deserializeIndex(bytes);
      await takeAway(bytes);
      return (await pending).ntotal;`,
    value: 100_000,
  },
  {
    name: 'add: a view of a resizable ArrayBuffer (shrunk during the call) is refused',
    body: `
      const index = new faiss.IndexFlatL2(64);
      const buffer = new ArrayBuffer(200_000 * 64 * 4, { maxByteLength: 200_000 * 64 * 4 });
      const x = new Float32Array(buffer);
      x.set(vectors(200_000, 64));
      const pending = index.add(x);
      buffer.resize(0);
      await pending;
      return index.ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'search on the lanes: a view of a resizable ArrayBuffer (shrunk during the call) is refused',
    body: `
      faiss.setInlineSearchBudget(0);
      const index = new faiss.IndexFlatL2(64);
      await index.add(vectors(2_000, 64));
      const buffer = new ArrayBuffer(20_000 * 64 * 4, { maxByteLength: 20_000 * 64 * 4 });
      const q = new Float32Array(buffer);
      q.set(vectors(20_000, 64));
      const pending = index.search(q, 3);
      buffer.resize(64 * 4);
      return (await pending).labels.length;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
  {
    name: 'deserializeIndex: bytes in a resizable ArrayBuffer (shrunk during the call) are refused',
    body: `
      const index = new faiss.IndexFlatL2(64);
      await index.add(vectors(100_000, 64));
      const serialized = await faiss.serializeIndex(index);
      const buffer = new ArrayBuffer(serialized.length, { maxByteLength: serialized.length });
      new Uint8Array(buffer).set(serialized);
      const pending = faiss.deserializeIndex(buffer);
      buffer.resize(16);
      return (await pending).ntotal;`,
    code: 'ERR_INVALID_ARGUMENT',
  },
];

// dispose() while an operation runs: the operation finishes on the memory it
// started with (the index goes when the last operation on it ends), and whatever
// comes after the dispose is ERR_DISPOSED.
const disposeCases: Case[] = [
  {
    name: 'dispose() during add, then a search',
    body: `
      const index = new faiss.IndexHNSWFlat(16, 8);
      const pending = index.add(vectors(20_000, 16));
      index.dispose();
      await pending;
      global.gc();
      return await index.search(vectors(1, 16), 1).then(() => 'searched', (e) => e.code);`,
    value: 'ERR_DISPOSED',
  },
  {
    name: 'dispose() during a batch search on the lanes and on the pool',
    body: `
      faiss.setInlineSearchBudget(0);
      const counts = [];
      for (const threads of [2, 0]) {
        faiss.setSearchLanes({ threads });
        const index = new faiss.IndexFlatL2(64);
        await index.add(vectors(20_000, 64));
        const pending = index.search(vectors(2_000, 64), 5);
        index.dispose();
        global.gc();
        counts.push((await pending).labels.length);
      }
      return counts;`,
    value: [10_000, 10_000],
  },
  {
    name: 'dispose() of the other index during mergeFrom',
    body: `
      const a = new faiss.IndexFlatL2(32);
      const b = new faiss.IndexFlatL2(32);
      await a.add(vectors(1_000, 32));
      await b.add(vectors(200_000, 32));
      const pending = a.mergeFrom(b);
      b.dispose();
      global.gc();
      await pending;
      return [a.ntotal, b.disposed];`,
    value: [201_000, true],
  },
];

describe('native: memory handed to an async call stays valid until it settles', function () {
  this.timeout(120_000);

  for (const c of [...cases, ...disposeCases]) {
    it(c.name, async () => {
      const o = await run(c.body);
      assert.equal(brokenPromise(o), undefined, brokenPromise(o));
      if (c.code !== undefined) {
        assert.equal(o.status, 'error', `expected ${c.code}, got ${JSON.stringify(o.value)}`);
        assert.equal(o.code, c.code, o.message);
      } else {
        assert.equal(o.status, 'value', `${o.code}: ${o.message}`);
        assert.deepEqual(o.value, c.value);
      }
    });
  }
});
