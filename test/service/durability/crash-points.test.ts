// Crash points and I/O faults, enumerated the way SQLite's ioerr and crash tests
// do it (support/crash-sweep.ts): for every mutating operation and every kind of
// fault (a simulated crash, a simulated power cut that loses what was never
// fsynced, ENOSPC/EIO, a short write, fsync failing), the Nth
// durable call fails, N = 1, 2, 3, ... until the operation completes without
// meeting it; each time the operation succeeds or fails with ERR_STORAGE_FAILED
// (never another error), the state live and after a restart is exactly the one
// before or after it (after when acknowledged), and catalog, snapshots and logs
// agree. A longer sweep, with a real SIGKILL at every point of every operation,
// is `npm run bench:crash-points`.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { buildTemplate, scenarios } from '../../support/durability';
import { memoryTempDir } from '../../support/memory-dir';
import { expectedStates, sweepFault } from '../../support/crash-sweep';

describe('durability: crash points and I/O faults in every mutating operation', function () {
  this.timeout(600_000);
  let template: string;
  let work: string;
  before(async () => {
    template = memoryTempDir('faiss-crash-points-');
    work = `${template}-work`;
    await buildTemplate(template);
  });
  after(() => {
    fs.rmSync(template, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  for (const scenario of scenarios) {
    it(`${scenario.name}: before or after, never between, at every crash point and I/O fault`, async () => {
      const expected = await expectedStates(template, work, scenario);
      const struck: string[] = [];
      for (const fault of ['crash', 'power-cut', 'error', 'short-write', 'fsync'] as const) struck.push(...(await sweepFault(template, work, scenario, fault, expected)));
      assert.ok(struck.length > 0, 'the operation took no durable step');
      const points = [...new Set(struck)];
      console.log(`      ${struck.length} faults at ${points.length} points: ${points.join(', ')}`);
    });
  }
});
