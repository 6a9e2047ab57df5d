// A train or an add gives the same index on any number of threads, once adds to
// graphs are capped as a cluster node caps them (setGraphAddThreads(1),
// native/graph_adds.h): replicas that apply the same log hold the same bytes
// (docs/cluster.md). FAISS's k-means, PQ, SQ and transform training and its IVF
// adds do not depend on the thread count; the graph an IVF with an HNSW
// quantizer builds in train does (native/quantizer_graph_adds.h), as does any
// add to a graph on several threads.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { randomVectors, rng } from '../support/data';

const D = 16;
const train = randomVectors(10_000, D, 1);
const added = randomVectors(1_000, D, 2);
const bits = 64;
const codes = (n: number, seed: number): Uint8Array => {
  const next = rng(seed);
  return Uint8Array.from({ length: (n * bits) / 8 }, () => Math.floor(next() * 256));
};
const binaryTrain = codes(4_000, 3);
const binaryAdded = codes(1_000, 4);

/** Every kind of factory string this binding builds (native/factory_check.cc), trained and added to; 8-bit PQs and OPQ on fewer rows (their k-means are the slow ones). */
const floatTypes: { factory: string; rows?: number }[] = [
  { factory: 'IVF256_HNSW32,Flat' },
  { factory: 'IVF256_HNSW16,PQ4x4np' },
  { factory: 'IDMap2,PCAR8,IVF256_HNSW16,SQ8' },
  { factory: 'IVF256_HNSW16,Flat,RFlat' },
  { factory: 'IVF64,Flat' },
  { factory: 'IVF64,PQ4np', rows: 1_500 },
  { factory: 'IVF64,PQ4x4fsr' },
  { factory: 'IVF64,SQ8' },
  { factory: 'OPQ4_16,IVF32,PQ4x4np', rows: 600 },
  { factory: 'PCAW8,IVF16,Flat' },
  { factory: 'L2norm,IVF32,Flat,RFlat' },
  { factory: 'PQ4x4fs' },
  { factory: 'SQ4' },
  { factory: 'LSHrt' },
  { factory: 'HNSW16' },
  { factory: 'HNSW16,PQ4np', rows: 1_500 },
  { factory: 'HNSW16,SQ8' },
];
const binaryTypes = ['BIVF256_HNSW16', 'BIVF64', 'BHNSW16'];

async function floatBytes({ factory, rows }: { factory: string; rows?: number }): Promise<Buffer> {
  const index = faiss.indexFactory(D, factory);
  try {
    await index.train(rows ? train.subarray(0, rows * D) : train);
    if (factory.startsWith('IDMap')) await index.addWithIds(added, BigInt64Array.from({ length: 1_000 }, (_, i) => BigInt(7 * i)));
    else await index.add(added);
    return Buffer.from(await faiss.serializeIndex(index));
  } finally {
    index.dispose();
  }
}

async function binaryBytes(factory: string): Promise<Buffer> {
  const index = faiss.indexBinaryFactory(bits, factory);
  try {
    await index.train(binaryTrain);
    await index.add(binaryAdded);
    return Buffer.from(await faiss.serializeIndexBinary(index));
  } finally {
    index.dispose();
  }
}

describe('train and add on any number of threads, graph adds capped: the same bytes', function () {
  this.timeout(120_000);
  before(() => faiss.setGraphAddThreads(1));
  after(() => {
    faiss.setGraphAddThreads(0);
    faiss.setNumThreads(0);
  });

  /** The bytes built on one thread, then twice on eight: all three the same. */
  async function sameOnAnyThreads(name: string, build: () => Promise<Buffer>): Promise<void> {
    faiss.setNumThreads(1);
    const one = await build();
    faiss.setNumThreads(8);
    for (let round = 0; round < 2; round++) {
      assert.ok((await build()).equals(one), `${name}: built on 8 threads (round ${round + 1}), it differs from the one-thread build`);
    }
  }

  for (const t of floatTypes) it(t.factory, () => sameOnAnyThreads(t.factory, () => floatBytes(t)));
  for (const factory of binaryTypes) it(factory, () => sameOnAnyThreads(factory, () => binaryBytes(factory)));

  it("an IVF's HNSW quantizer is FAISS's own after the train: searched, read back and trained no more", async () => {
    faiss.setNumThreads(8);
    const index = faiss.indexFactory(D, 'IVF256_HNSW32,Flat');
    try {
      await index.train(train);
      await index.add(added);
      const read = await faiss.deserializeIndex(await faiss.serializeIndex(index));
      try {
        const q = randomVectors(50, D, 5);
        assert.deepEqual(await read.search(q, 5, { nprobe: 4 }), await index.search(q, 5, { nprobe: 4 }));
        // Trained already: a second train leaves the quantizer alone.
        const before = Buffer.from(await faiss.serializeIndex(index));
        await index.train(train);
        assert.ok(Buffer.from(await faiss.serializeIndex(index)).equals(before));
      } finally {
        read.dispose();
      }
    } finally {
      index.dispose();
    }
  });
});
