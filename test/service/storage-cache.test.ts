// Indexes load lazily and a memory budget evicts the least recently used; an
// evicted index comes back transparently. Counters say what happened.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { randomVectors } from '../support/data';
import { openTestServices, type TestServices } from '../support/services';

const d = 32;

describe('storage: index cache', function () {
  this.timeout(60_000);
  let s: TestServices;
  afterEach(async () => s.cleanup());

  it('evicts the least recently used index past --max-memory and reloads it on use', async () => {
    // Each index: 2000 x 32 floats = 256 KB; the budget holds two.
    s = await openTestServices({ maxMemory: 600_000 });
    const q = randomVectors(3, d, 9);
    const answers: bigint[][] = [];
    for (let i = 0; i < 4; i++) {
      await s.indexes.create('t', { name: `i${i}`, dimension: d, type: 'IndexFlatL2' });
      await s.indexes.add('t', `i${i}`, randomVectors(2000, d, 100 + i));
      answers.push(Array.from((await s.indexes.search('t', `i${i}`, q, 5)).labels));
    }
    // Eviction runs after the operation: wait for it (bounded), not for a fixed time.
    for (let waited = 0; waited < 10_000 && s.indexes.cacheStats().residentBytes > 600_000; waited += 20) {
      await new Promise((r) => setTimeout(r, 20));
    }
    const stats = s.indexes.cacheStats();
    assert.ok(stats.evictions >= 2, `evictions: ${stats.evictions}`);
    assert.ok(stats.residentBytes <= 600_000, `resident: ${stats.residentBytes}`);
    assert.equal(s.indexes.list('t').filter((i) => i.loaded).length, stats.resident);
    // The evicted ones answer as before.
    const before = s.indexes.cacheStats();
    for (let i = 0; i < 4; i++) assert.deepEqual(Array.from((await s.indexes.search('t', `i${i}`, q, 5)).labels), answers[i]);
    const after = s.indexes.cacheStats();
    assert.ok(after.misses > before.misses && after.loads > before.loads);
    assert.ok(after.hits + after.misses > before.hits + before.misses);
  });

  it('loads nothing at start; the first use loads (snapshot + log)', async () => {
    s = await openTestServices();
    await s.indexes.create('t', { name: 'lazy', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('t', 'lazy', randomVectors(100, d, 1));
    s = await s.reopen();
    assert.equal(s.indexes.cacheStats().resident, 0);
    assert.equal(s.indexes.list('t')[0].loaded, false);
    assert.equal((await s.indexes.describe('t', 'lazy')).ntotal, 100);
    assert.equal(s.indexes.cacheStats().loads, 1);
  });

  it('recovers the log after a crash: a torn last record is dropped, other damage is reported', async () => {
    s = await openTestServices({ snapshotLogBytes: 1 << 30 });
    await s.indexes.create('t', { name: 'w', dimension: d, type: 'IndexFlatL2' });
    await s.indexes.add('t', 'w', randomVectors(10, d, 2));
    await s.indexes.add('t', 'w', randomVectors(10, d, 3));
    const id = s.catalog.getIndex('t', 'w')!.id;
    const logFile = `${s.config.dataDir}/indexes/${id}.wal`;
    const log = fs.readFileSync(logFile);
    assert.ok(log.length > 0);
    // Simulate a crash (no shutdown snapshot): copy the data away before closing.
    const crashed = `${s.config.dataDir}-crashed`;
    fs.cpSync(s.config.dataDir, crashed, { recursive: true });
    await s.cleanup();

    // A torn tail: the last record half written.
    fs.writeFileSync(`${crashed}/indexes/${id}.wal`, log.subarray(0, log.length - 7));
    s = await openTestServices({}, crashed);
    assert.equal((await s.indexes.describe('t', 'w')).ntotal, 10, 'the torn add was never acknowledged and is dropped');
    await s.indexes.add('t', 'w', randomVectors(5, d, 4));
    assert.equal((await s.indexes.describe('t', 'w')).ntotal, 15, 'appending after a torn tail works');
    const copy = `${crashed}-2`;
    fs.cpSync(crashed, copy, { recursive: true });
    await s.cleanup();

    // Damage in the middle: reported, never silently used.
    const damaged = fs.readFileSync(`${copy}/indexes/${id}.wal`);
    damaged[30] ^= 0xff;
    fs.writeFileSync(`${copy}/indexes/${id}.wal`, damaged);
    s = await openTestServices({}, copy);
    await assert.rejects(s.indexes.describe('t', 'w'), { code: 'ERR_STORAGE_CORRUPT' });
  });
});

describe('storage: memory-mapped IVF indexes (params.mmap)', function () {
  this.timeout(60_000);
  let s: TestServices;
  afterEach(async () => s.cleanup());

  it('opens mapped while only read; a write loads it fully; a restart maps it again', async () => {
    s = await openTestServices();
    const xb = randomVectors(3000, d, 21);
    await s.indexes.create('t', { name: 'big', dimension: d, type: 'IndexIVFFlat', params: { nlist: 16, nprobe: 16, mmap: true } });
    await s.indexes.train('t', 'big', xb);
    await s.indexes.add('t', 'big', xb);
    const q = randomVectors(4, d, 22);
    const expected = Array.from((await s.indexes.search('t', 'big', q, 5)).labels);
    s = await s.reopen();
    let info = await s.indexes.describe('t', 'big');
    assert.equal(info.memoryMapped, true);
    assert.equal(info.ntotal, 3000);
    assert.deepEqual(Array.from((await s.indexes.search('t', 'big', q, 5)).labels), expected);
    assert.deepEqual(await s.indexes.reconstruct('t', 'big', [7n]), xb.subarray(7 * d, 8 * d), 'reconstruct works (the index loads fully for its direct map)');
    await s.indexes.add('t', 'big', randomVectors(10, d, 23));
    info = await s.indexes.describe('t', 'big');
    assert.equal(info.memoryMapped, false);
    assert.equal(info.ntotal, 3010);
    const exported = await s.indexes.exportIndex('t', 'big');
    s = await s.reopen();
    info = await s.indexes.describe('t', 'big');
    assert.equal(info.memoryMapped, true, 'mapped again once the log is folded into the snapshot');
    assert.equal(info.ntotal, 3010);
    assert.ok(exported.length > 3000 * d * 4, 'an export holds the vectors, not a reference to a file');
  });

  it('params.mmap on a non-IVF index is refused', async () => {
    s = await openTestServices();
    await assert.rejects(s.indexes.create('t', { name: 'x', dimension: d, type: 'IndexFlatL2', params: { mmap: true } }), { code: 'ERR_INVALID_ARGUMENT' });
  });
});
