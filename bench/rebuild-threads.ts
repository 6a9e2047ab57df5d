// npm run bench:rebuild-threads: what a cluster's one-thread rebuild costs (issue 19).
// A replica rebuilds an HNSW index without its removed vectors as part of the log
// record that crosses --rebuild-threshold (service/domain/durable-index.ts applyTo),
// on one thread (setGraphAddThreads(1), native/graph_adds.h), so that every replica
// builds the same graph. This times that rebuild (lib/id-policy.ts
// rebuiltWithoutDeleted: extract, reset, one add of the remaining vectors) at 100k x
// 128, HNSW32, efConstruction 40, 10% removed, with the cap at 1 against no cap (the
// cores split as for any call), alternating, with the process's CPU time beside the
// wall time, and checks that the one-thread rebuilds are the same bytes every time
// (and says whether the threaded ones are). Nothing asserts on time.
//
// Options: --rounds N (default 3: N rebuilds of each), --scale F (F x 100k vectors).
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { emptyIdState, rebuiltWithoutDeleted } from '../lib/id-policy';
import { positiveNumberOption } from './lib/common';
import { gaussianMixture } from './lib/gaussian-mixture';

const ROUNDS = Math.round(positiveNumberOption('--rounds', 3));
const N = Math.max(1000, Math.round(100_000 * positiveNumberOption('--scale', 1)));
const D = 128;
const REMOVED = 0.1;

async function main(): Promise<void> {
  const x = gaussianMixture({ d: D, clusters: 100, seed: 1234 }, N, 1);
  const index = faiss.indexFactory(D, 'HNSW32', faiss.METRIC_L2);
  index.efConstruction = 40;
  const built = performance.now();
  await index.add(x);
  console.log(`${faiss.buildInfo().cores} cores; ${N} x ${D} HNSW32 built in ${((performance.now() - built) / 1000).toFixed(2)} s (no cap)`);
  // Every tenth id removed (hidden): past the default threshold, 0.1 of what is stored.
  const deleted = new Set<bigint>();
  for (let i = 0; i < N; i += Math.round(1 / REMOVED)) deleted.add(BigInt(i));

  const runs: Record<'one' | 'all', { wall: number[]; cpu: number[]; digests: Set<string> }> = {
    one: { wall: [], cpu: [], digests: new Set() },
    all: { wall: [], cpu: [], digests: new Set() },
  };
  for (let round = 0; round < ROUNDS; round++) {
    for (const which of round % 2 === 0 ? (['all', 'one'] as const) : (['one', 'all'] as const)) {
      faiss.setGraphAddThreads(which === 'one' ? 1 : 0);
      const ids = { ...emptyIdState(), deleted: new Set(deleted) };
      const cpu = process.cpuUsage();
      const start = performance.now();
      const rebuilt = await rebuiltWithoutDeleted(index, ids);
      const wall = (performance.now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      runs[which].wall.push(wall);
      runs[which].cpu.push((used.user + used.system) / 1e6);
      runs[which].digests.add(createHash('sha256').update(await faiss.serializeIndex(rebuilt)).digest('hex'));
      rebuilt.dispose();
      console.log(`round ${round + 1} ${which === 'one' ? 'one thread' : 'no cap    '}: ${wall.toFixed(2)} s wall, ${runs[which].cpu.at(-1)!.toFixed(2)} s CPU`);
    }
  }
  faiss.setGraphAddThreads(0);
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
  const one = runs.one, all = runs.all;
  console.log(
    `rebuild of ${N - deleted.size} (median of ${ROUNDS}): one thread ${median(one.wall).toFixed(2)} s (CPU ${median(one.cpu).toFixed(2)} s), ` +
      `no cap ${median(all.wall).toFixed(2)} s (CPU ${median(all.cpu).toFixed(2)} s): one thread takes ${(median(one.wall) / median(all.wall)).toFixed(2)}x the wall time`,
  );
  console.log(`distinct graphs: one thread ${one.digests.size} of ${ROUNDS}, no cap ${all.digests.size} of ${ROUNDS}`);
  index.dispose();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
