// The binding half of one in-process case of bench/harness.ts, run in a child
// process so that the harness can stop a build that overruns its budget (a FAISS
// call cannot be interrupted in process). Mirrors bench/harness_python.py line for
// line: same file, same index, same schedule, same JSON-lines progress on stdout.
//   node dist/bench/lib/case-worker.js '<case json>'
import { performance } from 'node:perf_hooks';
import { buildInfo, getNumThreads, Index, IndexFlatL2, IndexHNSWFlat, IndexIVFFlat, IndexIVFPQ } from '../../lib';
import type { CaseConfig } from './cases';
import { measureSearch, readF32Prefix } from './common';

const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
};

/** Adds in chunks; stops once the projected total passes the budget (same rule as the Python side). */
async function hnswAdd(index: Index, xb: Float32Array, c: CaseConfig): Promise<{ added: number; projected: number | null }> {
  const t0 = performance.now();
  let added = 0;
  while (added < c.n) {
    const end = Math.min(c.n, added + c.hnswChunk);
    await index.add(xb.subarray(added * c.d, end * c.d));
    added = end;
    const elapsed = (performance.now() - t0) / 1e3;
    // Inserting gets slower as the graph grows (about log n); 1.2 covers that.
    const projected = (elapsed / added) * c.n * (added < c.n ? 1.2 : 1);
    if (added < c.n && projected > c.budgetS) return { added, projected };
  }
  return { added, projected: null };
}

async function main(): Promise<void> {
  const c = JSON.parse(process.argv[2]) as CaseConfig;
  const xb = readF32Prefix(c.basePath, c.n * c.d);
  const xq = readF32Prefix(c.queryPath, c.nq * c.d);
  emit('loaded');

  const t0 = performance.now();
  let trainS: number | null = null;
  let index: Index;
  switch (c.kind) {
    case 'Flat':
      index = new IndexFlatL2(c.d);
      await index.add(xb);
      break;
    case 'IVFFlat':
    case 'IVFPQ': {
      const quantizer = new IndexFlatL2(c.d); // copied into the IVF index
      index = c.kind === 'IVFFlat' ? new IndexIVFFlat(quantizer, c.d, c.nlist) : new IndexIVFPQ(quantizer, c.d, c.nlist, c.pqM, 8);
      quantizer.dispose();
      await index.train(xb.subarray(0, c.ntrain * c.d));
      trainS = (performance.now() - t0) / 1e3;
      await index.add(xb);
      index.nprobe = c.nprobe;
      break;
    }
    case 'HNSW32': {
      index = new IndexHNSWFlat(c.d, 32);
      index.efConstruction = c.efConstruction;
      const { added, projected } = await hnswAdd(index, xb, c);
      if (projected !== null) {
        emit('skipped', { reason: 'budget', added, projectedS: projected, elapsedS: (performance.now() - t0) / 1e3 });
        return;
      }
      index.efSearch = c.efSearch;
      break;
    }
    default:
      throw new Error(`unknown kind ${String(c.kind)}`);
  }
  const buildS = (performance.now() - t0) / 1e3;
  emit('built', { buildS });

  const { singleMs, batchMs } = await measureSearch(index, xq, c.d, c.k, c.schedule);
  emit('result', { buildS, trainS, singleMs, batchMs, ntotal: index.ntotal, threads: getNumThreads(), faissVersion: buildInfo().faissVersion });
  index.dispose();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
