// npm run bench:native-heap: is the RSS a process gains a leak or memory the
// allocator keeps? Each operation type runs alone, 8 at a time for
// NATIVE_HEAP_SECONDS (default 8), in its own child process, on an
// IDMap2,Flat index of 20,000 8-d vectors (the soak's shape); then the garbage
// collector runs (finalizers free search results and Buffers) and the C heap's
// live bytes (nativeHeap()) are compared with the start. Live bytes back at the
// start with RSS still up is retention, not a leak (docs/operations.md "Memory").
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { deserializeIndex, indexFactory, nativeHeap, serializeIndex, type Index } from '../lib';

const D = 8;
const SECONDS = Number(process.env.NATIVE_HEAP_SECONDS ?? 8);
const CONCURRENCY = 8;
const OPS = ['search', 'range', 'addremove', 'serialize', 'deserialize', 'rebuild'] as const;
type Op = (typeof OPS)[number];

const rssMB = () => Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync('/proc/self/status', 'utf8'))![1]) / 1024);
const liveMB = () => Math.round((nativeHeap()?.inUseBytes ?? NaN) / 1048576);
const vectors = (n: number) => Float32Array.from({ length: n * D }, () => Math.random());

async function runOne(op: Op): Promise<string> {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  let index: Index = indexFactory(D, 'IDMap2,Flat', 1);
  let next = 0n;
  const add = async (n: number) => {
    const ids = BigInt64Array.from({ length: n }, () => next++);
    await index.addWithIds(vectors(n), ids);
  };
  await add(20_000);
  const query = vectors(1);
  const step: Record<Op, () => Promise<unknown>> = {
    search: () => index.search(query, 10),
    range: () => index.rangeSearch(query, 0.05),
    addremove: async () => {
      const first = next;
      await add(16);
      await index.removeIds(BigInt64Array.of(first, first + 1n, first + 2n));
    },
    serialize: () => serializeIndex(index),
    deserialize: async () => (await deserializeIndex(await serializeIndex(index))).dispose(),
    rebuild: async () => {
      const { ids, vectors: xs } = await index.extractAll();
      const fresh = indexFactory(D, 'IDMap2,Flat', 1);
      await fresh.addWithIds(xs, ids);
      const old = index;
      index = fresh;
      old.dispose();
    },
  };
  gc();
  const start = { rss: rssMB(), live: liveMB() };
  const until = Date.now() + SECONDS * 1000;
  let count = 0;
  let peak = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (Date.now() < until) {
        await step[op]();
        if (++count % 64 === 0) peak = Math.max(peak, rssMB());
      }
    }),
  );
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
  return `${op}: ${count} operations; RSS ${start.rss} MB -> ${rssMB()} MB (peak ${peak} MB); C heap in use ${start.live} MB -> ${liveMB()} MB (retained ${Math.round((nativeHeap()?.retainedBytes ?? NaN) / 1048576)} MB)`;
}

if (process.argv[2]) {
  runOne(process.argv[2] as Op).then((line) => console.log(line));
} else {
  for (const op of OPS) process.stdout.write(execFileSync(process.execPath, [__filename, op], { encoding: 'utf8' }));
}
