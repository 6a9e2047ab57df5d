// What makes an add to an HNSW graph build the same graph wherever it runs
// (native/graph_adds.h): a graph read back from its bytes draws the levels of
// its next vertices as the graph kept in memory does (FAISS's file does not keep
// the generator), and with setGraphAddThreads(1) one add of many vectors builds
// the same graph every time. A cluster's replicas rely on both (docs/cluster.md).
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { randomVectors } from '../support/data';

const D = 16;
const bytesOf = async (index: faiss.Index): Promise<Buffer> => Buffer.from(await faiss.serializeIndex(index));

describe('graph adds: the same graph from the same adds', () => {
  afterEach(() => faiss.setGraphAddThreads(0));

  it('a graph read back from its bytes, then added to, is the graph kept in memory and added to alike', async () => {
    faiss.setGraphAddThreads(1);
    for (const make of [() => new faiss.IndexHNSWFlat(D, 16), () => new faiss.IndexIDMap2(new faiss.IndexHNSWFlat(D, 16))]) {
      const kept = make();
      const add = (index: faiss.Index, x: Float32Array, first: number) =>
        index.typeName.startsWith('IndexIDMap') ? index.addWithIds(x, BigInt64Array.from({ length: x.length / D }, (_, i) => BigInt(first + i))) : index.add(x);
      await add(kept, randomVectors(500, D, 1), 0);
      const read = await faiss.deserializeIndex(await faiss.serializeIndex(kept));
      try {
        for (const [i, seed] of [2, 3, 4].entries()) {
          const x = randomVectors(300, D, seed);
          await add(kept, x, 500 + 300 * i);
          await add(read, x, 500 + 300 * i);
        }
        assert.ok((await bytesOf(read)).equals(await bytesOf(kept)), `${kept.typeName}: the graph read back grew otherwise`);
      } finally {
        kept.dispose();
        read.dispose();
      }
    }
  });

  it('one add of many vectors on one thread builds the same graph every time', async () => {
    faiss.setGraphAddThreads(1);
    assert.equal(faiss.getGraphAddThreads(), 1);
    const x = randomVectors(4_000, D, 7);
    const graphs: Buffer[] = [];
    for (let round = 0; round < 3; round++) {
      const index = new faiss.IndexHNSWFlat(D, 16);
      try {
        await index.add(x);
        graphs.push(await bytesOf(index));
      } finally {
        index.dispose();
      }
    }
    assert.ok(graphs[1].equals(graphs[0]) && graphs[2].equals(graphs[0]), 'two one-thread builds of the same vectors differ');
  });

  it('setGraphAddThreads takes 0 (no cap) to 4 per core', () => {
    faiss.setGraphAddThreads(0);
    assert.equal(faiss.getGraphAddThreads(), 0);
    for (const bad of [-1, 1.5, NaN, '1' as unknown as number, 1e6]) {
      assert.throws(() => faiss.setGraphAddThreads(bad), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT', String(bad));
    }
  });
});
