// A short soak: 64 clients on 4 tenants, mixed reads and writes and bad requests,
// for a few seconds against one server: no 5xx, every bad request a 4xx, every
// retry answered as the first try, and every index holding exactly what its
// acknowledged writes say. The long version is `npm run bench:soak`.
import { strict as assert } from 'node:assert';
import { runSoak } from '../support/soak';
import { startServer, type ServerProcess } from '../support/server';

describe('service: soak', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  before(async () => {
    s = await startServer({ args: ['--log-level', 'silent'] });
  });
  after(async () => {
    await s?.stop();
  });

  it('64 clients, 4 tenants, mixed reads and writes for 4 s: no 5xx, nothing acknowledged lost', async () => {
    const report = await runSoak({ url: () => s.url, adminKey: s.adminKey, clients: 64, tenants: 4, durationMs: 4000 });
    assert.deepEqual(report.serverErrors, []);
    assert.deepEqual(report.lost, []);
    assert.ok(report.requests > 500, `only ${report.requests} requests: ${JSON.stringify(report.statuses)}`);
    assert.equal(s.proc.exitCode, null, s.output());
  });
});
