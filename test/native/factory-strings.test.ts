// Factory strings and class constructors are checked before FAISS sees them.
// FAISS 1.7.3's index_factory builds whatever its regular expressions match: each
// case below crashed, hung or exhausted memory when built and used, and must now
// be refused with a code (ERR_INVALID_ARGUMENT for a size out of range,
// ERR_UNSUPPORTED for a component outside the allow-list, ERR_RESOURCE_LIMIT when
// the tables would pass the per-call memory limit). Each runs in its own process,
// doing what crashed it, with its memory bounded.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as faiss from '../../lib';
import { brokenPromise, runCase } from '../support/crash-case';
import { PYTHON } from '../support/oracle';

const d = 8;
const MAX_RSS = 768 * 2 ** 20;
// Trains (when needed), adds with ids or without, searches 20 queries, serializes.
const use = `
  const x = Float32Array.from({ length: 600 * d }, (_, i) => Math.sin(i * 0.37));
  if (!index.isTrained) await index.train(x);
  if (/IDMap|IVF/.test(index.typeName)) await index.addWithIds(x.subarray(0, 300 * d), BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i)));
  else await index.add(x.subarray(0, 300 * d));
  await index.search(x.subarray(0, 20 * d), 3);
  await faiss.serializeIndex(index);
  return index.typeName;`;

const refused: { factory: string; code: string; dim?: number; before?: string }[] = [
  { factory: 'PQ0', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PQ8x0', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PQ8x32', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PQ3', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'OPQ0,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'OPQ3,PQ3', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PCA0,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PCA16,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'HNSW0', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'HNSW1', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'HNSW100000,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF0,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF4,PQ2x0', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF4_HNSW1,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF20000000,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF200000000,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF2000000000,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF99999999999999999999,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF4,nonsense', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'Flat,Flat', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IDMap', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'NSG32,Flat', code: 'ERR_UNSUPPORTED' },
  { factory: 'RQ2x4', code: 'ERR_UNSUPPORTED' },
  { factory: 'IDMap,RQ2x4', code: 'ERR_UNSUPPORTED' },
  { factory: 'LSQ2x4', code: 'ERR_UNSUPPORTED' },
  { factory: 'PQ2x4fs_0', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF4,PQ2x4fs_48', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PQ4x4fs_64', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'PQ2x4fsr', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'HNSW8,PQ2x4fs', code: 'ERR_INVALID_ARGUMENT' },
  { factory: 'IVF4,PQ2+2', code: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4(PQ2),Flat', code: 'ERR_UNSUPPORTED' },
  { factory: 'IDMap,Flat,RFlat', code: 'ERR_UNSUPPORTED' },
  { factory: 'Refine(Flat)', code: 'ERR_UNSUPPORTED' },
  { factory: 'HNSW32,2x4+PQ2', code: 'ERR_UNSUPPORTED' },
  // Within the sizes each component takes, but over the per-call memory limit.
  { factory: 'IVF16000000,Flat', code: 'ERR_RESOURCE_LIMIT', dim: 128 },
  { factory: 'IVF100000,Flat', code: 'ERR_RESOURCE_LIMIT', dim: 128, before: 'faiss.setMemoryLimits({ perCallBytes: 16 * 2 ** 20 });' },
  { factory: 'PQ4096x16', code: 'ERR_RESOURCE_LIMIT', dim: 65536 },
];

// Small codebooks: training 8-bit PQs (polysemous training included) takes seconds.
const accepted = ['Flat', 'IDMap,Flat', 'IDMap2,HNSW8', 'HNSW16,SQ8', 'HNSW4_SQ8', 'L2norm,Flat', 'PQ2x4', 'SQfp16', 'LSH', 'PCA4,IVF4,SQ8', 'OPQ2_8,IVF4,PQ2x4', 'PCAR4,IVF4_HNSW8,Flat', 'IDMap2,IVF4,PQ4x3', 'IVF4,Flat,RFlat', 'PQ2x4fs', 'PQ4x4fs_32', 'IVF4,PQ2x4fs', 'IVF4,PQ2x4fsr', 'IDMap2,IVF4,PQ4x4fs', 'IVF4,PQ2x4fs,RFlat', 'PQ2np', 'IVF4,PQ2x4np', 'HNSW8,PQ2np'];
// Built and named only (their 8-bit PQ trains for tens of seconds).
const builtOnly = ['HNSW16,PQ4', 'IVF16,PQ8'];

function pythonTypeNames(factories: string[]): string[] {
  const script = `
import faiss, json, sys
print(json.dumps([type(faiss.index_factory(${d}, s)).__name__ for s in json.loads(sys.argv[1])]))
`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify(factories)], { encoding: 'utf8' }));
}

describe('native: factory strings and constructors are checked before FAISS sees them', function () {
  this.timeout(120_000);

  for (const c of refused) {
    it(`indexFactory(${c.dim ?? d}, "${c.factory}"), trained, filled, searched, serialized: ${c.code}`, async () => {
      const outcome = await runCase(
        `const d = ${c.dim ?? d}; ${c.before ?? ''}
         const index = faiss.indexFactory(d, ${JSON.stringify(c.factory)}); ${use}`,
        { maxRssBytes: MAX_RSS, timeoutMs: 60_000 },
      );
      assert.equal(brokenPromise(outcome, MAX_RSS), undefined, brokenPromise(outcome, MAX_RSS));
      assert.equal(outcome.code, c.code, `${outcome.status}: ${outcome.message}`);
      assert.ok(outcome.message && outcome.message.length > 10);
    });
  }

  it('the message names the limit and the size', () => {
    assert.throws(() => faiss.indexFactory(d, 'HNSW1'), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT' && /between 2 and 1024/.test(e.message));
    assert.throws(() => faiss.indexFactory(d, 'NSG32,Flat'), (e: faiss.FaissError) => e.code === 'ERR_UNSUPPORTED' && /NSG32/.test(e.message));
    assert.throws(() => faiss.indexFactory(128, 'IVF16000000,Flat'), (e: faiss.FaissError) => e.code === 'ERR_RESOURCE_LIMIT' && /perCallBytes/.test(e.message) && /GiB/.test(e.message));
  });

  it('new IndexPQ(65536, 65536, 16): ERR_RESOURCE_LIMIT before its 16 GiB codebook is allocated', async () => {
    const outcome = await runCase('return new faiss.IndexPQ(65536, 65536, 16).typeName;', { maxRssBytes: MAX_RSS });
    assert.equal(brokenPromise(outcome, MAX_RSS), undefined, brokenPromise(outcome, MAX_RSS));
    assert.equal(outcome.code, 'ERR_RESOURCE_LIMIT', outcome.message);
  });

  it('class constructors hold nlist and codebooks to the limit too', async () => {
    const outcome = await runCase(
      `faiss.setMemoryLimits({ perCallBytes: 2 ** 20 });
       const codes = [];
       for (const make of [
         () => new faiss.IndexIVFFlat(new faiss.IndexFlatL2(64), 64, 100000),
         () => new faiss.IndexIVFPQ(new faiss.IndexFlatL2(64), 64, 4, 8, 16),
         () => new faiss.IndexPQ(64, 8, 16),
       ]) { try { make(); codes.push('built'); } catch (e) { codes.push(e.code); } }
       return codes;`,
      { maxRssBytes: MAX_RSS },
    );
    assert.equal(brokenPromise(outcome, MAX_RSS), undefined, brokenPromise(outcome, MAX_RSS));
    assert.deepEqual(outcome.value, ['ERR_RESOURCE_LIMIT', 'ERR_RESOURCE_LIMIT', 'ERR_RESOURCE_LIMIT']);
  });

  it(`accepted strings build the class python3-faiss builds, and (but ${builtOnly.join(', ')}) train, add, search and serialize: ${accepted.join(' ')}`, async () => {
    const all = [...accepted, ...builtOnly];
    const want = pythonTypeNames(all);
    for (const [i, factory] of all.entries()) {
      const index = faiss.indexFactory(d, factory);
      // This binding names a flat index by its metric, as Python's constructors do.
      assert.equal(index.typeName.replace(/^IndexFlat(L2|IP)$/, 'IndexFlat'), want[i], factory);
      if (builtOnly.includes(factory)) continue;
      const x = Float32Array.from({ length: 600 * d }, (_, j) => Math.sin(j * 0.37));
      if (!index.isTrained) await index.train(x);
      if (/IDMap|IVF/.test(index.typeName)) await index.addWithIds(x.subarray(0, 300 * d), BigInt64Array.from({ length: 300 }, (_, j) => BigInt(j)));
      else await index.add(x.subarray(0, 300 * d));
      const r = await index.search(x.subarray(0, 20 * d), 3);
      assert.ok(r.labels.every((l) => l >= -1n && l < 300n), factory);
      assert.ok((await faiss.serializeIndex(index)).length > 0);
      index.dispose();
    }
  });
});
