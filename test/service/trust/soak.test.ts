// A short soak: 64 clients on 4 tenants, mixed reads and writes and bad requests,
// against a server that is SIGKILLed and restarted on its data directory at
// random moments (2 or 3 times in 12 s) and whose disk fills up (ENOSPC on every write) for a while in
// between; writes without an answer are retried with their Idempotency-Key.
// Then one more SIGKILL, and the check: every acknowledged write is there exactly
// once (ntotal and each vector), no 5xx but storage 503s while the disk was full,
// no request unanswered outside a kill, every bad request a 4xx, every retry
// answered as the first try. The long version is `npm run bench:soak`.
import { strict as assert } from 'node:assert';
import { runSoak } from '../../support/soak';
import { KillableServer } from '../../support/soak-faults';

describe('service: soak', function () {
  this.timeout(120_000);
  let s: KillableServer;
  before(async () => {
    s = await KillableServer.start();
  });
  after(async () => {
    await s?.stop();
  });

  it('64 clients, 4 tenants, 12 s with SIGKILLs and full-disk windows, one more SIGKILL: nothing acknowledged lost or doubled, no 5xx but storage 503s', async () => {
    const report = await runSoak({
      url: () => s.url,
      adminKey: s.adminKey,
      clients: 64,
      tenants: 4,
      durationMs: 12_000,
      faults: { everyMs: [1000, 2500], kinds: { kill: () => s.killAndRestart(), storage: () => s.fillDisk(700) } },
      beforeCheck: () => s.killAndRestart(),
    });
    const summary = JSON.stringify({ ...report, serverErrors: report.serverErrors.slice(0, 5), lost: report.lost.slice(0, 5) });
    assert.deepEqual(report.serverErrors, [], summary);
    assert.deepEqual(report.lost, [], summary);
    assert.deepEqual(report.unresolved, [], summary);
    // Kills and full disks alternate; a slow machine restarts slowly, so fewer fit: at least one of each while the clients ran.
    assert.ok(s.kills >= 2 && s.diskFullWindows >= 1, `${s.kills} kills, ${s.diskFullWindows} full-disk windows: ${summary}`);
    assert.ok((report.statuses['503'] ?? 0) > 0, `the full disk answered no storage 503: ${summary}`);
    assert.ok(report.checkedVectors > 200 && report.requests > 500, summary);
    assert.equal(s.process.proc.exitCode, null, s.process.output());
  });
});
