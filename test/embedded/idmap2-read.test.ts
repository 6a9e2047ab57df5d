// Reading an IndexIDMap2: FAISS 1.7.3 rebuilds its reverse table while reading,
// before anything checks the file's ntotal against the id table, so a file whose
// ntotal is too large made it read past the table (a crash, about one import-fuzz
// run in ten). native/idmap2_guard.cc reads it as an IndexIDMap and checks first.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexFlatL2, IndexIDMap2, deserializeIndex, readIndex, serializeIndex, writeIndex, type FaissError } from '../../lib';
import { randomVectors } from '../support/data';

const d = 8;

async function idMap2(n: number): Promise<Buffer> {
  const index = new IndexIDMap2(new IndexFlatL2(d));
  await index.addWithIds(randomVectors(n, d, 3), BigInt64Array.from({ length: n }, (_, i) => BigInt(1000 + i)));
  const bytes = Buffer.from(await serializeIndex(index));
  index.dispose();
  return bytes;
}

describe('reading IndexIDMap2', () => {
  it('a valid file reads back as an IndexIDMap2 whose reverse table works', async () => {
    const copy = await deserializeIndex(await idMap2(50));
    assert.equal(copy.typeName, 'IndexIDMap2');
    assert.equal(copy.ntotal, 50);
    assert.deepEqual(Array.from(await copy.reconstruct(1010n)), Array.from(randomVectors(50, d, 3).subarray(10 * d, 11 * d)));
    assert.equal(await copy.removeIds(BigInt64Array.from([1000n, 1001n, 5n])), 2);
    assert.equal(copy.ntotal, 48);
    copy.dispose();
  });

  it('the same from a file', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'idmap2-'));
    try {
      const file = path.join(dir, 'x.index');
      const source = await deserializeIndex(await idMap2(20));
      await writeIndex(source, file);
      source.dispose();
      const copy = await readIndex(file);
      assert.equal(copy.typeName, 'IndexIDMap2');
      assert.deepEqual(Array.from(await copy.reconstruct(1019n)), Array.from(randomVectors(20, d, 3).subarray(19 * d, 20 * d)));
      copy.dispose();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  for (const ntotal of [21n, 1_000_000n, 1n << 40n]) {
    it(`a file whose IDMap2 header says ntotal = ${ntotal} over 20 ids is ERR_CORRUPT_INDEX, not a crash`, async () => {
      const bytes = await idMap2(20);
      assert.equal(bytes.subarray(0, 4).toString('latin1'), 'IxM2');
      bytes.writeBigInt64LE(ntotal, 8); // fourcc, int32 d, then int64 ntotal
      await assert.rejects(deserializeIndex(bytes), (e: FaissError) => e.code === 'ERR_CORRUPT_INDEX');
    });
  }
});
