// Durable embedded collections: what was acknowledged survives SIGKILL, and a
// damaged snapshot or op log is reported, never loaded as other data. Each
// crash runs in a child process (support/collections-crash-child.ts) killed
// with SIGKILL right after its acknowledgements, or in the middle of a stream
// of calls; each damaged directory is opened in a child of its own, so that a
// crash there shows as a crash.
import Database from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openCollections, type EmbeddedCollections } from '../../lib';
import type { Point } from '../../lib/collections/types';
import { runCase } from '../support/crash-case';
import { BATCH, batchOf, streamOps, vectorOf, type StreamPoint } from '../support/collections-crash-child';

const CHILD = path.resolve(__dirname, '..', 'support', 'collections-crash-child.js');

interface ChildRun {
  acks: unknown[];
  signal: NodeJS.Signals | null;
  code: number | null;
  stderr: string;
}

/** Runs a scenario; with `killAfterAcks`, SIGKILLs the child once it has acknowledged that many calls. */
function runChild(dir: string, scenario: string, snapshotLogBytes: number, killAfterAcks?: number): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, dir, scenario, String(snapshotLogBytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
    const acks: unknown[] = [];
    let buffered = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith('ack ')) acks.push(JSON.parse(line.slice(4)));
        if (killAfterAcks !== undefined && acks.length >= killAfterAcks) child.kill('SIGKILL');
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ acks, signal, code, stderr });
    });
  });
}

/** Every point of collection c, with its vector and payload, by id. */
async function everything(db: EmbeddedCollections, name = 'c'): Promise<Map<string, Point>> {
  const { points, nextOffset } = await db.collection(name).scroll({ limit: 10_000, withVector: true });
  assert.equal(nextOffset, null);
  return new Map(points.map((p) => [p.id, p]));
}

const asPlain = (m: Map<string, Point | StreamPoint>): [string, number[], unknown][] =>
  [...m.values()].map((p) => [p.id, Array.from(p.vector as ArrayLike<number>), p.payload] as [string, number[], unknown]).sort((a, b) => (a[0] < b[0] ? -1 : 1));

describe('embedded collections: durability', function () {
  this.timeout(120_000);
  const dirs: string[] = [];
  const dir = (): string => {
    const d = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-coll-crash-'));
    dirs.push(d);
    return d;
  };
  let db: EmbeddedCollections | undefined;
  afterEach(async () => {
    await db?.close().catch(() => undefined);
    db = undefined;
    for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
  });

  for (const snapshotLogBytes of [1 << 30, 3_000]) {
    const when = snapshotLogBytes > 1e6 ? 'all in the op log' : 'snapshots taken between them';
    it(`30 acknowledged upserts survive SIGKILL right after the last acknowledgement (${when})`, async () => {
      const where = dir();
      const run = await runChild(where, 'upserts', snapshotLogBytes);
      assert.equal(run.signal, 'SIGKILL', run.stderr);
      assert.equal(run.acks.length, 30);
      db = await openCollections({ path: where });
      const expected = new Map<string, StreamPoint>();
      for (let j = 0; j < 30; j++) for (const p of batchOf(j)) expected.set(p.id, p);
      assert.deepEqual(asPlain(await everything(db)), asPlain(expected));
      const hits = await db.collection('c').search(vectorOf(17, 2), 1, { filter: { must: [{ key: 'group', match: { value: 1 } }] } });
      assert.deepEqual(hits.map((h) => h.id), ['b17-2'], 'the HNSW index and the payload index came back too');
    });
  }

  it('deletes by filter and by id survive SIGKILL right after their acknowledgements', async () => {
    const where = dir();
    const run = await runChild(where, 'deletes', 1 << 30);
    assert.equal(run.signal, 'SIGKILL', run.stderr);
    assert.deepEqual(run.acks, ['loaded', { deleted: 25 }, { deleted: 5 + 14 }, { deleted: 2 }]);
    db = await openCollections({ path: where });
    const expected = new Map<string, StreamPoint>();
    for (let j = 0; j < 20; j++) {
      for (const p of batchOf(j)) if (p.payload.group !== 1 && p.payload.batch !== 2 && p.payload.i < 4) expected.set(p.id, p);
    }
    expected.delete('b0-0');
    expected.delete('b0-1');
    assert.deepEqual(asPlain(await everything(db)), asPlain(expected));
    assert.equal(await db.collection('c').count({ filter: { must: [{ key: 'group', match: { value: 1 } }] } }), 0);
  });

  it('collections, aliases, payload indexes, training and idempotency keys survive SIGKILL', async () => {
    const where = dir();
    const run = await runChild(where, 'catalog', 1 << 30);
    assert.equal(run.signal, 'SIGKILL', run.stderr);
    assert.equal(run.acks.length, 5);
    db = await openCollections({ path: where });
    assert.deepEqual((await db.listCollections()).map((c) => c.name), ['c', 'ivf']);
    assert.deepEqual(await db.listAliases(), [{ alias: 'green', collection: 'c' }]);
    assert.deepEqual((await db.collection('green').info()).payloadIndexes, { group: 'integer', batch: 'integer' });
    const ivf = db.collection('ivf');
    assert.equal((await ivf.info()).isTrained, true);
    assert.deepEqual((await ivf.get(['x'])).map((p) => p.payload), [{ ok: true }]);
    const c = db.collection('c');
    await c.delete(['b0-0']);
    assert.deepEqual(await c.upsert(batchOf(0), { idempotencyKey: 'first-batch' }), { upserted: BATCH });
    assert.equal(await c.count(), BATCH - 1, 'the retry after the restart was answered, not applied');
  });

  for (const [killAt, snapshotLogBytes] of [
    [23, 1 << 30],
    [41, 2_500],
    [67, 6_000],
  ] as const) {
    it(`killed in the middle of a stream of upserts, replaces and deletes (after ${killAt} acknowledgements): every acknowledged call is there, the one in flight wholly or not at all`, async () => {
      const where = dir();
      const run = await runChild(where, 'stream', snapshotLogBytes, killAt);
      assert.equal(run.signal, 'SIGKILL', run.stderr);
      const acked = run.acks.length;
      assert.ok(acked >= killAt);
      // The state after the first `acked` calls, and after one more (the call in flight may have committed).
      const states: Map<string, StreamPoint>[] = [];
      const model = new Map<string, StreamPoint>();
      let calls = 0;
      for (const op of streamOps()) {
        if (calls === acked) states.push(new Map(model));
        if (calls === acked + 1) break;
        if ('upsert' in op) for (const p of op.upsert) model.set(p.id, p);
        else for (const [id, p] of model) if (p.payload.batch === op.deleteBatch) model.delete(id);
        calls++;
      }
      states.push(new Map(model));
      db = await openCollections({ path: where });
      const actual = asPlain(await everything(db));
      const matches = states.map((s) => JSON.stringify(asPlain(s)) === JSON.stringify(actual));
      assert.ok(matches.some(Boolean), `the collection holds ${actual.length} points: neither the ${asPlain(states[0]).length} acknowledged nor those plus the call in flight`);
    });
  }

  describe('damaged files are reported, never loaded as other data', () => {
    /** A directory with collection c of 30 batches: after close() (a snapshot) or as SIGKILL left it (all in the log). */
    async function stored(snapshot: boolean): Promise<string> {
      const where = dir();
      const run = await runChild(where, 'upserts', 1 << 30);
      assert.equal(run.signal, 'SIGKILL', run.stderr);
      if (snapshot) await (await openCollections({ path: where })).close();
      return where;
    }

    /** Opens `where` in a child process: its outcome (a crash would show as a signal). */
    const openInChild = (where: string) =>
      runCase(`
        const db = await faiss.openCollections({ path: ${JSON.stringify(where)} });
        const n = await db.collection('c').count();
        await db.close();
        return n;
      `);

    /** The snapshot's index file or its points file. */
    const snapshotFile = (where: string, ext: '.faissindex' | '.points'): string => {
      const files = fs.readdirSync(path.join(where, 'snapshots')).filter((f) => f.endsWith(ext));
      assert.equal(files.length, 1);
      return path.join(where, 'snapshots', files[0]);
    };

    it('the undamaged directories open (the control of the cases below)', async () => {
      for (const snapshot of [true, false]) {
        const outcome = await openInChild(await stored(snapshot));
        assert.deepEqual([outcome.status, outcome.value], ['value', 30 * BATCH], outcome.stderr);
      }
    });

    const snapshotDamage: [string, '.faissindex' | '.points', (file: string) => void][] = [
      ['an index file truncated by one byte', '.faissindex', (f) => fs.truncateSync(f, fs.statSync(f).size - 1)],
      ['an index file truncated to half', '.faissindex', (f) => fs.truncateSync(f, Math.floor(fs.statSync(f).size / 2))],
      ['an index file emptied', '.faissindex', (f) => fs.truncateSync(f, 0)],
      ['an index file with a flipped byte', '.faissindex', (f) => flip(f, 200)],
      ['an index file one byte longer', '.faissindex', (f) => fs.appendFileSync(f, Buffer.from([0]))],
      ['a missing index file', '.faissindex', (f) => fs.rmSync(f)],
      ['a points file truncated by one byte', '.points', (f) => fs.truncateSync(f, fs.statSync(f).size - 1)],
      ['a points file emptied', '.points', (f) => fs.truncateSync(f, 0)],
      ['a points file with a flipped byte in the points', '.points', (f) => flip(f, fs.statSync(f).size - 40)],
      ['a points file with a flipped byte in its header', '.points', (f) => flip(f, 20)],
      ['a missing points file', '.points', (f) => fs.rmSync(f)],
    ];
    for (const [what, ext, damage] of snapshotDamage) {
      it(`a snapshot with ${what} is ERR_CORRUPT_INDEX`, async () => {
        const where = await stored(true);
        damage(snapshotFile(where, ext));
        const outcome = await openInChild(where);
        assert.deepEqual([outcome.status, outcome.code], ['error', 'ERR_CORRUPT_INDEX'], `${outcome.message ?? ''}${outcome.stderr}`);
        assert.match(outcome.message ?? '', /snapshot/);
      });
    }

    const logDamage: [string, string][] = [
      ['an op whose vectors changed', "UPDATE ops SET data = zeroblob(length(data)) WHERE seq = 7"],
      ['an op whose header changed', `UPDATE ops SET header = replace(header, 'b6-', 'b9-') WHERE seq = 7`],
      ['a missing op in the middle', 'DELETE FROM ops WHERE seq = 12'],
    ];
    for (const [what, sql] of logDamage) {
      it(`${what} in the op log is ERR_CORRUPT_INDEX`, async () => {
        const where = await stored(false);
        const s = new Database(path.join(where, 'collections.sqlite'));
        assert.equal(s.prepare(sql).run().changes, 1);
        s.close();
        const outcome = await openInChild(where);
        assert.deepEqual([outcome.status, outcome.code], ['error', 'ERR_CORRUPT_INDEX'], `${outcome.message ?? ''}${outcome.stderr}`);
        assert.match(outcome.message ?? '', /op log/);
      });
    }

    it('a database file overwritten with garbage is ERR_CORRUPT_INDEX', async () => {
      const where = await stored(true);
      const file = path.join(where, 'collections.sqlite');
      fs.writeFileSync(file, Buffer.alloc(fs.statSync(file).size, 0x5a));
      const outcome = await openInChild(where);
      assert.deepEqual([outcome.status, outcome.code], ['error', 'ERR_CORRUPT_INDEX'], `${outcome.message ?? ''}${outcome.stderr}`);
    });
  });
});

function flip(file: string, at: number): void {
  const b = fs.readFileSync(file);
  b[at] ^= 0x01;
  fs.writeFileSync(file, b);
}
