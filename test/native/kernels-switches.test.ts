// setKernels / getKernels: the switches of the addon's own search kernels
// (native/kernels/switches.h). Each kernel's own test file checks its answers with
// its switch off and on, and what it answered (kernelStats); this one checks the
// switches themselves, for every kernel, and the shape of kernelStats.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';

const KERNELS = ['flatScan', 'flatBatch', 'hnswBuild', 'hnswSearch', 'ivfScan'] as const;

describe('own search kernels: setKernels / getKernels', () => {
  after(() => faiss.setKernels({ flatScan: true, flatBatch: true, hnswBuild: true, hnswSearch: true, ivfScan: true }));

  it('lists every kernel, all on by default', () => {
    assert.deepEqual(faiss.getKernels(), { flatScan: true, flatBatch: true, hnswBuild: true, hnswSearch: true, ivfScan: true });
  });

  for (const name of KERNELS) {
    it(`${name}: turns off and on; keys left out keep their setting`, () => {
      faiss.setKernels({ [name]: false });
      assert.equal(faiss.getKernels()[name], false);
      faiss.setKernels({});
      assert.equal(faiss.getKernels()[name], false);
      faiss.setKernels({ [name]: true });
      assert.equal(faiss.getKernels()[name], true);
    });

    const bad: [string, unknown][] = [
      ['a number', { [name]: 1 }],
      ['a string', { [name]: 'false' }],
      ['beside an unknown key', { [name]: false, hnswSerch: false }],
      ['behind a throwing getter', { get [name](): boolean { throw new Error('boom'); } }],
    ];
    for (const [what, value] of bad) {
      it(`${name}: refuses ${what} with ERR_INVALID_ARGUMENT and changes nothing`, () => {
        assert.throws(() => faiss.setKernels(value as never), (e: unknown) => faiss.isFaissError(e) && e.code === 'ERR_INVALID_ARGUMENT');
        assert.equal(faiss.getKernels()[name], true);
      });
    }
  }

  it('kernelStats lists every kernel with its searches and its fallback reasons, counted by searches', async () => {
    const reasons = {
      flatScan: ['metric', 'largeK'],
      hnswSearch: ['metric', 'settings'],
      ivfScan: ['metric', 'settings', 'distances', 'smallBatch'],
      flatBatch: ['metric', 'settings', 'largeK', 'indexSize', 'probeFailed', 'overflow'],
    };
    const before = faiss.kernelStats();
    // The search kernels, then hnswBuild (which counts adds: the next test).
    const searchKernels = Object.keys(reasons) as (keyof typeof reasons)[];
    assert.deepEqual(Object.keys(before), [...searchKernels, 'hnswBuild']);
    for (const name of searchKernels) {
      assert.ok(Number.isInteger(before[name].searches) && before[name].searches >= 0, name);
      assert.deepEqual(Object.keys(before[name].fallbacks), reasons[name], name);
    }
    // One search of each kind: counted once, by the kernel that answered; the switch off counts nothing.
    const index = new faiss.IndexFlatL2(4);
    await index.add(new Float32Array(4 * 10).map((_, i) => i % 7));
    await index.search(new Float32Array(4), 3);
    faiss.setKernels({ flatScan: false });
    await index.search(new Float32Array(4), 3);
    faiss.setKernels({ flatScan: true });
    await index.search(new Float32Array(4), 100);
    index.dispose();
    const after = faiss.kernelStats();
    assert.equal(after.flatScan.searches - before.flatScan.searches, 1);
    assert.equal(after.flatScan.fallbacks.largeK - before.flatScan.fallbacks.largeK, 1);
    assert.equal(after.flatBatch.searches - before.flatBatch.searches, 0);
  });

  it('kernelStats().hnswBuild counts the adds the HNSW construction made, and those of its kind it left to FAISS', async () => {
    const before = faiss.kernelStats().hnswBuild;
    assert.deepEqual(Object.keys(before.fallbacks), ['metric', 'settings']);
    const x = new Float32Array(8 * 50).map((_, i) => (i * 37) % 11);
    const l2 = new faiss.IndexHNSWFlat(8, 4);
    await l2.add(x); // the kernel's
    await l2.add(x.subarray(0, 8)); // and again
    faiss.setKernels({ hnswBuild: false });
    await l2.add(x); // FAISS's, the switch off: counted nowhere
    faiss.setKernels({ hnswBuild: true });
    const ip = new faiss.IndexHNSWFlat(8, 4, faiss.METRIC_INNER_PRODUCT);
    const mapped = new faiss.IndexIDMap(ip);
    ip.dispose(); // the wrapper holds its own copy
    await mapped.addWithIds(x, new BigInt64Array(50).map((_, i) => BigInt(i + 100))); // the kernel's, under an IDMap
    const l1 = new faiss.IndexHNSWFlat(8, 4, faiss.METRIC_L1);
    await l1.add(x); // its kind, a metric it leaves to FAISS
    const sq = faiss.indexFactory(8, 'HNSW4_SQ8');
    await sq.train(x);
    await sq.add(x); // not its kind (HNSW over SQ codes): counted nowhere
    for (const index of [l2, mapped, l1, sq]) index.dispose();
    const after = faiss.kernelStats().hnswBuild;
    assert.equal(after.adds - before.adds, 3);
    assert.deepEqual(after.fallbacks, { metric: before.fallbacks.metric + 1, settings: before.fallbacks.settings });
  });

  const badSettings: [string, unknown][] = [
    ['undefined', undefined],
    ['null', null],
    ['a number', 5],
    ['a string', 'on'],
    ['an array', [true]],
    ['a boolean', true],
    ['an unknown key', { flatty: true }],
    ['a Proxy whose ownKeys trap throws', new Proxy({}, { ownKeys: () => { throw new Error('trap'); } })],
  ];
  for (const [what, value] of badSettings) {
    it(`refuses ${what} with ERR_INVALID_ARGUMENT and changes nothing`, () => {
      assert.throws(() => faiss.setKernels(value as never), (e: unknown) => faiss.isFaissError(e) && e.code === 'ERR_INVALID_ARGUMENT');
      assert.deepEqual(faiss.getKernels(), { flatScan: true, flatBatch: true, hnswBuild: true, hnswSearch: true, ivfScan: true });
    });
  }
});
