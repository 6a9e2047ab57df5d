// Storage faults of the durable embedded collections: a log write or a
// snapshot that fails. SQLite is the seam: these tests make chosen statements
// fail as SQLite does on a full or failing disk (SQLITE_IOERR, SQLITE_FULL), or
// take the snapshot directory away, and check that a failed call is ERR_IO and leaves nothing behind, that what a
// collection answers afterwards is what survives a restart, and that a failed
// snapshot loses nothing (its ops stay in the log).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { openCollections, type EmbeddedCollections } from '../../lib';

/** The statements a test makes fail, by the start of their SQL. */
const SQL = {
  appendOp: 'INSERT INTO ops',
  setSnapshot: 'UPDATE collections SET snapshot_seq',
  ops: 'SELECT seq, header, data, crc FROM ops',
  deleteCollection: 'DELETE FROM collections WHERE uid',
  createCollection: 'INSERT INTO collections',
  putAlias: 'INSERT OR REPLACE INTO aliases',
} as const;
type Step = keyof typeof SQL;

const Statement = (() => {
  const db = new Database(':memory:');
  const proto = Object.getPrototypeOf(db.prepare('SELECT 1')) as Record<'run' | 'all', (...a: unknown[]) => unknown>;
  db.close();
  return proto;
})();

describe('embedded collections: storage faults', function () {
  this.timeout(60_000);
  const restores: (() => void)[] = [];
  const dirs: string[] = [];
  const open: EmbeddedCollections[] = [];

  /** Makes the next `times` runs of a step's statement fail as SQLite does on a failing disk. */
  function failNext(step: Step, times = 1, code = 'SQLITE_IOERR'): void {
    let left = times;
    for (const method of ['run', 'all'] as const) {
      const original = Statement[method];
      Statement[method] = function (this: { source: string }, ...args: unknown[]) {
        if (left > 0 && this.source.startsWith(SQL[step])) {
          left--;
          throw Object.assign(new Error(`disk I/O error (simulated, ${step})`), { code });
        }
        return original.apply(this, args);
      };
      restores.push(() => (Statement[method] = original));
    }
  }

  async function opened(where: string, o: { snapshotLogBytes?: number } = {}): Promise<EmbeddedCollections> {
    const db = await openCollections({ path: where, ...o });
    open.push(db);
    return db;
  }
  const dir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-coll-faults-'));
    dirs.push(d);
    return d;
  };
  afterEach(async () => {
    for (const r of restores.splice(0).reverse()) r();
    for (const db of open.splice(0)) await db.close().catch(() => undefined);
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  const rejectsWith = (p: Promise<unknown>, code: string) =>
    assert.rejects(p, (e: { code?: string; message?: string }) => {
      assert.equal(e.code, code, e.message);
      return true;
    });

  const state = async (db: EmbeddedCollections, name = 'c') =>
    (await db.collection(name).scroll({ withVector: true })).points.map((p) => [p.id, p.payload, Array.from(p.vector!)]);

  it('an upsert whose log write fails is ERR_IO and changes nothing, now and after a restart', async () => {
    const where = dir();
    let db = await opened(where);
    const c = await db.createCollection({ name: 'c', dimension: 2, factory: 'HNSW8' });
    await c.upsert([{ id: 'p1', vector: [1, 1], payload: { v: 1 } }, { id: 'p2', vector: [2, 2], payload: { v: 1 } }]);
    const before = await state(db);
    failNext('appendOp');
    await rejectsWith(c.upsert([{ id: 'p1', vector: [9, 9], payload: { v: 2 } }, { id: 'p3', vector: [3, 3] }]), 'ERR_IO');
    assert.deepEqual(await state(db), before, 'the replaced point is as it was, the new one absent');
    assert.deepEqual((await c.search([9, 9], 5)).map((h) => h.id), ['p2', 'p1']);
    await c.upsert([{ id: 'p4', vector: [4, 4], payload: { v: 1 } }]);
    const acknowledged = await state(db);
    await db.close();
    db = await opened(where);
    assert.deepEqual(await state(db), acknowledged);
  });

  it('a delete by filter whose log write fails is ERR_IO and deletes nothing', async () => {
    const where = dir();
    let db = await opened(where);
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await c.upsert([1, 2, 3, 4].map((i) => ({ id: `p${i}`, vector: [i, 0], payload: { odd: i % 2 === 1 } })));
    failNext('appendOp', 1, 'SQLITE_FULL');
    await rejectsWith(c.delete({ filter: { must: [{ key: 'odd', match: { value: true } }] } }), 'ERR_IO');
    assert.equal(await c.count(), 4);
    assert.equal(await c.count({ filter: { must: [{ key: 'odd', match: { value: true } }] } }), 2);
    await db.close();
    db = await opened(where);
    assert.equal(await db.collection('c').count(), 4);
  });

  it('an idempotency key whose call failed to log is free: the retry is applied', async () => {
    const db = await opened(dir());
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    failNext('appendOp');
    await rejectsWith(c.upsert([{ id: 'a', vector: [1, 1] }], { idempotencyKey: 'k' }), 'ERR_IO');
    assert.deepEqual(await c.upsert([{ id: 'a', vector: [1, 1] }], { idempotencyKey: 'k' }), { upserted: 1 });
    assert.equal(await c.count(), 1);
  });

  it('when the collection cannot be reloaded after a failed write, its calls are ERR_IO until the collections are opened again; the others work', async () => {
    const where = dir();
    let db = await opened(where);
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    const other = await db.createCollection({ name: 'other', dimension: 2 });
    await c.upsert([{ id: 'kept', vector: [1, 1] }]);
    failNext('appendOp');
    failNext('ops');
    await rejectsWith(c.upsert([{ id: 'lost', vector: [2, 2] }]), 'ERR_IO');
    await rejectsWith(c.count(), 'ERR_IO');
    await rejectsWith(c.upsert([{ id: 'x', vector: [2, 2] }]), 'ERR_IO');
    await other.upsert([{ id: 'fine', vector: [0, 0] }]);
    assert.equal(await other.count(), 1);
    await db.close();
    db = await opened(where);
    assert.deepEqual((await db.collection('c').scroll()).points.map((p) => p.id), ['kept']);
    assert.equal(await db.collection('other').count(), 1);
  });

  it('a createCollection or an alias whose write fails is ERR_IO and creates nothing, now and after a restart', async () => {
    const where = dir();
    let db = await opened(where);
    failNext('createCollection');
    await rejectsWith(db.createCollection({ name: 'c', dimension: 2 }), 'ERR_IO');
    assert.deepEqual(await db.listCollections(), []);
    await db.createCollection({ name: 'd', dimension: 2 });
    failNext('putAlias');
    await rejectsWith(db.createAlias('a', 'd'), 'ERR_IO');
    assert.deepEqual(await db.listAliases(), []);
    await rejectsWith(db.collection('a').count(), 'ERR_COLLECTION_NOT_FOUND');
    await db.close();
    db = await opened(where);
    assert.deepEqual((await db.listCollections()).map((c) => c.name), ['d']);
    assert.deepEqual(await db.listAliases(), []);
  });

  it('a spec FAISS refuses is not stored: the directory opens again and the name is free', async () => {
    const where = dir();
    let db = await opened(where);
    await rejectsWith(db.createCollection({ name: 'c', dimension: 2, factory: 'IVF4,PQ3' }), 'ERR_INVALID_ARGUMENT');
    await db.close();
    db = await opened(where);
    assert.deepEqual(await db.listCollections(), []);
    await db.createCollection({ name: 'c', dimension: 2 });
  });

  it('a deleteCollection whose write fails is ERR_IO and leaves the collection as it was, now and after a restart', async () => {
    const where = dir();
    let db = await opened(where);
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await c.upsert([{ id: 'a', vector: [1, 1] }]);
    failNext('deleteCollection');
    await rejectsWith(db.deleteCollection('c'), 'ERR_IO');
    assert.equal(await c.count(), 1);
    await c.upsert([{ id: 'b', vector: [2, 2] }]);
    await db.close();
    db = await opened(where);
    assert.equal(await db.collection('c').count(), 2);
  });

  it('a collection left unusable by a failed reload can still be deleted', async () => {
    const where = dir();
    let db = await opened(where);
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await c.upsert([{ id: 'a', vector: [1, 1] }]);
    failNext('appendOp');
    failNext('ops');
    await rejectsWith(c.upsert([{ id: 'b', vector: [2, 2] }]), 'ERR_IO');
    await rejectsWith(c.count(), 'ERR_IO');
    await db.deleteCollection('c');
    await rejectsWith(c.count(), 'ERR_COLLECTION_NOT_FOUND');
    await db.close();
    db = await opened(where);
    assert.deepEqual(await db.listCollections(), []);
  });

  it('a snapshot that cannot be written makes close() ERR_IO, and opening again replays the log: nothing is lost', async () => {
    const where = dir();
    let db = await openCollections({ path: where });
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await c.upsert([1, 2, 3].map((i) => ({ id: `p${i}`, vector: [i, i], payload: { i } })));
    const acknowledged = await state(db);
    const snapshots = path.join(where, 'snapshots');
    fs.rmSync(snapshots, { recursive: true });
    fs.writeFileSync(snapshots, 'not a directory');
    await rejectsWith(db.close(), 'ERR_IO');
    await rejectsWith(c.count(), 'ERR_DISPOSED');
    fs.rmSync(snapshots);
    db = await opened(where);
    assert.deepEqual(await state(db), acknowledged);
  });

  it('a snapshot written but not recorded is removed at the next open, and the log still holds its ops', async () => {
    const where = dir();
    let db = await openCollections({ path: where });
    const c = await db.createCollection({ name: 'c', dimension: 2 });
    await c.upsert([1, 2, 3].map((i) => ({ id: `p${i}`, vector: [i, i], payload: { i } })));
    const acknowledged = await state(db);
    failNext('setSnapshot');
    await rejectsWith(db.close(), 'ERR_IO');
    assert.equal(fs.readdirSync(path.join(where, 'snapshots')).length, 2, 'the unrecorded snapshot files');
    db = await opened(where);
    assert.deepEqual(fs.readdirSync(path.join(where, 'snapshots')), [], 'removed as an orphan');
    assert.deepEqual(await state(db), acknowledged);
  });

  it('snapshots that fail in the background do not fail the calls that started them', async () => {
    const where = dir();
    let db = await opened(where, { snapshotLogBytes: 500 });
    const c = await db.createCollection({ name: 'c', dimension: 8 });
    failNext('setSnapshot', 1000);
    for (let i = 0; i < 30; i++) await c.upsert([{ id: `p${i}`, vector: new Array(8).fill(i), payload: { text: 'z'.repeat(50) } }]);
    assert.equal(await c.count(), 30);
    for (const r of restores.splice(0).reverse()) r();
    await db.close();
    db = await opened(where);
    assert.equal(await db.collection('c').count(), 30);
  });
});
