// Real crashes at named points (support/crash-sweep.ts): the operation runs in a
// child process whose storage I/O SIGKILLs it at its Nth durable step, N = 1, 2,
// ... until the operation completes first; after each kill the data directory
// must hold exactly the state before the operation or after it, with catalog,
// snapshots and logs agreeing. crash-points simulates crashes in process for
// every operation; this checks the simulation against a real SIGKILL for the
// multi-step ones (every operation: npm run bench:crash-points).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { buildTemplate, scenarios } from '../../support/durability';
import { memoryTempDir } from '../../support/memory-dir';
import { expectedStates, sweepKills } from '../../support/crash-sweep';

describe('durability: SIGKILL at every durable step of the multi-step operations', function () {
  this.timeout(300_000);
  let template: string;
  before(async () => {
    template = memoryTempDir('faiss-sigkill-points-');
    await buildTemplate(template);
  });
  after(() => fs.rmSync(template, { recursive: true, force: true }));

  // Each with the fewest durable steps it must take (a write is one log record: its append and its sync).
  for (const [name, steps] of [
    ['import over an index of another dimension', 4],
    ['snapshot and log trim', 4],
    ['delete a tenant (its indexes and keys)', 4],
    // Collections (issue 18): an acknowledged upsert or delete by filter survives SIGKILL at any step.
    ['upsert into a collection (new and replaced points)', 2],
    ['delete from a collection by filter', 2],
  ] as const) {
    it(`${name}: before or after after every kill`, async () => {
      const scenario = scenarios.find((s) => s.name === name)!;
      const work = `${template}-work`;
      const kills = await sweepKills(template, work, scenario, await expectedStates(template, work, scenario));
      assert.ok(kills >= steps, `only ${kills} durable steps`);
      console.log(`      killed at each of ${kills} durable steps`);
    });
  }
});
