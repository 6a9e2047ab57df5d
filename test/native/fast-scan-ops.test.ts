// Every operation on FAISS 1.7.3's fast-scan indexes (PQ<M>x4fs, IVF<n>,PQ<M>x4fs[r])
// either works or is refused with a code. Its fast-scan IVF keeps codes in block
// lists that take entries only into an empty list and cannot update them, and
// FAISS asks them to inside OpenMP loops (remove_ids, merge_from), where the
// refusal ends the process: so the addon refuses those first. Each case runs in
// a process of its own, so a crash shows as one.
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase } from '../support/crash-case';

const prepare = (factory: string): string => `
  const d = 16;
  const x = Float32Array.from({ length: 1000 * d }, (_, i) => Math.sin(i * 0.37) + Math.cos(i * 0.011));
  const make = async () => {
    const i = faiss.indexFactory(d, ${JSON.stringify(factory)});
    await i.train(x);
    ${factory.startsWith('IDMap') ? 'await i.addWithIds(x.subarray(0, 500 * d), Array.from({ length: 500 }, (_, j) => j * 2));' : 'await i.add(x.subarray(0, 500 * d));'}
    return i;
  };
  const index = await make();`;

const cases: { factory: string; op: string; want: string }[] = [
  { factory: 'IVF4,PQ4x4fs', op: 'return index.removeIds([1, 2]);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4,PQ4x4fsr', op: 'return index.mergeFrom(await make());', want: 'ERR_UNSUPPORTED' },
  { factory: 'IDMap,IVF4,PQ4x4fs', op: 'return index.removeIds([1, 2]);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4,PQ4x4fs', op: 'return index.rangeSearch(x.subarray(0, d), 1);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4,PQ4x4fs', op: 'return (await index.reconstructN(0, 3)).length;', want: 'value' },
  { factory: 'IVF4,PQ4x4fs', op: 'await index.makeDirectMap(); return (await index.reconstruct(3)).length;', want: 'value' },
  { factory: 'IVF4,PQ4x4fs', op: 'return (await index.extractAll()).ids.length;', want: 'value' },
  { factory: 'IVF4,PQ4x4fs', op: 'await index.reset(); return index.ntotal;', want: 'value' },
  { factory: 'PQ4x4fs', op: 'return index.removeIds([1, 2]);', want: 'value' },
  { factory: 'PQ4x4fs', op: 'await index.mergeFrom(await make()); return index.ntotal;', want: 'value' },
  { factory: 'PQ4x4fs', op: 'return index.rangeSearch(x.subarray(0, d), 1);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4,PQ4x4fs,RFlat', op: 'return index.removeIds([1, 2]);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4,PQ4x4fs,RFlat', op: 'return (await index.search(x.subarray(0, 20 * d), 5, { nprobe: 4 })).labels.length;', want: 'value' },
  // FAISS's IndexIVF::search_and_reconstruct scans with get_InvertedListScanner, which
  // the fast-scan IVF does not have (a null scanner: SIGSEGV).
  { factory: 'IVF4,PQ4x4fs', op: 'return index.searchAndReconstruct(x.subarray(0, 3 * d), 4);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IVF4,PQ4x4fsr', op: 'return index.searchAndReconstruct(x.subarray(0, 3 * d), 4);', want: 'ERR_UNSUPPORTED' },
  { factory: 'IDMap2,IVF4,PQ4x4fs', op: 'return index.searchAndReconstruct(x.subarray(0, 3 * d), 4);', want: 'ERR_UNSUPPORTED' },
  { factory: 'L2norm,IVF4,PQ4x4fs', op: 'return index.searchAndReconstruct(x.subarray(0, 3 * d), 4);', want: 'ERR_UNSUPPORTED' },
  { factory: 'PQ4x4fs', op: 'return (await index.searchAndReconstruct(x.subarray(0, 3 * d), 4)).vectors.length;', want: 'value' },
  { factory: 'IVF4,PQ4x4fs,RFlat', op: 'return (await index.searchAndReconstruct(x.subarray(0, 3 * d), 4)).vectors.length;', want: 'value' },
];

describe('native: fast-scan indexes: each operation works or is refused, never a crash', function () {
  this.timeout(60_000);
  for (const c of cases) {
    it(`${c.factory}: ${c.op} -> ${c.want}`, async () => {
      const outcome = await runCase(`${prepare(c.factory)} ${c.op}`, { timeoutMs: 45_000 });
      assert.equal(brokenPromise(outcome), undefined, brokenPromise(outcome));
      if (c.want === 'value') assert.equal(outcome.status, 'value', `${outcome.code}: ${outcome.message}`);
      else assert.equal(outcome.code, c.want, `${outcome.status}: ${outcome.message}`);
    });
  }
});
