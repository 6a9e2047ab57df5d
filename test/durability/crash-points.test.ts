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
import { buildTemplate, checkFiles, close, observe, open, scenarios } from '../support/durability';
import { FaultyIO, type Fault } from '../support/faulty-io';


describe('durability: crash points and I/O faults in every mutating operation', function () {
  this.timeout(600_000);
  let template: string;
  let work: string;
  const errors = console.error;

  before(async () => {
    template = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-crash-points-'));
    work = `${template}-work`;
    await buildTemplate(template);
  });
  after(() => {
    console.error = errors;
    fs.rmSync(template, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

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
