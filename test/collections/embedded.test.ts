// The embedded collections: the shared contract in memory and on disk, and what
// only the embedded ones have (options, reopening, snapshots, one opener per
// directory, the order of concurrent calls, close()).
import Database from 'better-sqlite3';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCollections, type EmbeddedCollections } from '../../lib';
import { runCase } from '../support/crash-case';
import { registerContractSuite } from './contract-suite';

const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-collections-'));

registerContractSuite('embedded, in memory', async () => {
  const api = await openCollections();
  return { api, maxPayloadBytes: 65_536, close: () => api.close() };
});

registerContractSuite('embedded, on disk', async () => {
  const dir = tempDir();
  const api = await openCollections({ path: dir });
  return {
    api,
    maxPayloadBytes: 65_536,
    close: async () => {
      await api.close();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
});

async function rejectsWith(p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (e: { code?: string; message?: string }) => {
    assert.equal(e.code, code, e.message);
    return true;
  });
}

describe('embedded collections', function () {
  this.timeout(60_000);
  const dirs: string[] = [];
  const open: EmbeddedCollections[] = [];
  const dir = (): string => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };
  const opened = async (o?: Parameters<typeof openCollections>[0]): Promise<EmbeddedCollections> => {
    const db = await openCollections(o);
    open.push(db);
    return db;
  };
  afterEach(async () => {
    for (const db of open.splice(0)) await db.close().catch(() => undefined);
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  it('bad options are ERR_INVALID_ARGUMENT', async () => {
    await rejectsWith(openCollections({ path: '' }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(openCollections({ path: 3 as never }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(openCollections({ maxPayloadBytes: 1 }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(openCollections({ maxPayloadBytes: 2.5 }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(openCollections({ snapshotLogBytes: 0 }), 'ERR_INVALID_ARGUMENT');
    await rejectsWith(openCollections('dir' as never), 'ERR_INVALID_ARGUMENT');
  });

  it('maxPayloadBytes sets the payload limit', async () => {
    const db = await opened({ maxPayloadBytes: 100 });
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await c.upsert([{ id: 'a', vector: [0, 0], payload: { t: 'x'.repeat(80) } }]);
    await rejectsWith(c.upsert([{ id: 'b', vector: [0, 0], payload: { t: 'x'.repeat(100) } }]), 'ERR_PAYLOAD_TOO_LARGE');
    assert.equal(await c.count(), 1);
  });

  it('a directory that does not exist is created', async () => {
    const where = path.join(dir(), 'a', 'b');
    const db = await opened({ path: where });
    await db.createCollection({ name: 'c', dimension: 2 });
    assert.ok(fs.statSync(where).isDirectory());
  });

  it('everything comes back after close and open: collections, points, payload indexes, aliases, idempotency keys', async () => {
    const where = dir();
    let db = await openCollections({ path: where });
    const c = await db.createCollection({ name: 'docs', dimension: 3, factory: 'HNSW8', payloadIndexes: { tag: 'keyword' } });
    await c.upsert(
      Array.from({ length: 50 }, (_, i) => ({ id: `d${i}`, vector: [i, i % 7, 1], payload: { tag: i % 2 ? 'odd' : 'even', i } })),
      { idempotencyKey: 'load-1' },
    );
    await c.createPayloadIndex('i', 'integer');
    await c.delete({ filter: { must: [{ key: 'i', range: { gte: 40 } }] } });
    const ivf = await db.createCollection({ name: 'ivf', dimension: 2, factory: 'IVF2,Flat' });
    await ivf.train([[0, 0], [10, 10], [0, 1], [10, 11]]);
    await ivf.upsert([{ id: 'a', vector: [0, 0] }]);
    await db.createAlias('live', 'docs');
    const before = await c.search([3, 3, 1], 5, { filter: { must: [{ key: 'tag', match: { value: 'odd' } }] }, withVector: true });
    await db.close();

    db = await opened({ path: where });
    assert.deepEqual((await db.listCollections()).map((i) => [i.name, i.count, i.isTrained]), [
      ['docs', 40, true],
      ['ivf', 1, true],
    ]);
    assert.deepEqual((await db.collection('docs').info()).payloadIndexes, { tag: 'keyword', i: 'integer' });
    assert.deepEqual(await db.listAliases(), [{ alias: 'live', collection: 'docs' }]);
    const live = db.collection('live');
    assert.deepEqual(await live.search([3, 3, 1], 5, { filter: { must: [{ key: 'tag', match: { value: 'odd' } }] }, withVector: true }), before);
    assert.deepEqual(await live.upsert([{ id: 'zz', vector: [0, 0, 0] }], { idempotencyKey: 'load-1' }).catch((e: { code: string }) => e.code), 'ERR_IDEMPOTENCY_MISMATCH');
    assert.equal(await live.count(), 40);
  });

  it('close() snapshots each collection and empties its op log: opening reads the snapshot, not a rebuild from the log', async () => {
    const where = dir();
    let db = await openCollections({ path: where });
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    for (let i = 0; i < 5; i++) await c.upsert([{ id: `p${i}`, vector: [i, 0], payload: { i } }]);
    const sql = () => new Database(path.join(where, 'collections.sqlite'), { readonly: true });
    await db.close();
    const s = sql();
    assert.equal((s.prepare('SELECT count(*) AS n FROM ops').get() as { n: number }).n, 0, 'the log is empty after the snapshot');
    s.close();
    assert.deepEqual(fs.readdirSync(path.join(where, 'snapshots')).map((f) => path.extname(f)).sort(), ['.faissindex', '.points'], 'one snapshot: its two files');
    db = await opened({ path: where });
    assert.deepEqual((await db.collection('c').get(['p4'], { withVector: true })).map((p) => [p.payload, Array.from(p.vector!)]), [[{ i: 4 }, [4, 0]]]);
  });

  it('a collection is snapshotted when its log passes snapshotLogBytes, and the older snapshot is removed', async () => {
    const where = dir();
    const db = await opened({ path: where, snapshotLogBytes: 2_000 });
    const c = await db.createCollection({ name: 'c', dimension: 16 });
    const snapshots = () => fs.readdirSync(path.join(where, 'snapshots'));
    for (let i = 0; i < 40; i++) await c.upsert([{ id: `p${i}`, vector: new Array(16).fill(i), payload: { text: 'y'.repeat(100) } }]);
    await c.delete(['none']); // a mutation queued after the snapshots that the upserts started: they are done
    assert.ok(snapshots().some((f) => f.endsWith('.points')), 'a snapshot was taken before close()');
    await db.close();
    assert.equal(snapshots().length, 2, `one snapshot (two files), the older ones removed: ${snapshots().join(', ')}`);
    const again = await opened({ path: where });
    assert.equal(await again.collection('c').count(), 40);
  });

  it('a second opener of the same directory, in this process or another, is refused with ERR_BUSY until the first closes', async () => {
    const where = dir();
    const first = await openCollections({ path: where });
    await first.createCollection({ name: 'c', dimension: 2 });
    await rejectsWith(openCollections({ path: where }), 'ERR_BUSY');
    const other = await runCase(`return faiss.openCollections({ path: ${JSON.stringify(where)} });`);
    assert.deepEqual([other.status, other.code], ['error', 'ERR_BUSY'], 'another process is refused too');
    await first.close();
    const second = await opened({ path: where });
    assert.equal((await second.listCollections()).length, 1);
  });

  it('after close() every call is ERR_DISPOSED; close() twice is fine', async () => {
    const db = await openCollections();
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await db.close();
    await db.close();
    await rejectsWith(c.count(), 'ERR_DISPOSED');
    await rejectsWith(db.listCollections(), 'ERR_DISPOSED');
    await rejectsWith(db.createCollection({ name: 'd', dimension: 2 }), 'ERR_DISPOSED');
  });

  it('concurrent mutations of one collection apply in the order they were called', async () => {
    const db = await opened({ path: dir() });
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    const calls: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      calls.push(c.upsert([{ id: 'same', vector: [i, i], payload: { i } }]));
      if (i % 10 === 9) calls.push(c.delete({ filter: { must: [{ key: 'i', match: { value: i } }] } }));
    }
    calls.push(c.upsert([{ id: 'same', vector: [99, 99], payload: { i: 99 } }]));
    const answers = await Promise.all(calls);
    assert.deepEqual(answers.filter((a) => 'deleted' in (a as object)), [{ deleted: 1 }, { deleted: 1 }, { deleted: 1 }]);
    assert.deepEqual((await c.get(['same'], { withVector: true })).map((p) => [p.payload, Array.from(p.vector!)]), [[{ i: 99 }, [99, 99]]]);
  });

  it('a collection deleted on disk is gone after reopening, and its name is free', async () => {
    const where = dir();
    let db = await openCollections({ path: where });
    await (await db.createCollection({ name: 'c', dimension: 2 })).upsert([{ id: 'a', vector: [1, 1] }]);
    await db.close();
    db = await openCollections({ path: where });
    await db.deleteCollection('c');
    assert.deepEqual(fs.readdirSync(path.join(where, 'snapshots')), [], 'its snapshot files are removed');
    await db.close();
    db = await opened({ path: where });
    assert.deepEqual(await db.listCollections(), []);
    assert.equal(await (await db.createCollection({ name: 'c', dimension: 3 })).count(), 0);
  });
});
