// Keys changed by the CLI while the service runs (another SQLite connection, in
// another process) take effect on the service's next request once
// OTHER_CONNECTIONS_SEEN_WITHIN_MS (storage/catalog.ts) has passed since the
// CLI's commit (the CLI's own exit takes longer), although the service keeps what
// it read of valid keys (domain/keys.ts, while the catalog's key generation, which
// data_version moves, is unchanged).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');

function cli(s: ServerProcess, ...args: string[]): any { // eslint-disable-line @typescript-eslint/no-explicit-any
  return JSON.parse(execFileSync(process.execPath, [CLI, ...args, '--data-dir', s.dataDir], { encoding: 'utf8' }));
}

describe('service: keys changed by the CLI while it runs', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let keys: { admin: string; write: string; read: string };
  const q = Buffer.from(new Float32Array([0.1, 0.2, 0.3, 0.4]).buffer);

  before(async () => {
    s = await startServer();
    keys = await makeTenant(s, 'acme');
    const w = client(s.url, keys.write);
    assert.equal((await w.post('/v1/indexes', { name: 'v', dimension: 4, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await w.post('/v1/indexes/v/add', { vectors: [[0, 0, 0, 1], [1, 0, 0, 0]] })).status, 200);
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  const search = (key: string) =>
    client(s.url, key).post('/v1/indexes/v/search?k=1', undefined, { body: q, headers: { Accept: 'application/octet-stream' } });
  const describe_ = (key: string) => client(s.url, key).get('/v1/indexes/v');

  it('a key revoked by the CLI is refused on the next search and the next describe', async () => {
    const issued = await client(s.url, keys.admin).post('/v1/admin/tenants/acme/keys', { role: 'read' });
    const key = issued.json.key as string;
    // Searched many times first: its record is in the service's cache.
    for (let i = 0; i < 5; i++) assert.equal((await search(key)).status, 200);
    assert.equal((await describe_(key)).status, 200);
    const revoked = cli(s, 'keys', 'revoke', issued.json.id);
    assert.ok(revoked.revokedAt);
    const after = await search(key);
    assert.equal(after.status, 401, after.bytes.toString());
    assert.equal(after.json.error.code, 'ERR_UNAUTHENTICATED');
    assert.equal((await describe_(key)).status, 401);
    assert.equal((await search(keys.read)).status, 200, "the tenant's other keys still work");
  });

  it('a key created by the CLI works on the next request', async () => {
    const created = cli(s, 'keys', 'create', 'acme', 'read');
    assert.equal((await search(created.key)).status, 200);
  });
});
