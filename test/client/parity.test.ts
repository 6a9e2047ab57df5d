// One suite, two backends: the embedded library and a real server through the
// remote client (connect()). Code written for one runs on the other, and the
// same bad arguments give the same FaissError codes (lib/limits.ts); the few
// differences are the documented ones of lib/contract.ts (the service removes
// from every index type; IVF direct maps are built by the server).
// PARITY_BACKENDS=remote runs only the remote one (used with native addons
// disabled, test/client/no-addon.test.ts).
/* eslint-disable @typescript-eslint/no-explicit-any */
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as vm from 'node:vm';
import { connect } from '../../lib/client';
import { FaissError } from '../../lib/errors';
import { bruteForceNearest, randomVectors, row } from '../support/data';
import { makeTenant, startServer, type ServerProcess } from '../support/server';

const d = 16;
const xt = randomVectors(1000, d, 401);
const xb = randomVectors(500, d, 402);
const xq = randomVectors(4, d, 403);

interface Backend {
  name: 'embedded' | 'remote';
  api: any;
  start(): Promise<void>;
  stop(): Promise<void>;
}

function embeddedBackend(): Backend {
  return {
    name: 'embedded',
    api: undefined,
    async start() {
      // Loaded lazily: the remote-only run has no native addon.
      this.api = require('../../lib'); // eslint-disable-line @typescript-eslint/no-require-imports
    },
    async stop() {},
  };
}

function remoteBackend(): Backend {
  let server: ServerProcess | undefined;
  return {
    name: 'remote',
    api: undefined,
    async start() {
      server = await startServer();
      const keys = await makeTenant(server, 'parity');
      this.api = connect({ url: server.url, apiKey: keys.write });
    },
    async stop() {
      await server?.stop();
      if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
    },
  };
}

interface Kind {
  name: string;
  make: (f: any) => any;
  exact?: boolean;
  ids?: boolean;
  range: boolean;
  reconstruct: boolean;
  /** FAISS can remove from it (the service removes from every type). */
  removable: boolean;
  ivf?: boolean;
}

const kinds: Kind[] = [
  { name: 'IndexFlatL2', make: (f) => new f.IndexFlatL2(d), exact: true, range: true, reconstruct: true, removable: true },
  { name: 'IndexFlatIP', make: (f) => new f.IndexFlatIP(d), range: true, reconstruct: true, removable: true },
  { name: 'IndexIVFFlat', make: (f) => new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 8), range: true, reconstruct: true, removable: true, ivf: true },
  { name: 'IndexIVFPQ', make: (f) => new f.IndexIVFPQ(new f.IndexFlatL2(d), d, 8, 4, 4), range: true, reconstruct: true, removable: true, ivf: true },
  { name: 'IndexHNSWFlat', make: (f) => new f.IndexHNSWFlat(d, 16), range: false, reconstruct: true, removable: false },
  { name: 'IndexPQ', make: (f) => new f.IndexPQ(d, 4, 4), range: false, reconstruct: true, removable: true },
  { name: 'IndexScalarQuantizer', make: (f) => new f.IndexScalarQuantizer(d, f.ScalarQuantizer.QT_8bit), range: false, reconstruct: true, removable: true },
  { name: 'IndexIDMap', make: (f) => new f.IndexIDMap(new f.IndexFlatL2(d)), exact: true, ids: true, range: true, reconstruct: false, removable: true },
  { name: 'IndexIDMap2', make: (f) => new f.IndexIDMap2(new f.IndexFlatL2(d)), exact: true, ids: true, range: true, reconstruct: true, removable: true },
  { name: 'indexFactory("IVF4,SQ8")', make: (f) => f.indexFactory(d, 'IVF4,SQ8'), range: true, reconstruct: true, removable: true, ivf: true },
];

// Binary indexes: codes of 64 bits.
const bits = 64;
const codeBytes = bits / 8;
const codesOf = (n: number, seed: number): Uint8Array => {
  const x = randomVectors(n * codeBytes, 1, seed);
  return Uint8Array.from(x, (v) => Math.floor(v * 256));
};
const cb = codesOf(400, 406);
const cq = codesOf(4, 407);
const codeRow = (x: Uint8Array, i: number): Uint8Array => x.subarray(i * codeBytes, (i + 1) * codeBytes);
function hamming(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) for (let v = a[i] ^ b[i]; v; v &= v - 1) s++;
  return s;
}

interface BinaryKind {
  name: string;
  make: (f: any) => any;
  exact?: boolean;
  ivf?: boolean;
  range: boolean;
  reconstruct: boolean;
  /** FAISS removes from it without renumbering (the service refuses the others: they would renumber). */
  keepsIds: boolean;
  /** FAISS removes from it at all (a flat one renumbers, embedded). */
  removable: boolean;
}

const binaryKinds: BinaryKind[] = [
  { name: 'IndexBinaryFlat', make: (f) => new f.IndexBinaryFlat(bits), exact: true, range: true, reconstruct: true, keepsIds: false, removable: true },
  { name: 'IndexBinaryIVF', make: (f) => new f.IndexBinaryIVF(new f.IndexBinaryFlat(bits), bits, 8), ivf: true, range: true, reconstruct: false, keepsIds: true, removable: true },
  { name: 'IndexBinaryHNSW', make: (f) => new f.IndexBinaryHNSW(bits, 8), range: false, reconstruct: true, keepsIds: false, removable: false },
  { name: 'indexBinaryFactory("BIVF4_HNSW8")', make: (f) => f.indexBinaryFactory(bits, 'BIVF4_HNSW8'), ivf: true, range: true, reconstruct: false, keepsIds: true, removable: true },
];

async function rejectsWith(p: Promise<unknown> | (() => unknown), code: string): Promise<void> {
  await assert.rejects(async () => (typeof p === 'function' ? p() : p), (e: unknown) => {
    assert.ok(e instanceof FaissError || (e as Error).name === 'FaissError', `not a FaissError: ${String(e)}`);
    assert.equal((e as FaissError).code, code, (e as Error).message);
    return true;
  });
}

/** A property's getter, wherever it is on the prototype chain. */
function getterOf(proto: object | null, name: string): () => unknown {
  for (let p = proto; p; p = Object.getPrototypeOf(p)) {
    const get = Object.getOwnPropertyDescriptor(p, name)?.get;
    if (get) return get;
  }
  throw new Error(`no getter ${name}`);
}

const wanted = (process.env.PARITY_BACKENDS ?? 'embedded,remote').split(',');
const backends = [embeddedBackend(), remoteBackend()].filter((b) => wanted.includes(b.name));

for (const backend of backends) {
  describe(`parity suite: ${backend.name}`, function () {
    this.timeout(120_000);
    before(() => backend.start());
    after(() => backend.stop());

    for (const kind of kinds) {
      it(`${kind.name}: train, add, search, rangeSearch, reconstruct, removeIds, reset`, async () => {
        const f = backend.api;
        const index = kind.make(f);
        try {
          assert.equal(index.d, d);
          if (!index.isTrained) {
            await rejectsWith(index.add(xb), 'ERR_NOT_TRAINED');
            await index.train(xt);
          }
          const ids = BigInt64Array.from({ length: 500 }, (_, i) => BigInt(7000 + 3 * i));
          if (kind.ids) await index.addWithIds(xb, ids);
          else await index.add(xb);
          assert.equal(index.ntotal, 500);
          const idOf = (i: number): bigint => (kind.ids ? ids[i] : BigInt(i));

          const { distances, labels } = await index.search(xq, 5, kind.ivf ? { nprobe: 8 } : undefined);
          assert.ok(distances instanceof Float32Array && labels instanceof BigInt64Array);
          assert.equal(labels.length, 20);
          if (kind.exact) {
            for (let q = 0; q < 4; q++) assert.equal(labels[q * 5], idOf(bruteForceNearest(xb, d, row(xq, d, q))));
          }

          // assign: the search's labels; searchAndReconstruct: its answer with the stored vectors.
          assert.deepEqual(await index.assign(xq, 5, kind.ivf ? { nprobe: 8 } : undefined), labels);
          if (kind.reconstruct) {
            const sr = await index.searchAndReconstruct(xq, 5, kind.ivf ? { nprobe: 8 } : undefined);
            assert.deepEqual(sr.labels, labels);
            assert.equal(sr.vectors.length, 20 * d);
            if (kind.exact || kind.name.startsWith('IndexFlat') || kind.name === 'IndexHNSWFlat' || kind.name === 'IndexIVFFlat') {
              for (let i = 0; i < 20; i++) {
                const at: number = kind.ids ? ids.indexOf(labels[i]) : Number(labels[i]);
                assert.deepEqual(sr.vectors.subarray(i * d, (i + 1) * d), row(xb, d, at));
              }
            }
          } else {
            await rejectsWith(index.searchAndReconstruct(xq, 5), 'ERR_UNSUPPORTED');
          }

          if (kind.range) {
            const r = await index.rangeSearch(xq, 1.0, kind.ivf ? { nprobe: 8 } : undefined);
            assert.equal(r.lims.length, 5);
            assert.equal(Number(r.lims[4]), r.labels.length);
          } else {
            await rejectsWith(index.rangeSearch(xq, 1.0), 'ERR_UNSUPPORTED');
          }

          if (kind.ivf) await index.makeDirectMap('hashtable');
          if (kind.reconstruct) {
            const v = await index.reconstruct(idOf(9));
            assert.equal(v.length, d);
            if (kind.exact || kind.name.startsWith('IndexFlat') || kind.name === 'IndexHNSWFlat' || kind.name === 'IndexIVFFlat') {
              assert.deepEqual(v, row(xb, d, 9));
            }
            await rejectsWith(index.reconstruct(idOf(499) + 100_000n), 'ERR_NOT_FOUND');
          } else {
            await rejectsWith(index.reconstruct(idOf(9)), 'ERR_UNSUPPORTED');
          }

          if (kind.removable || backend.name === 'remote') {
            assert.equal(await index.removeIds([idOf(1), idOf(2), 123_456_789n]), 2);
            assert.equal(index.ntotal, 498);
            // The removed vector is not found any more (no exact match at distance 0).
            if (kind.exact) {
              const again = await index.search(row(xb, d, 1), 1);
              assert.notEqual(again.distances[0], 0);
            }
          } else {
            await rejectsWith(index.removeIds([idOf(1)]), 'ERR_UNSUPPORTED');
          }

          await index.reset();
          assert.equal(index.ntotal, 0);
        } finally {
          index.dispose();
        }
      });
    }

    for (const kind of binaryKinds) {
      it(`${kind.name}: train, add, search, rangeSearch, reconstruct, removeIds, reset`, async () => {
        const f = backend.api;
        const index = kind.make(f);
        try {
          assert.ok(index instanceof f.IndexBinary && !(index instanceof f.Index));
          assert.deepEqual([index.d, index.codeSize], [bits, codeBytes]);
          if (!index.isTrained) {
            await rejectsWith(index.add(cb), 'ERR_NOT_TRAINED');
            await index.train(cb);
          }
          await index.add(cb);
          assert.equal(index.ntotal, 400);
          const { distances, labels } = await index.search(cq, 5, kind.ivf ? { nprobe: 8 } : undefined);
          assert.ok(distances instanceof Int32Array && labels instanceof BigInt64Array);
          assert.equal(labels.length, 20);
          for (let q = 0; q < 4; q++) {
            for (let r = 0; r < 5; r++) assert.equal(distances[q * 5 + r], hamming(codeRow(cq, q), codeRow(cb, Number(labels[q * 5 + r]))));
            if (kind.exact) assert.equal(distances[q * 5], Math.min(...Array.from({ length: 400 }, (_, j) => hamming(codeRow(cq, q), codeRow(cb, j)))));
          }
          if (kind.range) {
            const r = await index.rangeSearch(cq, distances[2] + 1, kind.ivf ? { nprobe: 8 } : undefined);
            assert.ok(r.distances instanceof Int32Array);
            assert.equal(r.lims.length, 5);
            assert.ok(r.labels.length >= 3);
          } else {
            await rejectsWith(index.rangeSearch(cq, 10), 'ERR_UNSUPPORTED');
          }
          if (kind.reconstruct) assert.deepEqual(await index.reconstruct(9), codeRow(cb, 9));
          else await rejectsWith(index.reconstruct(9), 'ERR_UNSUPPORTED');
          // The service refuses to renumber (lib/contract.ts): a binary flat index removes embedded only.
          if (kind.keepsIds || (kind.removable && backend.name === 'embedded')) {
            assert.equal(await index.removeIds([1, 2, 123_456_789n]), 2);
            assert.equal(index.ntotal, 398);
          } else {
            await rejectsWith(index.removeIds([1]), 'ERR_UNSUPPORTED');
          }
          await index.reset();
          assert.equal(index.ntotal, 0);
        } finally {
          index.dispose();
        }
      });
    }

    it('binary: serialize / deserialize round trip gives the same answers', async () => {
      const f = backend.api;
      const index = new f.IndexBinaryHNSW(bits, 8);
      await index.add(cb);
      const before = await index.search(cq, 5);
      const copy = await f.deserializeIndexBinary(await f.serializeIndexBinary(index));
      assert.ok(copy instanceof f.IndexBinary);
      assert.deepEqual([copy.ntotal, copy.d], [400, bits]);
      assert.deepEqual(await copy.search(cq, 5), before);
      await rejectsWith(f.deserializeIndex(await f.serializeIndexBinary(index)), 'ERR_CORRUPT_INDEX');
      index.dispose();
      copy.dispose();
    });

    it('binary: a filtered search (params.sel) is ERR_UNSUPPORTED (FAISS 1.7.3 binary indexes take no search parameters)', async () => {
      const f = backend.api;
      const index = new f.IndexBinaryFlat(bits);
      try {
        await index.add(cb);
        const sel = new f.IDSelectorRange(0, 10);
        await rejectsWith(index.search(cq, 5, { sel }), 'ERR_UNSUPPORTED');
        await rejectsWith(index.rangeSearch(cq, 10, { sel }), 'ERR_UNSUPPORTED');
        // A bad selector is still the caller's error first.
        await rejectsWith(index.search(cq, 5, { sel: {} as never }), 'ERR_INVALID_ARGUMENT');
        assert.equal((await index.search(cq, 5)).labels.length, 20);
      } finally {
        index.dispose();
      }
    });

    it('FAISS\'s other metrics on flat and HNSW indexes: the same answers; METRIC_Lp embedded only', async () => {
      const f = backend.api;
      const l1 = new f.IndexFlat(d, 2);
      const js = f.indexFactory(d, 'HNSW8', 22);
      try {
        assert.equal(l1.metricType, 2);
        await l1.add(xb);
        const r = await l1.search(xq, 3);
        for (let q = 0; q < 4; q++) {
          // The exact L1 nearest neighbour, by brute force here.
          const dist = (i: number) => row(xb, d, i).reduce((s: number, v: number, j: number) => s + Math.abs(v - xq[q * d + j]), 0);
          let best = 0;
          for (let i = 1; i < 500; i++) if (dist(i) < dist(best)) best = i;
          assert.equal(r.labels[q * 3], BigInt(best));
          assert.ok(Math.abs(r.distances[q * 3] - dist(best)) < 1e-4);
        }
        await js.add(xb);
        assert.equal((await js.search(row(xb, d, 7), 1)).labels[0], 7n);
        if (backend.name === 'remote') {
          assert.throws(() => new f.IndexFlat(d, 4), (e: FaissError) => e.code === 'ERR_UNSUPPORTED');
        } else {
          const lp = new f.IndexFlat(d, 4);
          lp.metricArg = 3;
          lp.dispose();
        }
      } finally {
        l1.dispose();
        js.dispose();
      }
    });

    it('serialize / deserialize round trip gives the same answers', async () => {
      const f = backend.api;
      const index = new f.IndexHNSWFlat(d, 8);
      await index.add(xb);
      const before = await index.search(xq, 5);
      const copy = await f.deserializeIndex(await f.serializeIndex(index));
      assert.equal(copy.ntotal, 500);
      assert.deepEqual((await copy.search(xq, 5)).labels, before.labels);
      index.dispose();
      copy.dispose();
    });

    it('kmeansSeed: the same seed trains the same IVF index, another seed another (float and binary)', async () => {
      const f = backend.api;
      const trainedWith = async (binary: boolean, seed: number | undefined): Promise<string> => {
        const index = binary ? new f.IndexBinaryIVF(new f.IndexBinaryFlat(bits), bits, 8) : new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 8);
        if (seed !== undefined) index.kmeansSeed = seed;
        assert.equal(index.kmeansSeed, seed ?? (backend.name === 'embedded' ? 1234 : undefined));
        await index.train(binary ? cb : xt);
        const file = Buffer.from(await (binary ? f.serializeIndexBinary(index) : f.serializeIndex(index))).toString('hex');
        index.dispose();
        return file;
      };
      for (const binary of [false, true]) {
        const [unset, seed1234, seed99, again99] = [await trainedWith(binary, undefined), await trainedWith(binary, 1234), await trainedWith(binary, 99), await trainedWith(binary, 99)];
        assert.ok(unset === seed1234, 'unset is 1234, FAISS default');
        assert.ok(seed99 === again99, 'the same seed, the same index');
        assert.ok(seed99 !== seed1234, 'another seed, other centroids');
      }
    });

    const bad: [string, (f: any) => unknown, string][] = [
      ['wrong dimension', (f) => new f.IndexFlatL2(d).add(new Float32Array(d + 1)), 'ERR_DIMENSION'],
      ['k = 0', (f) => new f.IndexFlatL2(d).search(xq, 0), 'ERR_INVALID_ARGUMENT'],
      ['NaN in a query', (f) => new f.IndexFlatL2(d).search(new Float32Array(d).fill(NaN), 1), 'ERR_INVALID_ARGUMENT'],
      ['ids of the wrong length', (f) => new f.IndexIDMap(new f.IndexFlatL2(d)).addWithIds(xb, [1, 2]), 'ERR_INVALID_ARGUMENT'],
      ['addWithIds on a flat index', (f) => new f.IndexFlatL2(d).addWithIds(row(xb, d, 0), [5]), 'ERR_UNSUPPORTED'],
      ['nprobe on HNSW', async (f) => {
        const h = new f.IndexHNSWFlat(d, 8);
        await h.add(xb);
        return h.search(xq, 1, { nprobe: 3 });
      }, 'ERR_UNSUPPORTED'],
      ['unknown search parameter', (f) => new f.IndexFlatL2(d).search(xq, 1, { nprob: 1 }), 'ERR_INVALID_ARGUMENT'],
      ['use after dispose', (f) => {
        const i = new f.IndexFlatL2(d);
        i.dispose();
        return i.search(xq, 1);
      }, 'ERR_DISPOSED'],
      ['bad dimension in a constructor', (f) => new f.IndexFlatL2(0), 'ERR_INVALID_ARGUMENT'],
      // The limits of lib/limits.ts, the same embedded and remote.
      ['dimension above the maximum (2^20)', (f) => new f.IndexFlatL2(2 ** 20 + 1), 'ERR_INVALID_ARGUMENT'],
      ['metric 7 (no FAISS metric)', (f) => new f.IndexFlat(d, 7), 'ERR_INVALID_ARGUMENT'],
      // FAISS's other metrics (METRIC_L1 = 2, ...) work with flat and HNSW-flat indexes in process only.
      ['METRIC_L1 on an IVF index', (f) => new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 8, 2), 'ERR_UNSUPPORTED'],
      ['nlist above the maximum (2^24)', (f) => new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 2 ** 24 + 1), 'ERR_INVALID_ARGUMENT'],
      ['PQ nbits 17', (f) => new f.IndexPQ(d, 4, 17), 'ERR_INVALID_ARGUMENT'],
      ['PQ m 0', (f) => new f.IndexIVFPQ(new f.IndexFlatL2(d), d, 8, 0, 8), 'ERR_INVALID_ARGUMENT'],
      ['HNSW M 1', (f) => new f.IndexHNSWFlat(d, 1), 'ERR_INVALID_ARGUMENT'],
      ['scalar quantizer type 7', (f) => new f.IndexScalarQuantizer(d, 7), 'ERR_INVALID_ARGUMENT'],
      ['a factory description that is not a string', (f) => f.indexFactory(d, 42), 'ERR_INVALID_ARGUMENT'],
      ['a factory metric of 5', (f) => f.indexFactory(d, 'Flat', 5), 'ERR_INVALID_ARGUMENT'],
      ['a Proxy of an index as quantizer', (f) => new f.IndexIVFFlat(new Proxy(new f.IndexFlatL2(d), {}), d, 8), 'ERR_INVALID_ARGUMENT'],
      ['an object made from Index.prototype as the wrapped index', (f) => new f.IndexIDMap(Object.create(f.IndexFlatL2.prototype)), 'ERR_INVALID_ARGUMENT'],
      ['a disposed quantizer', (f) => {
        const q = new f.IndexFlatL2(d);
        q.dispose();
        return new f.IndexIVFFlat(q, d, 8);
      }, 'ERR_DISPOSED'],
      ['serializeIndex of a disposed index', (f) => {
        const i = new f.IndexFlatL2(d);
        i.dispose();
        return f.serializeIndex(i);
      }, 'ERR_DISPOSED'],
      ['k above the maximum (2^20)', (f) => new f.IndexFlatL2(d).search(xq, 2 ** 20 + 1), 'ERR_INVALID_ARGUMENT'],
      ['k = 1.5', (f) => new f.IndexFlatL2(d).search(xq, 1.5), 'ERR_INVALID_ARGUMENT'],
      ['params.nprobe = 0', (f) => new f.IndexFlatL2(d).search(xq, 1, { nprobe: 0 }), 'ERR_INVALID_ARGUMENT'],
      ['params.efSearch above the maximum (2^30)', (f) => new f.IndexFlatL2(d).search(xq, 1, { efSearch: 2 ** 30 + 1 }), 'ERR_INVALID_ARGUMENT'],
      ['params that are not an object', (f) => new f.IndexFlatL2(d).search(xq, 1, 5), 'ERR_INVALID_ARGUMENT'],
      ['setting nprobe to 0', (f) => {
        new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 8).nprobe = 0;
      }, 'ERR_INVALID_ARGUMENT'],
      ['setting efSearch to undefined', (f) => {
        new f.IndexHNSWFlat(d, 8).efSearch = undefined;
      }, 'ERR_INVALID_ARGUMENT'],
      ['setting kmeansSeed to 2^31', (f) => {
        new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 8).kmeansSeed = 2 ** 31;
      }, 'ERR_INVALID_ARGUMENT'],
      // Embedded the setter refuses it, remotely the train (the seed is the client's setting, as nprobe is).
      ['kmeansSeed on a flat index, then train', async (f) => {
        const i = new f.IndexFlatL2(d);
        i.kmeansSeed = 7;
        return i.train(xt);
      }, 'ERR_UNSUPPORTED'],
      ['radius NaN', (f) => new f.IndexFlatL2(d).rangeSearch(xq, NaN), 'ERR_INVALID_ARGUMENT'],
      ['a row of the wrong length', (f) => new f.IndexFlatL2(d).search([Array(d - 1).fill(0)], 1), 'ERR_DIMENSION'],
      ['no vectors', (f) => new f.IndexFlatL2(d).add(new Float32Array(0)), 'ERR_INVALID_ARGUMENT'],
      ['id -1 added', (f) => new f.IndexIDMap(new f.IndexFlatL2(d)).addWithIds(row(xb, d, 0), [-1]), 'ERR_INVALID_ARGUMENT'],
      ['removeIds of 1.5', (f) => new f.IndexFlatL2(d).removeIds([1.5]), 'ERR_INVALID_ARGUMENT'],
      ['reconstruct(1.5)', (f) => new f.IndexFlatL2(d).reconstruct(1.5), 'ERR_INVALID_ARGUMENT'],
      ['reconstructN(-1, 1)', (f) => new f.IndexFlatL2(d).reconstructN(-1, 1), 'ERR_INVALID_ARGUMENT'],
      ['makeDirectMap("bogus")', (f) => new f.IndexIVFFlat(new f.IndexFlatL2(d), d, 8).makeDirectMap('bogus'), 'ERR_INVALID_ARGUMENT'],
      ['deserializeIndex of a plain object', (f) => f.deserializeIndex({ length: 4 }), 'ERR_INVALID_ARGUMENT'],
      ['deserializeIndex of a Proxy of a Uint8Array', (f) => f.deserializeIndex(new Proxy(new Uint8Array(8), {})), 'ERR_INVALID_ARGUMENT'],
      ['deserializeIndex with options null', (f) => f.deserializeIndex(new Uint8Array(8), null), 'ERR_INVALID_ARGUMENT'],
      ['deserializeIndex with trusted "yes"', (f) => f.deserializeIndex(new Uint8Array(8), { trusted: 'yes' }), 'ERR_INVALID_ARGUMENT'],
      ['serializeIndex of a plain object', (f) => f.serializeIndex({}), 'ERR_INVALID_ARGUMENT'],
      ['vectors in a Proxy of a Float32Array', (f) => new f.IndexFlatL2(d).add(new Proxy(new Float32Array(d), {})), 'ERR_INVALID_ARGUMENT'],
      ['ids in a DataView', (f) => new f.IndexIDMap(new f.IndexFlatL2(d)).addWithIds(row(xb, d, 0), new DataView(new ArrayBuffer(8))), 'ERR_INVALID_ARGUMENT'],
      ['a method called on a foreign object', (f) => f.IndexFlatL2.prototype.search.call({}, xq, 1), 'ERR_INVALID_ARGUMENT'],
      ['a getter called on a Proxy of an index', (f) => getterOf(f.IndexFlatL2.prototype, 'ntotal').call(new Proxy(new f.IndexFlatL2(d), {})), 'ERR_INVALID_ARGUMENT'],
      // Binary indexes: the same bounds and codes, embedded and remote.
      ['binary: d = 12 (not a multiple of 8)', (f) => new f.IndexBinaryFlat(12), 'ERR_INVALID_ARGUMENT'],
      ['binary: d = 0', (f) => new f.IndexBinaryFlat(0), 'ERR_INVALID_ARGUMENT'],
      ['binary: d above the maximum (2^20)', (f) => new f.IndexBinaryHNSW(2 ** 20 + 8), 'ERR_INVALID_ARGUMENT'],
      ['binary: codes not a multiple of d / 8', (f) => new f.IndexBinaryFlat(bits).add(new Uint8Array(codeBytes + 1)), 'ERR_DIMENSION'],
      ['binary: a row of the wrong length', (f) => new f.IndexBinaryFlat(bits).search([[1, 2, 3]], 1), 'ERR_DIMENSION'],
      ['binary: a byte of 300', (f) => new f.IndexBinaryFlat(bits).add([[...Array(codeBytes - 1).fill(0), 300]]), 'ERR_INVALID_ARGUMENT'],
      ['binary: float vectors given to a binary index', (f) => new f.IndexBinaryFlat(bits).add(new Float32Array(codeBytes)), 'ERR_INVALID_ARGUMENT'],
      ['binary: codes given to a float index', (f) => new f.IndexFlatL2(d).add(new Uint8Array(4 * d)), 'ERR_INVALID_ARGUMENT'],
      ['binary: k = 0', (f) => new f.IndexBinaryFlat(bits).search(cq, 0), 'ERR_INVALID_ARGUMENT'],
      ['binary: radius 1.5', (f) => new f.IndexBinaryFlat(bits).rangeSearch(cq, 1.5), 'ERR_INVALID_ARGUMENT'],
      ['binary: a float index as quantizer', (f) => new f.IndexBinaryIVF(new f.IndexFlatL2(bits), bits, 4), 'ERR_INVALID_ARGUMENT'],
      ['binary: a quantizer of another dimension', (f) => new f.IndexBinaryIVF(new f.IndexBinaryFlat(32), bits, 4), 'ERR_DIMENSION'],
      ['binary: a binary index as a float quantizer', (f) => new f.IndexIVFFlat(new f.IndexBinaryFlat(d * 8), d, 4), 'ERR_INVALID_ARGUMENT'],
      ['binary: add to an untrained IVF', (f) => new f.IndexBinaryIVF(new f.IndexBinaryFlat(bits), bits, 4).add(cb), 'ERR_NOT_TRAINED'],
      ['binary: addWithIds on a flat index', (f) => new f.IndexBinaryFlat(bits).addWithIds(codeRow(cb, 0), [5]), 'ERR_UNSUPPORTED'],
      ['binary: nprobe on a flat index', async (f) => {
        const i = new f.IndexBinaryFlat(bits);
        await i.add(cb);
        return i.search(cq, 1, { nprobe: 2 });
      }, 'ERR_UNSUPPORTED'],
      ['binary: a hash index from the factory', async (f) => f.indexBinaryFactory(bits, 'BHash8').add(cb), 'ERR_UNSUPPORTED'],
      ['binary: a factory size out of bounds', async (f) => f.indexBinaryFactory(bits, 'BHNSW1').add(cb), 'ERR_INVALID_ARGUMENT'],
      ['binary: use after dispose', (f) => {
        const i = new f.IndexBinaryFlat(bits);
        i.dispose();
        return i.search(cq, 1);
      }, 'ERR_DISPOSED'],
      ['binary: a method called on a float index', (f) => f.IndexBinaryFlat.prototype.search.call(new f.IndexFlatL2(d), cq, 1), 'ERR_INVALID_ARGUMENT'],
      ['binary: serializeIndexBinary of a float index', (f) => f.serializeIndexBinary(new f.IndexFlatL2(d)), 'ERR_INVALID_ARGUMENT'],
      // A disposed index says so first, whatever the arguments.
      ['a bad argument after dispose', (f) => {
        const i = new f.IndexFlatL2(d);
        i.dispose();
        return i.search(new Float32Array(d + 1), 0);
      }, 'ERR_DISPOSED'],
      ...(['ntotal', 'isTrained', 'bytes', 'version', 'nprobe', 'efSearch', 'efConstruction', 'kmeansSeed'] as const).map(
        (p): [string, (f: any) => unknown, string] => [`.${p} after dispose`, (f) => {
          const i = new f.IndexFlatL2(d);
          i.dispose();
          return i[p];
        }, 'ERR_DISPOSED'],
      ),
    ];
    for (const [what, run, code] of bad) {
      it(`error: ${what} -> ${code}`, async () => rejectsWith(async () => run(backend.api), code));
    }

    it('typed arrays and buffers from another realm are accepted (brand checks, not instanceof)', async () => {
      const f = backend.api;
      const index = new f.IndexIDMap2(new f.IndexFlatL2(d));
      try {
        const x = vm.runInNewContext(`new Float32Array(${2 * d})`) as Float32Array;
        x.set(row(xb, d, 0));
        x.set(row(xb, d, 1), d);
        await index.addWithIds(x, vm.runInNewContext('new BigInt64Array([5n, 6n])'));
        assert.deepEqual((await index.search(row(xb, d, 1), 1)).labels, BigInt64Array.of(6n));
        const bytes = vm.runInNewContext('(b) => { const u = new Uint8Array(b.length); u.set(b); return u; }')(await f.serializeIndex(index));
        const copy = await f.deserializeIndex(bytes);
        assert.equal(copy.ntotal, 2);
        copy.dispose();
      } finally {
        index.dispose();
      }
    });

    it('a dimension above 65,536 works as it does embedded', async () => {
      const f = backend.api;
      const wide = 65_537;
      const index = new f.IndexFlatL2(wide);
      try {
        await index.add(randomVectors(3, wide, 404));
        const { labels } = await index.search(row(randomVectors(3, wide, 404), wide, 2), 1);
        assert.equal(labels[0], 2n);
      } finally {
        index.dispose();
      }
    });

    it('reconstructN of more vectors than one request carries', async () => {
      const f = backend.api;
      const n = 10_001; // the reconstruct route takes at most 10,000 ids a request
      const x = randomVectors(n, 4, 405);
      const index = new f.IndexFlatL2(4);
      try {
        await index.add(x);
        assert.deepEqual(await index.reconstructN(0, n), x);
      } finally {
        index.dispose();
      }
    });
  });
}
