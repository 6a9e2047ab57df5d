// A child process for the embedded collections' crash tests
// (test/collections/embedded-durability.test.ts). It opens the collections in
// <dir>, runs one scenario and writes "ack <json>" on stdout (synchronously)
// after each acknowledged call; then it SIGKILLs itself right after the last
// acknowledgement (no close(), no snapshot), or, for "stream", goes on until
// the parent kills it in the middle of whatever it is doing.
// Usage: node collections-crash-child.js <dir> <scenario> <snapshotLogBytes>
import * as fs from 'node:fs';
import { openCollections } from '../../lib';

export const D = 8;
export const BATCH = 5;

/** The vector of point i of batch j: every value tells them apart. */
export function vectorOf(j: number, i: number): number[] {
  return Array.from({ length: D }, (_, k) => j * 10 + i + k * 0.5);
}

export interface StreamPoint {
  id: string;
  vector: number[];
  payload: { batch: number; i: number; group: number; replaced?: number };
}

export const batchOf = (j: number): StreamPoint[] =>
  Array.from({ length: BATCH }, (_, i) => ({ id: `b${j}-${i}`, vector: vectorOf(j, i), payload: { batch: j, i, group: j % 4 } }));

/** The "stream" scenario's calls, without end: upserts of batches, replacements of a point, deletes of a batch by filter. */
export function* streamOps(): Generator<{ upsert: StreamPoint[] } | { deleteBatch: number }> {
  for (let j = 0; ; j++) {
    yield { upsert: batchOf(j) };
    if (j % 7 === 6) yield { upsert: [{ id: `b${j - 3}-0`, vector: vectorOf(1000 + j, 0), payload: { batch: j - 3, i: 0, group: (j - 3) % 4, replaced: j } }] };
    if (j % 11 === 10) yield { deleteBatch: j - 5 };
  }
}

const ack = (what: unknown): void => {
  fs.writeSync(1, `ack ${JSON.stringify(what)}\n`);
};
const die = (): never => {
  process.kill(process.pid, 'SIGKILL');
  throw new Error('unreachable');
};

async function main(): Promise<void> {
  const [dir, scenario, logBytes] = process.argv.slice(2);
  const db = await openCollections({ path: dir, snapshotLogBytes: Number(logBytes) });
  const exists = (await db.listCollections()).some((c) => c.name === 'c');
  const c = exists ? db.collection('c') : await db.createCollection({ name: 'c', dimension: D, factory: 'HNSW8', payloadIndexes: { group: 'integer' } });
  const batch = batchOf;
  switch (scenario) {
    case 'upserts': {
      for (let j = 0; j < 30; j++) ack(await c.upsert(batch(j)));
      die();
      break;
    }
    case 'stream': {
      for (const op of streamOps()) {
        if ('upsert' in op) ack(await c.upsert(op.upsert));
        else ack(await c.delete({ filter: { must: [{ key: 'batch', match: { value: op.deleteBatch } }] } }));
      }
      break;
    }
    case 'deletes': {
      for (let j = 0; j < 20; j++) await c.upsert(batch(j));
      ack('loaded');
      ack(await c.delete({ filter: { must: [{ key: 'group', match: { value: 1 } }] } }));
      ack(await c.delete({ filter: { should: [{ key: 'batch', match: { value: 2 } }, { key: 'i', range: { gte: 4 } }] } }));
      ack(await c.delete(['b0-0', 'b0-1']));
      die();
      break;
    }
    case 'catalog': {
      await c.upsert(batch(0), { idempotencyKey: 'first-batch' });
      ack('keyed');
      await c.createPayloadIndex('batch', 'integer');
      ack('payload index');
      const ivf = await db.createCollection({ name: 'ivf', dimension: 2, factory: 'IVF2,Flat' });
      await ivf.train([[0, 0], [10, 10], [0, 1], [10, 11]]);
      await ivf.upsert([{ id: 'x', vector: [10, 10], payload: { ok: true } }]);
      ack('ivf');
      await db.createAlias('blue', 'c');
      await db.createAlias('green', 'ivf');
      await db.switchAlias('green', 'c');
      await db.deleteAlias('blue');
      ack('aliases');
      const gone = await db.createCollection({ name: 'gone', dimension: 2 });
      await gone.upsert([{ id: 'g', vector: [1, 1] }]);
      await db.deleteCollection('gone');
      ack('deleted collection');
      die();
      break;
    }
    default:
      throw new Error(`no scenario ${scenario}`);
  }
}

if (require.main === module) {
  main().catch((e) => {
    console.error(e);
    process.exit(2);
  });
}
