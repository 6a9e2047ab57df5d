// Real crashes at named points: the operation runs in a child process whose
// storage I/O SIGKILLs it at its Nth durable step (N = 1, 2, ... until the
// operation completes first); after each kill the data directory is opened
// again and must hold exactly the state before the operation or after it, with
// catalog, snapshots and logs agreeing (test/durability/crash-points simulates
// the same in process, for every operation and fault; this checks the
// simulation against a real SIGKILL for the multi-step ones).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { buildTemplate, checkFiles, close, observe, open, scenarios } from '../support/durability';

const CHILD = path.resolve(__dirname, '..', 'support', 'crash-child.js');

describe('durability: SIGKILL at every durable step of the multi-step operations', function () {
  this.timeout(300_000);
  let template: string;
  before(async () => {
    template = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-sigkill-points-'));
    await buildTemplate(template);
  });
  after(() => fs.rmSync(template, { recursive: true, force: true }));

  for (const name of ['import over an index of another dimension', 'snapshot and log trim', 'delete a tenant (its indexes and keys)']) {
    it(`${name}: before or after after every kill`, async () => {
      const scenario = scenarios.find((s) => s.name === name)!;
      const work = `${template}-work`;
      fs.cpSync(template, work, { recursive: true });
      let s = await open(work);
      await scenario.warm?.(s);
      const before = await observe(s);
      await scenario.run(s);
      const after = await observe(s);
      await close(s);
      fs.rmSync(work, { recursive: true, force: true });
      let kills = 0;
      for (let n = 1; n < 100; n++) {
        fs.cpSync(template, work, { recursive: true });
        const child = spawnSync(process.execPath, [CHILD, work, name, String(n)], { encoding: 'utf8', timeout: 60_000 });
        if (child.status === 0) {
          assert.ok(JSON.parse(child.stdout).completed);
          fs.rmSync(work, { recursive: true, force: true });
          break;
        }
        assert.equal(child.signal, 'SIGKILL', `child ended with ${child.status}: ${child.stderr}`);
        kills++;
        s = await open(work);
        const state = await observe(s);
        assert.ok(state === before || state === after, `killed at durable step ${n}: the state is neither before nor after:\n${state}`);
        checkFiles(s, work);
        await close(s);
        fs.rmSync(work, { recursive: true, force: true });
      }
      assert.ok(kills > 3, `only ${kills} durable steps`);
      console.log(`      killed at each of ${kills} durable steps`);
    });
  }
});
