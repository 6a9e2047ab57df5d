// Damaged files on disk (issue 13, fault 7). A damaged log tail no longer takes
// an index offline: every valid record before the damage is kept and the cut is
// told (log line, index status). A snapshot is checked against its checksum, so
// flipped bytes or a truncation are a storage error (503 ERR_STORAGE_CORRUPT),
// not wrong vectors or ERR_CORRUPT_INDEX. faiss-proxy check finds all of it;
// faiss-proxy repair cuts a log whose damage hides valid records, and says so.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomVectors } from '../../support/data';
import { openTestServices, type TestServices } from '../../support/services';

const d = 8;
const CLI = path.resolve(__dirname, '..', '..', '..', 'service', 'cli.js');

function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], (error, stdout, stderr) => resolve({ code: error ? ((error.code as number) ?? 1) : 0, stdout, stderr }));
  });
}

describe('durability: damaged logs and snapshots', function () {
  this.timeout(120_000);
  let s: TestServices;
  const xb = randomVectors(10, d, 11);
  const ids = BigInt64Array.from({ length: 10 }, (_, i) => BigInt(100 + i));

  /** An index of 10 vectors acknowledged one add at a time (all in the log, no snapshot after them), then "crashed". */
  async function crashedWithTenRecords(): Promise<{ dir: string; wal: string }> {
    s = await openTestServices({ snapshotLogBytes: 1 << 30 });
    await s.indexes.create('t', { name: 'x', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
    for (let i = 0; i < 10; i++) await s.indexes.add('t', 'x', xb.subarray(i * d, (i + 1) * d), ids.subarray(i, i + 1));
    const id = s.catalog.getIndex('t', 'x')!.id;
    const dir = `${s.config.dataDir}-crashed`;
    fs.cpSync(s.config.dataDir, dir, { recursive: true }); // as a crash leaves it: no shutdown snapshot
    dirs.push(dir, `${dir}-2`);
    await s.cleanup();
    return { dir, wal: path.join(dir, 'indexes', `${id}.wal`) };
  }

  async function assertAllTen(): Promise<void> {
    assert.equal((await s.indexes.describe('t', 'x')).ntotal, 10);
    const back = await s.indexes.reconstruct('t', 'x', Array.from(ids));
    assert.deepEqual(Array.from(back), Array.from(xb), 'every acknowledged vector is back, exactly');
  }

  const dirs: string[] = [];
  afterEach(async () => {
    await s?.cleanup();
    for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const [what, tail] of [
    ['64 garbage bytes', Buffer.from(Array.from({ length: 64 }, (_, i) => (i * 37 + 11) & 0xff))],
    ['4,096 zero bytes', Buffer.alloc(4096)],
  ] as const) {
    it(`${what} after the last valid record: the 10 records are kept, the cut is told`, async () => {
      const { dir, wal } = await crashedWithTenRecords();
      const valid = fs.statSync(wal).size;
      fs.appendFileSync(wal, tail);
      const told: string[] = [];
      const error = console.error;
      console.error = (...a: unknown[]) => told.push(a.join(' '));
      try {
        s = await openTestServices({}, dir);
        await assertAllTen();
      } finally {
        console.error = error;
      }
      assert.ok(told.some((l) => l.includes('t/x') && l.includes(`${tail.length} byte(s)`) && l.includes(`at byte ${valid}`)), `no log line: ${told.join('\n')}`);
      const status = s.indexes.status().find((i) => i.name === 'x')!;
      assert.equal(status.storage?.logDamage?.bytes, tail.length);
      assert.equal(status.storage?.logDamage?.recordsAfter, 0);
      assert.deepEqual(s.indexes.logDamage(), { repairs: 1, bytes: tail.length, records: 0 });
      // The cut is made: the next write appends after the valid records, and a restart sees no damage.
      await s.indexes.add('t', 'x', randomVectors(1, d, 12), BigInt64Array.of(200n));
      s = await s.reopen();
      assert.equal((await s.indexes.describe('t', 'x')).ntotal, 11);
      assert.equal(s.indexes.status().find((i) => i.name === 'x')!.storage, undefined);
    });
  }

  it('damage with valid records after it: the index is offline (503 ERR_STORAGE_CORRUPT) until faiss-proxy repair drops them, saying so', async () => {
    const { dir, wal } = await crashedWithTenRecords();
    const bytes = fs.readFileSync(wal);
    const recordBytes = bytes.length / 10;
    bytes[7 * recordBytes + 25] ^= 0xff; // inside record 8 of 10
    fs.writeFileSync(wal, bytes);

    const checked = await cli(['check', '--data-dir', dir]);
    assert.equal(checked.code, 1, checked.stderr);
    const report = JSON.parse(checked.stdout);
    assert.equal(report.ok, false);
    assert.match(report.indexes[0].problem, /checksum mismatch, with 2 valid record\(s\) after it/);

    fs.cpSync(dir, `${dir}-2`, { recursive: true });
    s = await openTestServices({}, dir);
    await assert.rejects(s.indexes.describe('t', 'x'), (e: { code: string; message: string }) => e.code === 'ERR_STORAGE_CORRUPT' && /faiss-proxy repair/.test(e.message));
    assert.equal(s.indexes.status().find((i) => i.name === 'x')!.storage?.error?.code, 'ERR_STORAGE_CORRUPT', 'the dashboard shows why');
    await s.cleanup().catch(() => undefined);

    const repaired = await cli(['repair', '--data-dir', `${dir}-2`]);
    assert.equal(repaired.code, 0, repaired.stdout + repaired.stderr);
    const done = JSON.parse(repaired.stdout);
    assert.match(done.indexes[0].repaired, /cut the log at byte \d+ \(checksum mismatch\): dropped \d+ byte\(s\) holding 2 valid record\(s\)/);
    assert.equal((await cli(['check', '--data-dir', `${dir}-2`])).code, 0);
    s = await openTestServices({}, `${dir}-2`);
    assert.equal((await s.indexes.describe('t', 'x')).ntotal, 7, 'every record before the damage is kept');
  });

  describe('snapshots carry a checksum', () => {
    async function snapshotted(): Promise<{ dir: string; file: string }> {
      s = await openTestServices();
      await s.indexes.create('t', { name: 'x', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
      await s.indexes.add('t', 'x', xb, ids);
      const dir = s.config.dataDir;
      const id = s.catalog.getIndex('t', 'x')!.id;
      await s.indexes.close(); // the shutdown snapshot holds the 10 vectors; the log is empty
      s.catalog.close();
      const file = fs.readdirSync(path.join(dir, 'indexes')).find((f) => f.startsWith(id) && f.endsWith('.faissindex'))!;
      return { dir, file: path.join(dir, 'indexes', file) };
    }

    it('16 flipped bytes: refused with ERR_STORAGE_CORRUPT, never loaded as wrong vectors', async () => {
      const { dir, file } = await snapshotted();
      const bytes = fs.readFileSync(file);
      for (let i = 0; i < 16; i++) bytes[bytes.length - 200 + i] ^= 0x5a; // inside the vectors
      fs.writeFileSync(file, bytes);
      s = await openTestServices({}, dir);
      await assert.rejects(s.indexes.reconstruct('t', 'x', Array.from(ids)), { code: 'ERR_STORAGE_CORRUPT' });
      const checked = await cli(['check', '--data-dir', dir]);
      assert.equal(checked.code, 1);
      assert.match(JSON.parse(checked.stdout).indexes[0].problem, /checksum mismatch.*import the index again or delete it/);
    });

    it('a truncated snapshot: a storage error (503 ERR_STORAGE_CORRUPT) on reads and writes, not ERR_CORRUPT_INDEX', async () => {
      const { dir, file } = await snapshotted();
      fs.truncateSync(file, fs.statSync(file).size - 100);
      s = await openTestServices({}, dir);
      await assert.rejects(s.indexes.search('t', 'x', xb.subarray(0, d), 1), { code: 'ERR_STORAGE_CORRUPT' });
      await assert.rejects(s.indexes.add('t', 'x', xb.subarray(0, d), BigInt64Array.of(1n)), { code: 'ERR_STORAGE_CORRUPT' });
    });
  });
});
