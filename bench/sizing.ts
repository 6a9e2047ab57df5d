// npm run bench:sizing: bytes per vector, in memory and on disk, of each index
// type, measured on real indexes (docs/deployment.md "Sizing"). Each index is
// built alone in a fresh child process (trained where it needs it, then filled
// with SIZING_N random vectors, default 20,000, of SIZING_D dimensions, default
// 128); its memory is the growth of the C heap's live bytes (nativeHeap()) from
// before it was created to after it was filled, the training sample freed; its
// file is FAISS's own serialization, which is what a snapshot in the service's
// data directory holds. Prints a markdown table (figures go to bench/RESULTS.md).
// PQ16np: a PQ without FAISS's polysemous training ("PQ16" does it; it changes the
// code order, not the size, and takes minutes).
import { execFileSync } from 'node:child_process';
import { indexBinaryFactory, indexFactory, nativeHeap, serializeIndex, serializeIndexBinary } from '../lib';

const N = Number(process.env.SIZING_N ?? 20_000);
const D = Number(process.env.SIZING_D ?? 128);
const BINARY_BITS = 256;

// SIZING_ONLY=IVF256,PQ16;PQ16 measures only those (';' between factory strings).
const ONLY = process.env.SIZING_ONLY?.split(';');
const pick = (types: string[]) => (ONLY ? types.filter((t) => ONLY.includes(t)) : types);
const FLOAT_TYPES = pick(['Flat', 'IDMap2,Flat', 'HNSW32,Flat', 'HNSW16,Flat', 'IVF256,Flat', 'IVF256,SQ8', 'IVF256,PQ16np', 'SQ8', 'PQ16np', 'HNSW32,SQ8']);
const BINARY_TYPES = pick(['BFlat', 'BIVF64', 'BHNSW32']);

function random(n: number, d: number): Float32Array {
  const x = new Float32Array(n * d);
  for (let i = 0; i < x.length; i++) x[i] = Math.random();
  return x;
}

function randomBytes(n: number, bytes: number): Uint8Array {
  const x = new Uint8Array(n * bytes);
  for (let i = 0; i < x.length; i++) x[i] = (Math.random() * 256) | 0;
  return x;
}

async function measureOne(kind: 'float' | 'binary', description: string): Promise<{ memory: number; file: number; seconds: number }> {
  const heap = () => nativeHeap()?.inUseBytes ?? NaN;
  const started = process.hrtime.bigint();
  if (kind === 'float') {
    const data = random(N, D);
    const before = heap();
    const index = indexFactory(D, description);
    if (!index.isTrained) await index.train(data);
    if (description.startsWith('IDMap')) {
      await index.addWithIds(data, BigInt64Array.from({ length: N }, (_, i) => BigInt(i)));
    } else {
      await index.add(data);
    }
    const memory = heap() - before;
    const file = (await serializeIndex(index)).length;
    return { memory, file, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
  }
  const data = randomBytes(N, BINARY_BITS / 8);
  const before = heap();
  const index = indexBinaryFactory(BINARY_BITS, description);
  if (!index.isTrained) await index.train(data);
  await index.add(data);
  const memory = heap() - before;
  const file = (await serializeIndexBinary(index)).length;
  return { memory, file, seconds: Number(process.hrtime.bigint() - started) / 1e9 };
}

function main(): void {
  console.log(`Bytes per vector: ${N} random vectors of ${D} float dimensions (binary: ${BINARY_BITS} bits)\n`);
  console.log('| index (factory string) | memory, bytes/vector | file on disk, bytes/vector | the raw vector | build s |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [kind, types] of [['float', FLOAT_TYPES], ['binary', BINARY_TYPES]] as const) {
    for (const description of types) {
      const out = execFileSync(process.execPath, [__filename, '--one', kind, description], { encoding: 'utf8' });
      const { memory, file, seconds } = JSON.parse(out) as { memory: number; file: number; seconds: number };
      const raw = kind === 'float' ? 4 * D : BINARY_BITS / 8;
      console.log(`| ${description} | ${(memory / N).toFixed(1)} | ${(file / N).toFixed(1)} | ${raw} | ${seconds.toFixed(1)} |`);
    }
  }
}

if (process.argv[2] === '--one') {
  measureOne(process.argv[3] as 'float' | 'binary', process.argv[4]).then(
    (r) => process.stdout.write(JSON.stringify(r)),
    (e) => { console.error(e); process.exit(1); },
  );
} else {
  main();
}
