// How long synchronous calls hold the JS thread where they once waited or worked
// there: dispose() and garbage collection of a large index (freeing its memory),
// wrapping an index while a training holds its lock, and a one-query inline search,
// which now also holds its query's memory (native/pinned_memory.h) on every call;
// and how much the event loop is delayed while big batch searches run off it.
// Prints one JSON line per measure (milliseconds, or microseconds per call).
// Usage: npm run bench:js-thread [-- --megabytes 512]
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import * as faiss from '../lib';
import { positiveNumberOption, randomMatrix } from './lib/common';

const megabytes = positiveNumberOption('--megabytes', 512);
const d = 128;
const rows = Math.floor((megabytes * 2 ** 20) / (d * 4));

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

function report(measure: string, value: number, unit: string): void {
  console.log(JSON.stringify({ measure, value: Number(value.toFixed(3)), unit }));
}

async function bigFlat(): Promise<faiss.Index> {
  const index = new faiss.IndexFlatL2(d);
  const chunk = randomMatrix(65_536, d, 1);
  for (let added = 0; added < rows; added += 65_536) await index.add(chunk.subarray(0, Math.min(65_536, rows - added) * d));
  return index;
}

/**
 * The event loop's delay while 1,000-query searches of a 200k x 128 flat index run
 * one after another (on the search lanes, not on this thread): the p99 and the
 * longest of the intervals between 1 ms timer ticks, less the 1 ms itself.
 */
async function eventLoopDelayDuringBatches(): Promise<{ p99Ms: number; maxMs: number; idleP99Ms: number; batches: number }> {
  const index = new faiss.IndexFlatL2(d);
  await index.add(randomMatrix(200_000, d, 5));
  const queries = randomMatrix(1_000, d, 6);
  await index.search(queries, 10);
  // The same monitor over an idle second first: what the machine's other load alone costs.
  const idle = monitorEventLoopDelay({ resolution: 1 });
  idle.enable();
  await new Promise((resolve) => setTimeout(resolve, 1000));
  idle.disable();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const end = performance.now() + 20_000;
  let batches = 0;
  for (; batches < 5 && performance.now() < end; batches++) await index.search(queries, 10);
  delay.disable();
  index.dispose();
  const overTick = (ns: number): number => Math.max(0, ns / 1e6 - 1);
  return { p99Ms: overTick(delay.percentile(99)), maxMs: overTick(delay.max), idleP99Ms: overTick(idle.percentile(99)), batches };
}

async function main(): Promise<void> {
  faiss.setInlineSearchBudget(0);

  let index = await bigFlat();
  let started = performance.now();
  index.dispose();
  report(`dispose() of a ${megabytes} MB flat index`, performance.now() - started, 'ms');

  // Garbage collection: the wrapper's finalizer runs on the JS thread after gc().
  index = await bigFlat();
  const delay = monitorEventLoopDelay({ resolution: 1 });
  await new Promise((resolve) => setTimeout(resolve, 50));
  delay.enable();
  (index as unknown) = undefined;
  gc();
  await new Promise((resolve) => setTimeout(resolve, 200));
  delay.disable();
  report(`longest event-loop delay around the collection of a ${megabytes} MB flat index`, delay.max / 1e6, 'ms');

  const during = await eventLoopDelayDuringBatches();
  report(`event-loop delay p99 during ${during.batches} 1,000-query searches of a 200k x 128 flat index`, during.p99Ms, 'ms');
  report(`longest event-loop delay during the same searches`, during.maxMs, 'ms');
  report(`event-loop delay p99 over an idle second just before (the machine's other load)`, during.idleP99Ms, 'ms');

  const q = faiss.indexFactory(32, 'IVF256,Flat');
  const training = q.train(randomMatrix(60_000, 32, 2));
  while (faiss.poolStats().running === 0) await new Promise((resolve) => setImmediate(resolve));
  started = performance.now();
  try {
    new faiss.IndexIVFFlat(q, 32, 16);
  } catch (e) {
    if ((e as faiss.FaissError).code !== 'ERR_BUSY') throw e;
  }
  report('new IndexIVFFlat(q) while q trains (IVF256 on 60k x 32)', performance.now() - started, 'ms');
  await training;

  const small = new faiss.IndexFlatL2(d);
  await small.add(randomMatrix(100, d, 3));
  const query = randomMatrix(1, d, 4);
  faiss.setInlineSearchBudget(1_000_000);
  for (let i = 0; i < 16; i++) await small.search(query, 1); // the first ones, on the lanes, time the cost
  const native = small.native();
  const calls = 200_000;
  let inline = 0;
  started = performance.now();
  for (let i = 0; i < calls; i++) if (native.searchInline(query, 1)) inline++;
  const us = ((performance.now() - started) * 1000) / calls;
  if (inline !== calls) throw new Error(`only ${inline} of ${calls} searches ran inline`);
  report('one-query inline search, flat 100 x 128, per call', us, 'us');
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
