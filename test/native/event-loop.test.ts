// No synchronous call waits for an operation in flight: the JS thread must never
// block on an index's lock, which a training or an add holds for seconds. The
// constructors that copy another index (a quantizer, IDMap's inner index) used to
// wait there (10.6 s measured): an index being changed is now ERR_BUSY at once.
import { strict as assert } from 'node:assert';
import { brokenPromise, runCase } from '../support/crash-case';

// In scope: d, x (a training set long enough to keep the lock for a while), and
// during(promise, f, isRunning): runs f once the operation behind `promise` holds
// the lock (poolStats().running counts FAISS calls under way, which take it
// first), and reports f's FaissError code (or 'no error') and whether the
// operation was still running when f returned.
const prelude = `
  const d = 32;
  let s = 11;
  const x = new Float32Array(8_192 * d).map(() => ((s = (s * 1103515245 + 12345) % 2147483648) / 2147483648));
  const during = async (promise, f, isRunning) => {
    while (faiss.poolStats().running === 0) await new Promise((resolve) => setImmediate(resolve));
    let code = 'no error';
    try { f(); } catch (e) { code = e.code; }
    const running = isRunning();
    await promise;
    return [code, running];
  };
`;

const cases = [
  {
    name: 'IndexIVFFlat(q) while q is being trained',
    body: `
      const q = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 32);
      const outcome = await during(q.train(x), () => new faiss.IndexIVFFlat(q, d, 16), () => !q.isTrained);
      return [...outcome, new faiss.IndexIVFFlat(q, d, 16).d];`,
  },
  {
    name: 'IndexIVFPQ(q) while q is being trained',
    body: `
      const q = faiss.indexFactory(d, 'IVF32,Flat');
      const outcome = await during(q.train(x), () => new faiss.IndexIVFPQ(q, d, 16, 4, 8), () => !q.isTrained);
      return [...outcome, new faiss.IndexIVFPQ(q, d, 16, 4, 8).d];`,
  },
  {
    name: 'IndexIDMap(inner) while inner is being trained',
    body: `
      const inner = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 32);
      const outcome = await during(inner.train(x), () => new faiss.IndexIDMap2(inner), () => !inner.isTrained);
      return [...outcome, new faiss.IndexIDMap2(inner).d];`,
  },
];

describe('native: no synchronous call waits for an operation in flight', function () {
  this.timeout(60_000);

  for (const c of cases) {
    it(`${c.name} is ERR_BUSY at once, and works once the training is over`, async () => {
      const o = await runCase(prelude + c.body);
      assert.equal(brokenPromise(o), undefined, brokenPromise(o));
      const [code, running, d] = o.value as [string, boolean, number];
      assert.equal(code, 'ERR_BUSY', running ? undefined : 'the constructor returned once the training was over: it waited for the lock');
      assert.equal(running, true);
      assert.equal(d, 32);
    });
  }
});
