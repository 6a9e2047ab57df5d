// npm run bench:train-threads: what a cluster's one-thread graph adds cost a train
// (issue 19). An IVF with an HNSW coarse quantizer adds its k-means centroids to
// that graph at the end of its train; a cluster node runs that add on one thread
// (setGraphAddThreads(1), native/quantizer_graph_adds.h), so that every replica
// holds the same graph. The rest of the train (k-means, residual training) keeps
// its threads: its bytes do not depend on the thread count
// (test/native/train-threads.test.ts). This times the train of an IVF4096_HNSW32,Flat
// on 100k x 128 with the cap at 1 against no cap, alternating, and once with the
// whole train on one thread (setNumThreads(1)) for what a one-thread train would
// cost, with the process's CPU time beside the wall time; then the quantizer's add
// alone (4096 x 128 into an HNSW32, one thread against no cap); and says whether the
// trains of each kind gave the same bytes. Nothing asserts on time.
//
// Options: --rounds N (default 2: N trains with and without the cap), --scale F
// (F x 100k training vectors).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { positiveNumberOption } from './lib/common';
import { gaussianMixture } from './lib/gaussian-mixture';

const ROUNDS = Math.round(positiveNumberOption('--rounds', 2));
const N = Math.max(4096, Math.round(100_000 * positiveNumberOption('--scale', 1)));
const D = 128;
const NLIST = 4096;
const FACTORY = `IVF${NLIST}_HNSW32,Flat`;

type Kind = 'cap' | 'none' | 'one';
const label: Record<Kind, string> = { cap: 'graph adds on one thread (a cluster node)', none: 'no cap', one: 'the whole train on one thread' };

async function timed(f: () => Promise<void>): Promise<{ wall: number; cpu: number }> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await f();
  const used = process.cpuUsage(cpu);
  return { wall: (performance.now() - start) / 1000, cpu: (used.user + used.system) / 1e6 };
}

async function main(): Promise<void> {
  const x = gaussianMixture({ d: D, clusters: 1000, seed: 1234 }, N, 1);
  console.log(`${faiss.buildInfo().cores} cores; ${FACTORY} trained on ${N} x ${D}`);
  const runs: Record<Kind, { wall: number[]; cpu: number[]; digests: Set<string> }> = {
    cap: { wall: [], cpu: [], digests: new Set() },
    none: { wall: [], cpu: [], digests: new Set() },
    one: { wall: [], cpu: [], digests: new Set() },
  };
  const order: Kind[] = [];
  for (let round = 0; round < ROUNDS; round++) order.push(...(round % 2 === 0 ? (['none', 'cap'] as const) : (['cap', 'none'] as const)));
  order.push('one');
  for (const kind of order) {
    faiss.setGraphAddThreads(kind === 'none' ? 0 : 1);
    faiss.setNumThreads(kind === 'one' ? 1 : 0);
    const index = faiss.indexFactory(D, FACTORY);
    const t = await timed(() => index.train(x));
    runs[kind].wall.push(t.wall);
    runs[kind].cpu.push(t.cpu);
    runs[kind].digests.add(createHash('sha256').update(await faiss.serializeIndex(index)).digest('hex'));
    index.dispose();
    console.log(`${label[kind]}: ${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`);
  }
  faiss.setNumThreads(0);

  // The part the cap changes: the quantizer's add of its nlist centroids.
  const centroids = gaussianMixture({ d: D, clusters: 1000, seed: 1234 }, NLIST, 2);
  for (const kind of ['none', 'cap'] as const) {
    faiss.setGraphAddThreads(kind === 'cap' ? 1 : 0);
    const graph = faiss.indexFactory(D, 'HNSW32');
    const t = await timed(() => graph.add(centroids));
    graph.dispose();
    console.log(`the quantizer's add alone (${NLIST} x ${D} into HNSW32), ${label[kind]}: ${t.wall.toFixed(2)} s wall, ${t.cpu.toFixed(2)} s CPU`);
  }
  faiss.setGraphAddThreads(0);

  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  console.log(
    `train (median of ${ROUNDS}): graph adds on one thread ${median(runs.cap.wall).toFixed(2)} s (CPU ${median(runs.cap.cpu).toFixed(2)} s), ` +
      `no cap ${median(runs.none.wall).toFixed(2)} s (CPU ${median(runs.none.cpu).toFixed(2)} s), whole train on one thread ${runs.one.wall[0].toFixed(2)} s: ` +
      `the cap takes ${(median(runs.cap.wall) / median(runs.none.wall)).toFixed(2)}x the wall time, one thread throughout ${(runs.one.wall[0] / median(runs.none.wall)).toFixed(2)}x`,
  );
  const same = runs.one.digests.size === 1 && [...runs.cap.digests].every((d) => runs.one.digests.has(d));
  console.log(`distinct indexes: graph adds on one thread ${runs.cap.digests.size} of ${ROUNDS} (${same ? 'the bytes of the one-thread train' : 'NOT the one-thread train\'s bytes'}), no cap ${runs.none.digests.size} of ${ROUNDS}`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
