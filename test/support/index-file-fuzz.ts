// The index-file fuzzer's parts, shared by the test (test/native/index-file-fuzz
// .test.ts, bounded) and the bench (bench/fuzz-index-files.ts, long): valid files
// of each accepted type, a map of their fields (where FAISS's reader reads them,
// traced by the sandbox), and mutations of them: each integer field set to 0, 1,
// -1, 2^31-1 and random values, cuts at every field boundary, bit flips.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { addonCandidates } from '../../lib/native';
import { randomVectors, rng } from './data';

const d = 8;

/**
 * The index types the safe reader accepts: a factory string, or (for types the
 * addon's factory does not build) a Python expression over `faiss` and `d`.
 */
export const FUZZ_TYPES: Record<string, { factory?: string; python?: string; ids?: boolean; binary?: boolean }> = {
  Flat: { factory: 'Flat' },
  IVFFlat: { factory: 'IVF4,Flat' },
  IVFPQ: { factory: 'IVF4,PQ2x4' },
  IVFSQ: { factory: 'IVF4,SQ8' },
  PQ: { factory: 'PQ2x4' },
  PQFastScan: { factory: 'PQ2x4fs' },
  IVFPQFastScan: { factory: 'IVF4,PQ2x4fsr' },
  SQ: { factory: 'SQ8' },
  SQ4: { factory: 'SQ4' },
  SQfp16: { factory: 'SQfp16' },
  HNSW: { factory: 'HNSW4' },
  HNSWSQ: { factory: 'HNSW4,SQ8' },
  'IDMap(IVF)': { factory: 'IDMap,IVF4,Flat', ids: true },
  IDMap2: { factory: 'IDMap2,Flat', ids: true },
  PCA: { factory: 'PCA4,Flat' },
  // OPQ's default training (50 rounds, each training a PQ) takes seconds; 2 do.
  OPQ: {
    python: "(lambda o: (setattr(o, 'niter', 2), setattr(o, 'niter_pq_0', 4), faiss.IndexPreTransform(o, faiss.IndexPQ(d, 2, 4)))[2])(faiss.OPQMatrix(d, 2))",
  },
  LSH: { python: 'faiss.IndexLSH(d, 16)' },
  Refine: { python: "faiss.IndexRefineFlat(faiss.index_factory(d, 'IVF4,Flat'))" },
  // Binary indexes (index_binary_factory; read by deserializeIndexBinary, checked by native/binary_validate.cc).
  BinaryFlat: { factory: 'BFlat', binary: true },
  BinaryIVF: { factory: 'BIVF4', binary: true },
  BinaryHNSW: { factory: 'BHNSW4', binary: true },
};

// Bits of the binary types' codes.
const bits = 64;
const codes = (n: number, seed: number): Uint8Array => Uint8Array.from(randomVectors(n * (bits / 8), 1, seed), (v) => Math.floor(v * 256));

const PYTHON = process.env.FAISS_PROXY_PYTHON ?? '/usr/bin/python3';

function pythonFile(expression: string): Buffer {
  const script = `
import sys, faiss, numpy as np
d = ${d}
index = ${expression}
rs = np.random.RandomState(11)
index.train(rs.rand(1000, d).astype('float32'))
index.add(rs.rand(40, d).astype('float32'))
sys.stdout.buffer.write(faiss.serialize_index(index).tobytes())`;
  return execFileSync(PYTHON, ['-c', script], { maxBuffer: 64 << 20, stdio: ['ignore', 'pipe', 'ignore'] });
}

/** A valid serialized index of the type: trained, with 40 vectors. */
export async function validFile(type: string): Promise<Buffer> {
  const spec = FUZZ_TYPES[type];
  if (spec.python) return pythonFile(spec.python);
  if (spec.binary) {
    const index = faiss.indexBinaryFactory(bits, spec.factory!);
    if (!index.isTrained) await index.train(codes(1000, 11));
    await index.add(codes(40, 12));
    const bytes = Buffer.from(await faiss.serializeIndexBinary(index));
    index.dispose();
    return bytes;
  }
  const index = faiss.indexFactory(d, spec.factory!);
  if (!index.isTrained) await index.train(randomVectors(1000, d, 11));
  const x = randomVectors(40, d, 12);
  if (spec.ids) await index.addWithIds(x, BigInt64Array.from({ length: 40 }, (_, i) => BigInt(i * 3)));
  else await index.add(x);
  const bytes = Buffer.from(await faiss.serializeIndex(index));
  index.dispose();
  return bytes;
}

export function sandboxPath(): string {
  const addon = addonCandidates().find((p) => fs.existsSync(p));
  if (!addon) throw new Error('the addon is not built');
  return path.join(path.dirname(addon), 'faiss-proxy-sandbox');
}

/** One read FAISS's reader made: `count` items of `itemSize` bytes at `offset`. */
export interface FieldRead {
  offset: number;
  itemSize: number;
  count: number;
}

/** Where FAISS reads each field of a valid file (the sandbox's --trace-reads; --binary for a binary index's). */
export function traceReads(bytes: Buffer, binary = false): FieldRead[] {
  const r = spawnSync(sandboxPath(), ['--trace-reads', ...(binary ? ['--binary'] : [])], { input: bytes, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`tracing reads failed: ${r.stderr}`);
  return r.stdout
    .trim()
    .split('\n')
    .map((line) => {
      const [offset, itemSize, count] = line.split(' ').map(Number);
      return { offset, itemSize, count };
    });
}

export interface Mutation {
  name: string;
  bytes: Buffer;
}

function setInt(bytes: Buffer, offset: number, size: number, value: bigint): void {
  if (size === 1) bytes.writeUInt8(Number(BigInt.asUintN(8, value)), offset);
  else if (size === 4) bytes.writeInt32LE(Number(BigInt.asIntN(32, value)), offset);
  else bytes.writeBigInt64LE(BigInt.asIntN(64, value), offset);
}

/**
 * Every mutation of `bytes`, deterministic for a seed: scalar fields (and vector
 * lengths) set to 0, 1, -1, 2^31-1 and two random values; the file cut at every
 * field boundary; `flips` random bit flips of 1 to 3 bits.
 */
export function mutations(bytes: Buffer, reads: FieldRead[], seed: number, flips: number): Mutation[] {
  const next = rng(seed);
  const out: Mutation[] = [];
  const scalars = reads.filter((r) => r.count === 1 && [1, 4, 8].includes(r.itemSize));
  for (const f of scalars) {
    const random32 = BigInt(Math.floor(next() * 2 ** 32));
    const random64 = (random32 << 32n) | BigInt(Math.floor(next() * 2 ** 32));
    for (const [label, v] of [['0', 0n], ['1', 1n], ['-1', -1n], ['2^31-1', 2n ** 31n - 1n], ['rand32', random32], ['rand64', random64]] as const) {
      const b = Buffer.from(bytes);
      setInt(b, f.offset, f.itemSize, v);
      if (!b.equals(bytes)) out.push({ name: `field@${f.offset}/${f.itemSize}=${label}`, bytes: b });
    }
  }
  for (const at of new Set(reads.map((r) => r.offset).filter((o) => o > 0))) {
    out.push({ name: `cut@${at}`, bytes: bytes.subarray(0, at) });
  }
  for (let i = 0; i < flips; i++) {
    const b = Buffer.from(bytes);
    const n = 1 + (i % 3);
    const where: number[] = [];
    for (let j = 0; j < n; j++) {
      const bit = Math.floor(next() * b.length * 8);
      b[bit >> 3] ^= 1 << (bit & 7);
      where.push(bit);
    }
    out.push({ name: `flip@${where.join('+')}`, bytes: b });
  }
  return out;
}

/** `n` of `all`, spread evenly over it (all of it when n >= its length). */
export function sample<T>(all: T[], n: number): T[] {
  if (n >= all.length) return all;
  return Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]);
}

/** How a mutation reaches the safe reader: as a buffer, or written to a file and read (or mapped) from it. */
export type ReadPath = 'buffer' | 'file' | 'mmap';

async function readSafely(bytes: Buffer, via: ReadPath): Promise<faiss.Index> {
  if (via === 'buffer') return faiss.deserializeIndex(bytes);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fuzz-file-'));
  try {
    const file = path.join(dir, 'x.index');
    fs.writeFileSync(file, bytes);
    // A mapped index keeps its mapping after the file is unlinked.
    return await faiss.readIndex(file, { mmap: via === 'mmap' });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * What a reader did with one mutation: the code it refused it with, or 'accepted'
 * once `use` has run on the index it read. A coded error from `use` is an answer
 * too; an uncoded error, from either, is a bug and is thrown.
 */
async function outcomeOf<T extends { dispose(): void }>(read: () => Promise<T>, use: (index: T) => Promise<void>): Promise<string> {
  let index: T;
  try {
    index = await read();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (!code) throw e;
    return code;
  }
  try {
    await use(index);
  } catch (e) {
    if (!(e as { code?: string }).code) throw e;
  } finally {
    index.dispose();
  }
  return 'accepted';
}

/** As tryMutation, for a binary index's file: deserializeIndexBinary, then an add and a search of codes. */
function tryBinaryMutation(m: Mutation): Promise<string> {
  return outcomeOf(
    () => faiss.deserializeIndexBinary(m.bytes),
    async (index) => {
      const x = codes(25, 3).subarray(0, 25 * index.codeSize);
      if (index.isTrained) await index.add(x);
      await index.search(x, 5);
    },
  );
}

/** What the safe reader did with one mutation: a code, or 'accepted' (then used). */
export function tryMutation(m: Mutation, via: ReadPath = 'buffer'): Promise<string> {
  return outcomeOf(
    () => readSafely(m.bytes, via),
    async (index) => {
      const x = randomVectors(25, index.d, 3);
      if (index.isTrained && via !== 'mmap') {
        if (index.typeName.startsWith('IndexIDMap')) await index.addWithIds(x, BigInt64Array.from({ length: 25 }, (_, i) => BigInt(1000 + i)));
        else await index.add(x);
      }
      await index.search(x, 5);
    },
  );
}

/**
 * Runs `limit` mutations (evenly sampled) of a valid file of `type`, read `via` a
 * buffer, a file or a memory-mapped file (searched only: mapped indexes are
 * read-only), logging each name to stderr first so a crash names its case;
 * returns outcome counts.
 */
export async function fuzzType(type: string, seed: number, limit: number, flips: number, via: ReadPath = 'buffer'): Promise<Record<string, number>> {
  const valid = await validFile(type);
  const binary = FUZZ_TYPES[type].binary === true;
  const all = mutations(valid, traceReads(valid, binary), seed, flips);
  const counts: Record<string, number> = { cases: 0 };
  for (const m of sample(all, limit)) {
    process.stderr.write(`${type} ${via} ${m.name}\n`);
    const outcome = binary ? await tryBinaryMutation(m) : await tryMutation(m, via);
    counts[outcome] = (counts[outcome] ?? 0) + 1;
    counts.cases++;
  }
  counts.available = all.length;
  return counts;
}
