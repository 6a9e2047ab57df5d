// scripts/backup-data-dir.sh while the service runs and a client keeps adding
// (with snapshots taken during the copy), then a restore: a service started on the
// copy holds every vector acknowledged before the backup began, each one exactly, and
// nothing past what was acknowledged by its end.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';
import { call, startServer, type ServerProcess } from '../support/server';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'scripts', 'backup-data-dir.sh');
const BATCH = 20;
const D = 4;

describe('backup and restore while serving (docs/deployment.md)', function () {
  this.timeout(120_000);
  let dir: string;
  const servers: ServerProcess[] = [];

  before(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-backup-')); });
  after(async () => {
    for (const s of servers) await s.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('copies a consistent data directory while writes go on, and a service restored from it has every write acknowledged before it', async () => {
    // Small logs: the service snapshots (and trims its log) every few hundred vectors, also during the copy.
    const live = await startServer({ dataDir: path.join(dir, 'live'), args: ['--snapshot-log-bytes', '32768'] });
    servers.push(live);
    const key = live.adminKey;
    assert.equal((await call(live.url, 'POST', '/v1/indexes', { key, json: { name: 'v', dimension: D, type: 'IndexFlatL2' } })).status, 201);
    // Vector i is [i, i, i, i]: any row of the restored index says whether it is the right one.
    let acknowledged = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const vectors = Array.from({ length: BATCH }, (_, j) => Array(D).fill(acknowledged + j));
        const r = await call(live.url, 'POST', '/v1/indexes/v/add', { key, json: { vectors } });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        acknowledged = r.json.ntotal;
      }
    })();
    while (acknowledged < 2000) await new Promise((r) => setTimeout(r, 20));

    const before = acknowledged;
    const backup = path.join(dir, 'backup');
    const { stderr } = await promisify(execFile)('bash', [SCRIPT, live.dataDir, backup]);
    const after = acknowledged;
    writing = false;
    await writer;
    assert.ok(acknowledged > after, 'writes went on during the backup');
    assert.match(stderr, /backed up/);

    const restored = await startServer({ dataDir: backup, adminKey: key });
    servers.push(restored);
    const info = await call(restored.url, 'GET', '/v1/indexes/v', { key });
    const n: number = info.json.ntotal;
    assert.ok(n >= before && n <= after + BATCH, `restored ${n} vectors; ${before} were acknowledged before the backup, ${after} by its end`);
    const ids = Array.from({ length: n }, (_, i) => i);
    const rows = await call(restored.url, 'POST', '/v1/indexes/v/reconstruct', { key, json: { ids }, headers: { Accept: 'application/octet-stream' } });
    const x = new Float32Array(rows.bytes.buffer, rows.bytes.byteOffset, rows.bytes.length / 4);
    assert.equal(x.length, n * D);
    for (let i = 0; i < n; i++) for (let j = 0; j < D; j++) if (x[i * D + j] !== i) assert.fail(`restored vector ${i} is [${x.subarray(i * D, i * D + D)}]`);
    const check = await promisify(execFile)(process.execPath, [path.resolve(__dirname, '..', '..', 'service', 'cli.js'), 'check', '--data-dir', backup]);
    assert.equal(JSON.parse(check.stdout).ok, true);
  });

  it('refuses a destination that exists and a directory that is not a data directory', async () => {
    fs.mkdirSync(path.join(dir, 'exists'), { recursive: true });
    await assert.rejects(promisify(execFile)('bash', [SCRIPT, path.join(dir, 'live'), path.join(dir, 'exists')]), /exists/);
    await assert.rejects(promisify(execFile)('bash', [SCRIPT, dir, path.join(dir, 'other')]), /not a data directory/);
  });
});
