// The index's memory is visible to V8 (so GC pressure reflects it) and dispose()
// gives it back at once.
import { strict as assert } from 'node:assert';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as faiss from '../lib';
import { randomVectors } from './support/data';

describe('memory', () => {
  it('reports the index size as external memory and releases it on dispose()', async () => {
    const data = randomVectors(40_000, 128, 81); // 20 MB
    // Collect the indexes earlier tests left to GC now, so their release does not
    // overlap this measurement.
    v8.setFlagsFromString('--expose-gc');
    const gc = vm.runInNewContext('gc') as () => void;
    gc();
    await new Promise((r) => setImmediate(r));
    const before = faiss.externalMemory();
    const index = new faiss.IndexFlatL2(128);
    await index.add(data);
    const bytes = 40_000 * 128 * 4;
    assert.ok(index.bytes >= bytes, `index.bytes = ${index.bytes}`);
    const during = faiss.externalMemory();
    assert.ok(during - before >= bytes, `external grew by ${during - before}`);
    index.dispose();
    const after = faiss.externalMemory();
    assert.ok(during - after >= bytes, `external shrank by ${during - after}`);
  });

  // The soak judges memory flatness by these live bytes, not RSS (glibc keeps
  // freed memory): they must follow allocations and frees.
  it('reports the C heap bytes in use, which follow an index being filled and disposed', async () => {
    const heap = faiss.nativeHeap();
    if (heap === null) return; // not glibc: nothing to check
    const bytes = 40_000 * 128 * 4;
    const before = heap.inUseBytes;
    const index = new faiss.IndexFlatL2(128);
    await index.add(randomVectors(40_000, 128, 82));
    const during = faiss.nativeHeap()!;
    assert.ok(during.inUseBytes - before >= bytes, `in use grew by ${during.inUseBytes - before}`);
    assert.ok(during.retainedBytes >= 0);
    index.dispose();
    // The memory is freed on the addon's release thread, soon after dispose().
    let after = faiss.nativeHeap()!.inUseBytes;
    for (let waited = 0; during.inUseBytes - after < bytes && waited < 5_000; waited += 10) {
      await new Promise((r) => setTimeout(r, 10));
      after = faiss.nativeHeap()!.inUseBytes;
    }
    assert.ok(during.inUseBytes - after >= bytes, `in use shrank by ${during.inUseBytes - after}`);
  });
});
