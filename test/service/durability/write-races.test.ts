// Writes racing the end of their log (issue 13, fault 5): an add racing the
// deletion of its index answers 404 (or succeeds, before the deletion), never
// "Cannot read properties of undefined (reading 'append')"; a flush that fails
// (disk full) fails every write it carried and every write queued behind it
// with ERR_STORAGE_FAILED, none of them stays, and the index takes writes again
// once the disk does; a write whose fsync failed is not read back by the reload
// that follows its failure, however slowly the log is cut back.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaults } from '../../../service/config';
import { openServices, type Services } from '../../../service/server';
import { randomVectors } from '../../support/data';
import { FaultyIO } from '../../support/faulty-io';
import { openTestServices, type TestServices } from '../../support/services';

const d = 8;

describe('durability: writes racing a closed log', function () {
  this.timeout(120_000);

  it('adds racing the deletion of their index: each is acknowledged or ERR_INDEX_NOT_FOUND', async () => {
    const s: TestServices = await openTestServices();
    try {
      const outcomes = new Map<string, number>();
      for (let round = 0; round < 12; round++) {
        await s.indexes.create('t', { name: 'r', dimension: d, type: 'IndexHNSWFlat', params: { M: 16 } });
        const adds = Array.from({ length: 24 }, (_, i) => s.indexes.add('t', 'r', randomVectors(200, d, round * 100 + i)));
        const settled = Promise.allSettled(adds);
        // Let the first adds reach FAISS, then delete under them.
        for (let t = 0; t < round % 4; t++) await new Promise((r) => setImmediate(r));
        await s.indexes.delete('t', 'r');
        for (const r of await settled) {
          const outcome = r.status === 'fulfilled' ? 'acknowledged' : ((r.reason as { code?: string }).code ?? String(r.reason));
          outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
        }
      }
      assert.deepEqual([...outcomes.keys()].filter((k) => k !== 'acknowledged' && k !== 'ERR_INDEX_NOT_FOUND'), [], JSON.stringify([...outcomes]));
      assert.ok((outcomes.get('ERR_INDEX_NOT_FOUND') ?? 0) > 0, `the race never happened: ${JSON.stringify([...outcomes])}`);
    } finally {
      await s.cleanup();
    }
  });

  /**
   * Runs `body` on services over a FaultyIO, with index 'x' (Flat under an IDMap)
   * holding id 1; `present` lists its ids, `restart` reopens on the real disk.
   */
  async function withFaultyIndex(body: (t: { io: FaultyIO; s: () => Services; present: () => Promise<number[]>; restart: () => Promise<void> }) => Promise<void>): Promise<void> {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-flush-fail-'));
    const config = { ...defaults(), dataDir };
    const io = new FaultyIO();
    let s: Services = openServices(config, { io: (onFault) => io.attach(onFault) });
    try {
      await s.indexes.open();
      s.tenants.create('t');
      await s.indexes.create('t', { name: 'x', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
      await s.indexes.add('t', 'x', randomVectors(1, d, 1), BigInt64Array.of(1n));
      const present = async () => {
        const r = await s.indexes.search('t', 'x', randomVectors(1, d, 99), 64);
        return Array.from(r.labels).filter((l) => l >= 0n).map(Number).sort((a, b) => a - b);
      };
      const restart = async () => {
        await s.indexes.close();
        s.catalog.close();
        s = openServices(config);
        await s.indexes.open();
      };
      await body({ io, s: () => s, present, restart });
    } finally {
      await s.indexes.close().catch(() => undefined);
      s.catalog.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }

  it('a flush that fails fails every write it carried and every one behind it with ERR_STORAGE_FAILED; none stays', () =>
    withFaultyIndex(async ({ io, s, present, restart }) => {
      io.arm(1, 'error', 'log.append'); // the disk is full for the next append
      const adds = Array.from({ length: 20 }, (_, i) => s().indexes.add('t', 'x', randomVectors(1, d, 10 + i), BigInt64Array.of(BigInt(10 + i))));
      const settled = await Promise.allSettled(adds);
      const codes = settled.map((r) => (r.status === 'fulfilled' ? 'acknowledged' : (r.reason as { code?: string }).code ?? String(r.reason)));
      const failed = codes.filter((c) => c === 'ERR_STORAGE_FAILED').length;
      assert.deepEqual(codes.filter((c) => c !== 'acknowledged' && c !== 'ERR_STORAGE_FAILED'), [], codes.join(','));
      assert.ok(failed >= 1, 'the failing flush carried at least one write');
      // Exactly the acknowledged adds are there, now and after a restart.
      const acknowledged = codes.map((c, i) => (c === 'acknowledged' ? 10 + i : -1)).filter((i) => i >= 0);
      assert.deepEqual(await present(), [1, ...acknowledged]);
      // The disk has room again: writes are taken.
      await s().indexes.add('t', 'x', randomVectors(1, d, 50), BigInt64Array.of(50n));
      await restart();
      assert.deepEqual(await present(), [1, ...acknowledged, 50]);
    }));

  it('a write whose fsync failed is not there when its index reloads at once, even while the log is slow to cut it back', () =>
    withFaultyIndex(async ({ io, s, present, restart }) => {
      // The record reaches the file whole, its fsync fails, and cutting it back takes 300 ms.
      io.arm(1, 'fsync', 'log.sync');
      io.slowAt('log.undo-failed-append', 300);
      const failed = await s().indexes.add('t', 'x', randomVectors(1, d, 2), BigInt64Array.of(2n)).then(
        () => 'acknowledged',
        (e: { code?: string }) => e.code,
      );
      assert.equal(failed, 'ERR_STORAGE_FAILED');
      io.disarm();
      assert.deepEqual(await present(), [1], 'the reload applied a write that was told it failed');
      await restart();
      assert.deepEqual(await present(), [1]);
    }));
});
