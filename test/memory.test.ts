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
});
