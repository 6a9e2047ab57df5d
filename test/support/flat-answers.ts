// Data and comparisons shared by the flat kernels' tests (test/native/kernels-flat*.test.ts):
// data shaped to make ties, bit-for-bit comparison of two answers, and the
// comparison with python3-faiss's answer up to near-ties.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { rng } from './data';
import { expectKernel, type KernelName } from './kernel-stats';
import { closeTo, PYTHON } from './oracle';

export type Pattern = 'uniform' | 'clustered' | 'levels' | 'lateWinners';

/** n x d vectors; 'levels' and 'lateWinners' make many equal distances (small integers: exact in any order of summation). */
export function vectors(pattern: Pattern, n: number, d: number, seed: number): Float32Array {
  const next = rng(seed);
  const x = new Float32Array(n * d);
  if (pattern === 'uniform') {
    for (let i = 0; i < x.length; i++) x[i] = next() * 2 - 1;
  } else if (pattern === 'clustered') {
    const centres = Array.from({ length: 16 }, () => Float32Array.from({ length: d }, () => next() * 10 - 5));
    for (let i = 0; i < n; i++) {
      const c = centres[Math.floor(next() * centres.length)];
      for (let j = 0; j < d; j++) x[i * d + j] = c[j] + (next() + next() + next() - 1.5) * 0.3;
    }
  } else if (pattern === 'levels') {
    for (let i = 0; i < x.length; i++) x[i] = Math.floor(next() * 3);
  } else {
    // Every vector the same but a few that score better, some among the first k
    // and some in the last part of the index: which of the equal ones FAISS keeps
    // depends on when the better ones come (flat_candidates.h).
    for (let i = 0; i < n; i++) x[i * d] = 1;
    for (const i of [3, 12, 40]) x[i * d] = 2;
    for (let i = Math.floor(n * 0.6); i < n; i += Math.floor(n / 13)) x[i * d] = 2;
  }
  return x;
}

export function queries(pattern: Pattern, nq: number, d: number, seed: number): Float32Array {
  if (pattern === 'lateWinners') return Float32Array.from({ length: nq * d }, (_, i) => (i % d === 0 ? 1.5 + (i / d) * 0.25 : 0));
  return vectors(pattern, nq, d, seed);
}

export const bits = (a: Float32Array): number[] => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

/** The search with the given kernel switches, every kernel back on afterwards. */
export async function searchWith(index: faiss.Index, x: Float32Array, k: number, kernels: Partial<faiss.Kernels>): Promise<faiss.SearchResult> {
  faiss.setKernels(kernels);
  try {
    return await index.search(x, k);
  } finally {
    faiss.setKernels({ flatScan: true, flatBatch: true });
  }
}

/** The same labels in the same order and the same float distances, bit for bit. */
export function assertSame(ours: faiss.SearchResult, theirs: faiss.SearchResult, what: string): void {
  assert.deepEqual(Array.from(ours.labels), Array.from(theirs.labels), `${what}: labels`);
  assert.deepEqual(bits(ours.distances), bits(theirs.distances), `${what}: distances (bits)`);
}

/** Python's answer up to near-ties: distances within 1e-5 rank by rank, and a label that differs is one python ranks at a distance within 1e-5 (or a near-tie at its k-th). */
export function assertCloseAnswer(ours: faiss.SearchResult, python: { labels: number[]; distances: number[] }, k: number, what: string): void {
  assert.equal(closeTo(ours.distances, python.distances), null, `${what}: distances`);
  const near = (a: number, b: number) => closeTo([a], [b]) === null;
  for (let q = 0; q < python.labels.length / k; q++) {
    const row = python.labels.slice(q * k, (q + 1) * k);
    for (let i = 0; i < k; i++) {
      const label = Number(ours.labels[q * k + i]);
      if (label === row[i]) continue;
      const j = row.indexOf(label);
      const dis = ours.distances[q * k + i];
      const ok = j >= 0 ? near(dis, python.distances[q * k + j]) : near(dis, python.distances[q * k + k - 1]);
      assert.ok(ok, `${what}: query ${q} rank ${i}: label ${label} at ${dis} is not python's (${row[i]})`);
    }
  }
}

export const newFlat = (metric: number, d: number, cls: string): faiss.Index => {
  if (cls === 'IndexFlatL2') return new faiss.IndexFlatL2(d);
  if (cls === 'IndexFlatIP') return new faiss.IndexFlatIP(d);
  return faiss.indexFactory(d, 'Flat', metric as faiss.MetricType);
};

/** python3-faiss's answers for the cases of spec.json in `work` (index file, queries file, k) into python.json. */
const PYTHON_SEARCH = `
import faiss, numpy as np, json, sys
work = sys.argv[1]
spec = json.load(open(work + '/spec.json'))
out = []
for case in spec:
    index = faiss.read_index(work + '/' + case['file'])
    x = np.fromfile(work + '/' + case['queries'], dtype='float32').reshape(-1, index.d)
    D, I = index.search(x, case['k'])
    out.append({'labels': I.ravel().tolist(), 'distances': D.ravel().tolist()})
json.dump(out, open(work + '/python.json', 'w'))
`;

/** One index of a comparison with python3-faiss: its name (an "idmap..." one is added with ids 5 i + 1), how it is built, its data. */
export type PythonCase = [name: string, build: () => faiss.Index, pattern: Pattern, n: number, d: number];

/**
 * Builds each index, writes it to a file, searches it here (`search`, which also
 * checks which kernel answered) and in python3-faiss on that file, for each
 * [nq, k] of `batches`: identical where every distance is exact ('levels' and
 * 'lateWinners' data: small integers), else python's answer up to near-ties.
 */
export async function assertAsPython(
  builds: PythonCase[],
  batches: [number, number][],
  search: (index: faiss.Index, q: Float32Array, k: number, what: string) => Promise<faiss.SearchResult>,
): Promise<void> {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'flat-answers-'));
  try {
    const spec: { file: string; queries: string; k: number; exact: boolean }[] = [];
    const ours: faiss.SearchResult[] = [];
    for (const [name, build, pattern, n, d] of builds) {
      const index = build();
      const x = vectors(pattern, n, d, n);
      if (name.startsWith('idmap')) await index.addWithIds(x, BigInt64Array.from({ length: n }, (_, i) => BigInt(i) * 5n + 1n));
      else await index.add(x);
      await faiss.writeIndex(index, path.join(work, `${name}.index`));
      for (const [nq, k] of batches) {
        const q = queries(pattern, nq, d, nq * k);
        const file = `${name}-${nq}-${k}.f32`;
        fs.writeFileSync(path.join(work, file), Buffer.from(q.buffer, q.byteOffset, q.byteLength));
        spec.push({ file: `${name}.index`, queries: file, k, exact: pattern === 'levels' || pattern === 'lateWinners' });
        ours.push(await search(index, q, k, file));
      }
      index.dispose();
    }
    fs.writeFileSync(path.join(work, 'spec.json'), JSON.stringify(spec));
    execFileSync(PYTHON, ['-c', PYTHON_SEARCH, work], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
    const python: { labels: number[]; distances: number[] }[] = JSON.parse(fs.readFileSync(path.join(work, 'python.json'), 'utf8'));
    python.forEach((p, i) => {
      const what = `${spec[i].queries}`;
      if (spec[i].exact) {
        assert.deepEqual(Array.from(ours[i].labels, Number), p.labels, `${what}: labels`);
        assert.deepEqual(Array.from(ours[i].distances), p.distances, `${what}: distances`);
      } else {
        assertCloseAnswer(ours[i], p, spec[i].k, what);
      }
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

/** A search with the kernel on (`on`) or off, checking what it did (each test's own searchWith). */
export type SwitchedSearch = (index: faiss.Index, x: Float32Array, k: number, on: boolean) => Promise<faiss.SearchResult>;

/**
 * IDMap and IDMap2 over L2 and IP flat indexes of n vectors of d = 16, ids 3 (n - i):
 * for each [nq, k], the kernel's answer is FAISS's, and its labels are the ids added.
 */
export async function assertIdMapsSame(n: number, batches: [number, number][], search: SwitchedSearch): Promise<void> {
  const d = 16;
  for (const wrap of [faiss.IndexIDMap, faiss.IndexIDMap2]) {
    for (const inner of [new faiss.IndexFlatL2(d), new faiss.IndexFlatIP(d)]) {
      const index = new wrap(inner);
      const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(n - i) * 3n);
      await index.addWithIds(vectors('levels', n, d, 5), ids);
      for (const [nq, k] of batches) {
        const x = vectors('levels', nq, d, k);
        const ours = await search(index, x, k, true);
        assertSame(ours, await search(index, x, k, false), `${wrap.name} nq ${nq} k ${k}`);
        assert.ok(Array.from(ours.labels).every((l) => l % 3n === 0n && l > 0n), 'labels are the ids added');
      }
      index.dispose();
    }
  }
}

/** Concurrent searches of `qs` (k = 5) on `index`, each answered by the kernel, each as FAISS answers it alone. */
export async function assertConcurrentSame(kernel: KernelName, index: faiss.Index, qs: Float32Array[], search: SwitchedSearch): Promise<void> {
  const expected: faiss.SearchResult[] = [];
  for (const q of qs) expected.push(await search(index, q, 5, false));
  const got = await expectKernel(kernel, { searches: qs.length }, () => Promise.all(qs.map((q) => index.search(q, 5))), 'concurrent');
  got.forEach((g, i) => assertSame(g, expected[i], `search ${i}`));
}
