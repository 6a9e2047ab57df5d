// Crash points and I/O faults, enumerated the way SQLite's ioerr and crash tests
// do it. For every mutating operation and every kind of fault, N = 1, 2, 3, ...:
// start from the same data directory, arm the Nth durable call (test/support/
// faulty-io.ts) with the fault, run the operation, then (without the fault) look
// at the service live and after a restart. The loop ends when the operation
// completes without meeting the fault. Each time:
//   - the operation either succeeds or fails with ERR_STORAGE_FAILED (a 503),
//     never another error;
//   - the state seen is exactly the state before the operation or exactly the
//     state after it (an operation is never half applied), and the one after
//     when the operation was acknowledged;
//   - after a restart the catalog, snapshots and logs agree: every index loads,
//     and no file is left that no index owns.
// A longer sweep with more data runs in bench (npm run bench:crash-points).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexFlatL2, IndexIDMap2, serializeIndex } from '../../lib';
import { defaults } from '../../service/config';
import { openServices, type Services } from '../../service/server';
import { randomVectors } from '../support/data';
import { FaultyIO, type Fault } from '../support/faulty-io';

const d = 4;
const ids = (...xs: number[]) => BigInt64Array.from(xs.map(BigInt));

async function open(dataDir: string, io?: FaultyIO): Promise<Services> {
  const config = { ...defaults(), dataDir, snapshotLogBytes: 1 << 30, rebuildThreshold: 0.3, maxMemory: 0 };
  const s = openServices(config, io ? { io: (onFault) => io.attach(onFault) } : {});
  await s.indexes.open();
  return s;
}

/** Everything a user could notice, as one string: tenants, keys, indexes, and what searches return. */
async function observe(s: Services): Promise<string> {
  const out: unknown[] = [];
  for (const t of s.tenants.list()) {
    const keys = s.keys.list(t.name).map((k) => `${k.role}:${k.revokedAt ? 'revoked' : 'live'}`).sort();
    const indexes: unknown[] = [];
    for (const i of s.indexes.list(t.name)) {
      const info = await s.indexes.describe(t.name, i.name);
      let found: unknown = null;
      if (info.ntotal > 0 && info.isTrained) {
        const q = randomVectors(3, info.dimension, 77);
        const r = await s.indexes.search(t.name, i.name, q, Math.min(info.ntotal, 8), info.nprobe !== undefined ? { nprobe: 64 } : undefined);
        found = [Array.from(r.labels, String), Array.from(r.distances, (x) => x.toFixed(3))];
      }
      // Not the type: a rebuild (after removals) puts an index under an IDMap2 without changing what it answers.
      indexes.push({ name: info.name, dimension: info.dimension, ntotal: info.ntotal, isTrained: info.isTrained, found });
    }
    out.push({ tenant: t.name, keys, indexes });
  }
  return JSON.stringify(out);
}

/** Catalog, snapshots and logs agree: each index owns at most one log and one snapshot (with its state), and nothing else is there. */
function checkFiles(s: Services, dataDir: string): void {
  const owners = new Set(s.catalog.listIndexes().map((r) => r.id));
  const snapshots = new Map<string, number>();
  for (const f of fs.readdirSync(path.join(dataDir, 'indexes'))) {
    const m = /^([0-9a-f-]{36})\.(wal|\d+\.faissindex|\d+\.state\.json)$/.exec(f);
    assert.ok(m, `unexpected file ${f}`);
    assert.ok(owners.has(m[1]), `file ${f} belongs to no index`);
    if (m[2].endsWith('.faissindex')) snapshots.set(m[1], (snapshots.get(m[1]) ?? 0) + 1);
  }
  for (const [id, count] of snapshots) assert.equal(count, 1, `index ${id} has ${count} snapshots`);
}

async function close(s: Services): Promise<void> {
  await s.indexes.close();
  s.catalog.close();
}

interface Scenario {
  name: string;
  /** Loads what the operation works on first (loading is not the operation under test). */
  warm?: (s: Services) => Promise<unknown>;
  run: (s: Services) => Promise<unknown>;
}

describe('durability: crash points and I/O faults in every mutating operation', function () {
  this.timeout(600_000);
  let template: string;
  let work: string;
  let keyId: string;
  let importBytes: Uint8Array;
  const errors = console.error;

  before(async () => {
    template = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-crash-points-'));
    work = `${template}-work`;
    const s = await open(template);
    s.tenants.create('t');
    keyId = s.keys.issue('t', 'write').id;
    s.tenants.create('u');
    s.keys.issue('u', 'read');
    await s.indexes.create('u', { name: 'u1', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('u', 'u1', randomVectors(3, d, 1));
    await s.indexes.create('t', { name: 'flat', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
    await s.indexes.add('t', 'flat', randomVectors(3, d, 2), ids(1, 2, 3));
    await s.indexes.create('t', { name: 'graph', dimension: d, type: 'IndexHNSWFlat', params: { M: 8 } });
    await s.indexes.add('t', 'graph', randomVectors(20, d, 3));
    await s.indexes.create('t', { name: 'ivf', dimension: d, type: 'IndexIVFFlat', params: { nlist: 2 } });
    await s.indexes.snapshotAll();
    // And some writes only in the logs.
    await s.indexes.add('t', 'flat', randomVectors(2, d, 4), ids(4, 5));
    await s.indexes.remove('t', 'graph', ids(0));
    // Closing would snapshot: copy the directory as a crash would leave it.
    fs.cpSync(template, `${template}-live`, { recursive: true });
    s.catalog.close();
    await s.indexes.close().catch(() => undefined);
    fs.rmSync(template, { recursive: true, force: true });
    fs.renameSync(`${template}-live`, template);
    const eight = new IndexIDMap2(new IndexFlatL2(8));
    await eight.addWithIds(randomVectors(4, 8, 5), ids(100, 101, 102, 103));
    importBytes = await serializeIndex(eight);
    eight.dispose();
  });
  after(() => {
    console.error = errors;
    fs.rmSync(template, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  const scenarios: Scenario[] = [
    { name: 'add', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.add('t', 'flat', randomVectors(2, d, 6), ids(10, 11)) },
    { name: 'add to an index not loaded yet', run: (s) => s.indexes.add('t', 'graph', randomVectors(2, d, 7)) },
    { name: 'remove', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.remove('t', 'flat', ids(1, 4)) },
    {
      name: 'remove past the rebuild threshold (rebuild, snapshot, log trim)',
      warm: (s) => s.indexes.describe('t', 'graph'),
      run: async (s) => {
        await s.indexes.remove('t', 'graph', ids(1, 2, 3, 4, 5, 6, 7, 8));
        await s.indexes.snapshotAll(); // waits for the rebuild queued behind it
      },
    },
    { name: 'train', warm: (s) => s.indexes.describe('t', 'ivf'), run: (s) => s.indexes.train('t', 'ivf', randomVectors(100, d, 8)) },
    { name: 'reset', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.reset('t', 'flat') },
    { name: 'create an index', run: (s) => s.indexes.create('t', { name: 'new', dimension: d, type: 'IndexFlatL2' }) },
    { name: 'import over an index of another dimension', run: (s) => s.indexes.importIndex('t', 'flat', importBytes) },
    { name: 'import a new index', run: (s) => s.indexes.importIndex('t', 'imported', importBytes) },
    { name: 'delete an index', run: (s) => s.indexes.delete('t', 'flat') },
    { name: 'delete a tenant (its indexes and keys)', run: (s) => s.tenants.delete('u') },
    { name: 'create a tenant', run: async (s) => s.tenants.create('v') },
    { name: 'create a key', run: async (s) => s.keys.issue('t', 'read') },
    { name: 'revoke a key', run: async (s) => s.keys.revoke(keyId) },
    { name: 'change quotas', run: async (s) => s.tenants.setQuotas('t', { maxIndexes: 3 }) },
    {
      name: 'snapshot and log trim',
      warm: async (s) => {
        await s.indexes.describe('t', 'flat');
        await s.indexes.describe('t', 'graph');
      },
      run: (s) => s.indexes.snapshotAll(),
    },
  ];
  const faults: Fault[] = ['crash', 'error', 'short-write', 'fsync'];

  for (const scenario of scenarios) {
    it(`${scenario.name}: before or after, never between, at every crash point and I/O fault`, async () => {
      // What a user sees before the operation, and after it.
      fs.cpSync(template, work, { recursive: true });
      let s = await open(work);
      await scenario.warm?.(s);
      const before = await observe(s);
      await scenario.run(s);
      const after = await observe(s);
      await close(s);
      s = await open(work);
      assert.equal(await observe(s), after, 'the operation survives a clean restart');
      await close(s);
      fs.rmSync(work, { recursive: true, force: true });

      const tried: string[] = [];
      console.error = () => undefined; // a failed background snapshot says so; here that is the point
      try {
        for (const fault of faults) {
          for (let n = 1; n < 100; n++) {
            fs.cpSync(template, work, { recursive: true });
            const io = new FaultyIO();
            s = await open(work, io);
            await scenario.warm?.(s);
            io.arm(n, fault);
            let acknowledged = false;
            try {
              await scenario.run(s);
              acknowledged = true;
            } catch (e) {
              assert.equal((e as { code?: string }).code, 'ERR_STORAGE_FAILED', `${fault} at ${io.hit}: ${(e as Error).stack}`);
            }
            const where = `${fault} at call ${n} (${io.hit}), ${acknowledged ? 'acknowledged' : 'failed'}`;
            if (io.hit === undefined) {
              assert.ok(acknowledged, where);
              io.disarm();
              await close(s);
              fs.rmSync(work, { recursive: true, force: true });
              break;
            }
            tried.push(`${fault}@${io.hit}`);
            const allowed = acknowledged ? [after] : [before, after];
            if (fault === 'crash') {
              s.catalog.close(); // the "process" is gone: nothing it does reaches the disk any more
              await io.closeAll();
            } else {
              io.disarm();
              const live = await observe(s);
              assert.ok(allowed.includes(live), `${where}: live state is neither before nor after:\n${live}\nbefore ${before}\nafter  ${after}`);
              await close(s);
            }
            s = await open(work);
            const restarted = await observe(s);
            assert.ok(allowed.includes(restarted), `${where}: after restart the state is neither before nor after:\n${restarted}\nbefore ${before}\nafter  ${after}`);
            checkFiles(s, work);
            await close(s);
            fs.rmSync(work, { recursive: true, force: true });
          }
        }
      } finally {
        console.error = errors;
      }
      assert.ok(tried.length > 0, 'the operation took no durable step');
      console.log(`      ${tried.length} faults at ${new Set(tried.map((t) => t.split('@')[1])).size} points: ${[...new Set(tried.map((t) => t.split('@')[1]))].join(', ')}`);
    });
  }
});
