// What the dashboard's console needs from the HTTP API beyond the index and admin
// routes: GET /v1/key (which tenant and role the key has), an index's unsaved log
// (logBytes) and the latest errors on it (GET /v1/indexes/{name}/errors), each
// scoped to the caller's tenant as every index route is.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

describe('the console API: own key, unsaved log and errors of an index', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let acme: { admin: string; write: string; read: string };
  let other: { admin: string; write: string; read: string };

  before(async () => {
    s = await startServer();
    acme = await makeTenant(s, 'acme');
    other = await makeTenant(s, 'other');
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('GET /v1/key tells each key its tenant and role, and which one is the operator', async () => {
    const op = await client(s.url, s.adminKey).get('/v1/key');
    assert.equal(op.status, 200);
    assert.equal(op.json.tenant, 'admin');
    assert.equal(op.json.role, 'admin');
    assert.equal(op.json.operator, true);
    assert.equal(op.json.id, s.adminKey.split('_')[1]);
    for (const role of ['admin', 'write', 'read'] as const) {
      const r = await client(s.url, acme[role]).get('/v1/key');
      assert.equal(r.status, 200);
      assert.deepEqual({ tenant: r.json.tenant, role: r.json.role, operator: r.json.operator, id: r.json.id }, { tenant: 'acme', role, operator: false, id: acme[role].split('_')[1] });
      assert.match(r.json.createdAt, /^\d{4}-\d\d-\d\dT/);
      assert.equal(JSON.stringify(r.json).includes(acme[role].split('_')[2]), false, 'never the secret');
    }
    const anonymous = await client(s.url).get('/v1/key');
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.json.error.code, 'ERR_UNAUTHENTICATED');
  });

  it("an index's unsaved log grows with each add", async () => {
    const w = client(s.url, acme.write);
    assert.equal((await w.post('/v1/indexes', { name: 'logged', dimension: 4, factory: 'Flat' })).status, 201);
    const before = (await w.get('/v1/indexes/logged')).json.logBytes;
    assert.equal(typeof before, 'number');
    assert.equal((await w.post('/v1/indexes/logged/add', { vectors: [[1, 2, 3, 4]] })).status, 200);
    const after = (await w.get('/v1/indexes/logged')).json.logBytes;
    assert.ok(after >= before + 16, `logBytes ${before} -> ${after}`);
    const listed = (await w.get('/v1/indexes')).json.indexes.find((i: { name: string }) => i.name === 'logged');
    assert.equal(listed.logBytes, after);
  });

  it("GET /v1/indexes/{name}/errors lists the latest errors on that index, for its own tenant only", async () => {
    const w = client(s.url, acme.write);
    assert.equal((await w.post('/v1/indexes', { name: 'erring', dimension: 4, factory: 'Flat' })).status, 201);
    assert.equal((await w.post('/v1/indexes', { name: 'quiet', dimension: 4, factory: 'Flat' })).status, 201);
    const bad = await w.post('/v1/indexes/erring/search', { vectors: [[1, 2, 3]], k: 1 }, { headers: { 'X-Request-Id': 'wrong-dimension-1' } });
    assert.equal(bad.status, 400);
    assert.equal((await w.post('/v1/indexes/erring/search', { vectors: [[1, 2, 3, 4]], k: 0 })).status, 400);
    // The other tenant's failures on an index of the same name are not acme's.
    const o = client(s.url, other.write);
    assert.equal((await o.post('/v1/indexes', { name: 'erring', dimension: 4, factory: 'Flat' })).status, 201);
    assert.equal((await o.post('/v1/indexes/erring/add', { vectors: [[1]] })).status, 400);

    const r = await client(s.url, acme.read).get('/v1/indexes/erring/errors');
    assert.equal(r.status, 200);
    assert.equal(r.json.errors.length, 2);
    const [newest, oldest] = r.json.errors;
    assert.equal(oldest.requestId, 'wrong-dimension-1');
    assert.equal(oldest.method, 'POST');
    assert.equal(oldest.route, '/v1/indexes/:name/search');
    assert.equal(oldest.status, 400);
    assert.equal(oldest.code, bad.json.error.code);
    assert.equal(oldest.message, bad.json.error.message);
    assert.match(oldest.at, /^\d{4}-\d\d-\d\dT/);
    assert.equal(newest.code, 'ERR_VALIDATION');
    assert.equal((await client(s.url, other.read).get('/v1/indexes/erring/errors')).json.errors.length, 1);
    assert.deepEqual((await client(s.url, acme.read).get('/v1/indexes/quiet/errors')).json, { errors: [] });

    const missing = await client(s.url, acme.read).get('/v1/indexes/nope/errors');
    assert.equal(missing.status, 404);
    assert.equal(missing.json.error.code, 'ERR_INDEX_NOT_FOUND');
  });
});
