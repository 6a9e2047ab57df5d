// Tenant isolation and authorization, black-box over HTTP against a real server
// process. Another tenant's index does not exist for you: every index route answers
// exactly as it does for a name nobody uses. Roles gate every route; keys stop
// working the moment they are revoked or their tenant is deleted.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { call, client, makeTenant, newKey, startServer, type Reply, type ServerProcess } from '../support/server';

type Client = ReturnType<typeof client>;
type Role = 'admin' | 'write' | 'read';
type Keys = Record<Role, string>;

const ROLES: Role[] = ['admin', 'write', 'read'];
const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };
const d = 4;
// A's vectors sit near the origin, B's near (10, 10, 10, 10): results show whose index answered.
const aRows = [[0, 0, 0, 0], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]];
const bRows = [[10, 10, 10, 10], [11, 10, 10, 10], [10, 11, 10, 10]];
const query = [[0.5, 0, 0, 0]];

function assertError(r: Reply, status: number, code: string): void {
  assert.equal(r.status, status, `expected ${status} ${code}, got ${r.status} ${JSON.stringify(r.json)}`);
  assert.equal(r.json?.error?.code, code);
  assert.equal(typeof r.json.error.message, 'string');
}

/** What a caller learns from a reply, with the index name in the message masked. */
const outcome = (r: Reply, name: string) => ({
  status: r.status,
  code: r.json?.error?.code as string | undefined,
  message: (r.json?.error?.message as string | undefined)?.split(name).join('<name>'),
});

// B's own FAISS file (3 vectors), for the import route; set in before().
let bFile: Buffer;

/** Every route of routes/indexes.ts that names an index, with the least role it needs. */
interface IndexOp {
  route: string;
  role: Role;
  /** Status when it succeeds. */
  ok: number;
  run: (c: Client, name: string) => Promise<Reply>;
}
const indexOps: IndexOp[] = [
  { route: 'GET /v1/indexes/:name', role: 'read', ok: 200, run: (c, n) => c.get(`/v1/indexes/${n}`) },
  { route: 'DELETE /v1/indexes/:name', role: 'write', ok: 204, run: (c, n) => c.del(`/v1/indexes/${n}`) },
  { route: 'POST /v1/indexes/:name/train', role: 'write', ok: 200, run: (c, n) => c.post(`/v1/indexes/${n}/train`, { vectors: aRows }) },
  { route: 'POST /v1/indexes/:name/add', role: 'write', ok: 200, run: (c, n) => c.post(`/v1/indexes/${n}/add`, { vectors: query }) },
  { route: 'POST /v1/indexes/:name/search', role: 'read', ok: 200, run: (c, n) => c.post(`/v1/indexes/${n}/search`, { vectors: query, k: 2 }) },
  {
    route: 'POST /v1/indexes/:name/range_search',
    role: 'read',
    ok: 200,
    run: (c, n) => c.post(`/v1/indexes/${n}/range_search`, { vectors: query, radius: 100 }),
  },
  { route: 'POST /v1/indexes/:name/remove', role: 'write', ok: 200, run: (c, n) => c.post(`/v1/indexes/${n}/remove`, { ids: [0] }) },
  { route: 'POST /v1/indexes/:name/reconstruct', role: 'read', ok: 200, run: (c, n) => c.post(`/v1/indexes/${n}/reconstruct`, { ids: [0] }) },
  { route: 'POST /v1/indexes/:name/reset', role: 'write', ok: 200, run: (c, n) => c.post(`/v1/indexes/${n}/reset`) },
  { route: 'GET /v1/indexes/:name/export', role: 'read', ok: 200, run: (c, n) => c.get(`/v1/indexes/${n}/export`) },
  { route: 'PUT /v1/indexes/:name/import', role: 'write', ok: 201, run: (c, n) => c.put(`/v1/indexes/${n}/import`, { body: bFile }) },
];
const createOp: IndexOp = {
  route: 'POST /v1/indexes',
  role: 'write',
  ok: 201,
  run: (c, n) => c.post('/v1/indexes', { name: n, dimension: d, type: 'IndexFlatL2' }),
};
const listOp: IndexOp = { route: 'GET /v1/indexes', role: 'read', ok: 200, run: (c) => c.get('/v1/indexes') };

describe('service: tenant isolation, roles and authentication', function () {
  this.timeout(30_000);
  let s: ServerProcess;
  let a: Record<Role, Client>;
  let b: Record<Role, Client>;
  let aKeys: Keys;
  let bKeys: Keys;
  /** The operator: an admin key of the "admin" tenant. */
  let operator: Client;
  /** The id of one of B's keys (the part between "fp_" and the secret). */
  let bKeyId: string;
  /** A's indexes as A saw them before B did anything, and A's files. */
  const aBefore: Record<string, { info: unknown; file: Buffer }> = {};

  const clients = (keys: Keys): Record<Role, Client> => ({ admin: client(s.url, keys.admin), write: client(s.url, keys.write), read: client(s.url, keys.read) });
  const names = async (c: Client): Promise<string[]> => ((await c.get('/v1/indexes')).json.indexes as { name: string }[]).map((i) => i.name);

  async function makeIndex(c: Client, name: string, rows: number[][]): Promise<void> {
    assert.equal((await c.post('/v1/indexes', { name, dimension: d, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await c.post(`/v1/indexes/${name}/add`, { vectors: rows })).status, 200);
  }

  /** A's index is exactly as it was: same description (ntotal, version, bytes) and the same FAISS file. */
  async function assertAUntouched(name: string): Promise<void> {
    const info = await a.read.get(`/v1/indexes/${name}`);
    assert.equal(info.status, 200, `A's ${name} is gone: ${JSON.stringify(info.json)}`);
    assert.deepEqual(info.json, aBefore[name].info);
    assert.ok((await a.read.get(`/v1/indexes/${name}/export`)).bytes.equals(aBefore[name].file), `A's ${name} changed`);
  }

  before(async () => {
    s = await startServer();
    aKeys = await makeTenant(s, 'tenantA');
    bKeys = await makeTenant(s, 'tenantB');
    a = clients(aKeys);
    b = clients(bKeys);
    operator = client(s.url, s.adminKey);
    bKeyId = bKeys.read.split('_')[1];
    await makeIndex(a.write, 'shared', aRows);
    await makeIndex(a.write, 'onlyA', aRows);
    await makeIndex(b.write, 'shared', bRows);
    await makeIndex(b.write, 'onlyB', bRows);
    for (const name of ['shared', 'onlyA']) {
      aBefore[name] = { info: (await a.read.get(`/v1/indexes/${name}`)).json, file: (await a.read.get(`/v1/indexes/${name}/export`)).bytes };
    }
    bFile = (await b.read.get('/v1/indexes/onlyB/export')).bytes;
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  describe('public routes answer without a key', () => {
    const routes: [string, unknown][] = [
      ['/healthz', { status: 'ok' }],
      ['/readyz', { status: 'ready' }],
      ['/v1/openapi.json', undefined],
    ];
    for (const [route, body] of routes) {
      it(`GET ${route} without a key, and with a garbage key`, async () => {
        for (const headers of [{}, { 'X-API-Key': 'garbage' }] as Record<string, string>[]) {
          const r = await call(s.url, 'GET', route, { headers });
          assert.equal(r.status, 200);
          if (body) assert.deepEqual(r.json, body);
          else assert.match(r.json.openapi, /^3\./);
        }
      });
    }
  });

  describe("B never sees A's private index", () => {
    for (const role of ROLES) {
      it(`GET /v1/indexes with B's ${role} key lists B's indexes only`, async () => {
        assert.deepEqual(await names(b[role]), ['onlyB', 'shared']);
        assert.deepEqual(await names(a[role]), ['onlyA', 'shared']);
      });
    }

    for (const op of indexOps) {
      for (const role of ROLES) {
        const allowed = RANK[role] >= RANK[op.role];
        const expected = !allowed ? '403 ERR_FORBIDDEN' : op.ok === 201 ? `201 (B's own new index)` : '404 ERR_INDEX_NOT_FOUND';
        it(`${op.route} on "onlyA" with B's ${role} key: ${expected}, exactly as for a name that never existed`, async () => {
          const onA = await op.run(b[role], 'onlyA');
          const never = await op.run(b[role], 'neverExisted');
          assert.deepEqual(outcome(onA, 'onlyA'), outcome(never, 'neverExisted'));
          if (!allowed) assertError(onA, 403, 'ERR_FORBIDDEN');
          else if (op.ok !== 201) assertError(onA, 404, 'ERR_INDEX_NOT_FOUND');
          else {
            // import creates B's own "onlyA" (201, not the 200 of a replacement) from B's file.
            assert.equal(onA.status, 201, JSON.stringify(onA.json));
            assert.equal(onA.json.ntotal, bRows.length);
            assert.deepEqual(await names(b.read), ['neverExisted', 'onlyA', 'onlyB', 'shared']);
            assert.deepEqual(await names(a.read), ['onlyA', 'shared']);
            await assertAUntouched('onlyA');
            for (const name of ['onlyA', 'neverExisted']) assert.equal((await b.write.del(`/v1/indexes/${name}`)).status, 204);
          }
        });
      }
    }

    it("A's onlyA is untouched after all of that, and B's list is back to its own two", async () => {
      await assertAUntouched('onlyA');
      assert.deepEqual(await names(b.read), ['onlyB', 'shared']);
    });
  });

  describe('"shared": the same name in both tenants, B acts on its own index only', () => {
    const route = (op: string) => `/v1/indexes/shared/${op}`;
    // In order: reads first, then each mutation; after every step A's "shared" is exactly as it was.
    const steps: { op: string; status: number; run: () => Promise<Reply>; check: (r: Reply) => void | Promise<void> }[] = [
      { op: 'describe', status: 200, run: () => b.read.get('/v1/indexes/shared'), check: (r) => assert.equal(r.json.ntotal, bRows.length) },
      {
        op: 'search',
        status: 200,
        run: () => b.read.post(route('search'), { vectors: [bRows[1]], k: 1 }),
        check: (r) => assert.deepEqual(r.json, { distances: [[0]], labels: [[1]] }),
      },
      {
        op: 'range_search',
        status: 200,
        run: () => b.read.post(route('range_search'), { vectors: [bRows[0]], radius: 0.5 }),
        check: (r) => assert.deepEqual(r.json, { results: [{ distances: [0], labels: [0] }] }),
      },
      {
        op: 'reconstruct',
        status: 200,
        run: () => b.read.post(route('reconstruct'), { ids: [1] }),
        check: (r) => assert.deepEqual(r.json, { vectors: [bRows[1]] }),
      },
      {
        op: 'export',
        status: 200,
        run: () => b.read.get(route('export')),
        check: (r) => assert.ok(!r.bytes.equals(aBefore.shared.file), "B's export is A's file"),
      },
      { op: 'add', status: 200, run: () => b.write.post(route('add'), { vectors: [[20, 20, 20, 20]] }), check: (r) => assert.deepEqual([r.json.added, r.json.ntotal], [1, 4]) },
      { op: 'train', status: 200, run: () => b.write.post(route('train'), { vectors: bRows }), check: (r) => assert.equal(r.json.ntotal, 4) },
      { op: 'remove', status: 200, run: () => b.write.post(route('remove'), { ids: [0] }), check: (r) => assert.deepEqual([r.json.removed, r.json.ntotal], [1, 3]) },
      { op: 'reset', status: 200, run: () => b.write.post(route('reset')), check: (r) => assert.equal(r.json.ntotal, 0) },
      {
        op: 'import',
        status: 200, // replaces B's "shared": it exists for B
        run: () => b.write.put(route('import'), { body: bFile }),
        check: (r) => assert.equal(r.json.ntotal, bRows.length),
      },
      {
        op: 'delete',
        status: 204,
        run: () => b.write.del('/v1/indexes/shared'),
        check: async () => assertError(await b.read.get('/v1/indexes/shared'), 404, 'ERR_INDEX_NOT_FOUND'),
      },
    ];
    for (const step of steps) {
      it(`B's ${step.op} on "shared" answers from B's index and leaves A's alone`, async () => {
        const r = await step.run();
        assert.equal(r.status, step.status, JSON.stringify(r.json));
        await step.check(r);
        await assertAUntouched('shared');
      });
    }
  });

  describe('roles', () => {
    const writeOps = [createOp, ...indexOps.filter((o) => o.role === 'write')];
    const readOps = [listOp, ...indexOps.filter((o) => o.role === 'read')];

    for (const op of writeOps) {
      it(`a read key gets 403 ERR_FORBIDDEN on ${op.route}`, async () => {
        assertError(await op.run(a.read, op === createOp ? 'byReader' : 'onlyA'), 403, 'ERR_FORBIDDEN');
      });
    }
    it('...and none of those refused writes happened', async () => {
      await assertAUntouched('onlyA');
      assert.deepEqual(await names(a.read), ['onlyA', 'shared']);
    });

    for (const op of readOps) {
      it(`a read key may ${op.route} (flat index)`, async () => {
        const r = await op.run(a.read, 'onlyA');
        assert.equal(r.status, op.ok, JSON.stringify(r.json));
      });
    }

    // Every admin route; run in this order by tenant A's admin key they make, inspect and drop "tenantC".
    let tenantCKey = 'ffffffffffffffff';
    const adminOps: { route: string; ok: number; run: (c: Client) => Promise<Reply> }[] = [
      { route: 'POST /v1/admin/tenants', ok: 201, run: (c) => c.post('/v1/admin/tenants', { name: 'tenantC' }) },
      { route: 'GET /v1/admin/tenants', ok: 200, run: (c) => c.get('/v1/admin/tenants') },
      { route: 'GET /v1/admin/tenants/:tenant', ok: 200, run: (c) => c.get('/v1/admin/tenants/tenantC') },
      { route: 'PATCH /v1/admin/tenants/:tenant', ok: 200, run: (c) => c.patch('/v1/admin/tenants/tenantC', { quotas: { maxIndexes: 3 } }) },
      { route: 'POST /v1/admin/tenants/:tenant/keys', ok: 201, run: (c) => c.post('/v1/admin/tenants/tenantC/keys', { role: 'read' }) },
      { route: 'GET /v1/admin/tenants/:tenant/keys', ok: 200, run: (c) => c.get('/v1/admin/tenants/tenantC/keys') },
      { route: 'DELETE /v1/admin/keys/:keyId', ok: 200, run: (c) => c.del(`/v1/admin/keys/${tenantCKey}`) },
      { route: 'DELETE /v1/admin/tenants/:tenant', ok: 204, run: (c) => c.del('/v1/admin/tenants/tenantC') },
    ];
    for (const role of ['write', 'read'] as const) {
      for (const op of adminOps) {
        it(`a ${role} key gets 403 ERR_FORBIDDEN on ${op.route}`, async () => {
          assertError(await op.run(a[role]), 403, 'ERR_FORBIDDEN');
        });
      }
    }
    it('...and none of those refused admin calls happened', async () => {
      assertError(await a.admin.get('/v1/admin/tenants/tenantC'), 404, 'ERR_TENANT_NOT_FOUND');
    });
    // A tenant's own admin: tenant-wide operations are the operator's (403), other
    // tenants do not exist (404), its own tenant and keys are its to manage.
    const tenantWide = new Set(['POST /v1/admin/tenants', 'GET /v1/admin/tenants', 'PATCH /v1/admin/tenants/:tenant', 'DELETE /v1/admin/tenants/:tenant']);
    for (const op of adminOps) {
      it(`tenant A's admin key on another tenant: ${op.route} is ${tenantWide.has(op.route) ? '403' : '404'}`, async () => {
        const r = await op.run(a.admin);
        if (tenantWide.has(op.route)) assertError(r, 403, 'ERR_FORBIDDEN');
        else assert.equal(r.status, 404, JSON.stringify(r.json));
      });
    }
    it("tenant A's admin key sees tenant A and manages its keys", async () => {
      assert.equal((await a.admin.get('/v1/admin/tenants/tenantA')).status, 200);
      const issued = await a.admin.post('/v1/admin/tenants/tenantA/keys', { role: 'read' });
      assert.equal(issued.status, 201);
      assert.ok((await a.admin.get('/v1/admin/tenants/tenantA/keys')).json.keys.some((k: { id: string }) => k.id === issued.json.id));
      assert.equal((await a.admin.del(`/v1/admin/keys/${issued.json.id}`)).status, 200);
      assertError(await a.admin.del(`/v1/admin/keys/${bKeyId}`), 404, 'ERR_KEY_NOT_FOUND');
    });
    for (const op of adminOps) {
      it(`the operator's admin key may ${op.route}`, async () => {
        const r = await op.run(operator);
        assert.equal(r.status, op.ok, JSON.stringify(r.json));
        if (op.route === 'POST /v1/admin/tenants/:tenant/keys') tenantCKey = r.json.id;
        if (op.route === 'PATCH /v1/admin/tenants/:tenant') assert.equal(r.json.maxIndexes, 3);
        if (op.route === 'DELETE /v1/admin/keys/:keyId') assert.ok(r.json.revokedAt);
      });
    }
  });

  describe('authentication failures are 401 ERR_UNAUTHENTICATED', () => {
    const routes: [string, string, unknown?][] = [
      ['GET', '/v1/indexes'],
      ['GET', '/v1/indexes/shared'],
      ['POST', '/v1/indexes/shared/search', { vectors: query, k: 1 }],
      ['GET', '/v1/admin/tenants'],
    ];
    const wrongSecret = (key: string) => key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    const presented: [string, () => Record<string, string>][] = [
      ['no key at all', () => ({})],
      ['an empty X-API-Key', () => ({ 'X-API-Key': '' })],
      ['an unknown well-formed key', () => ({ 'X-API-Key': newKey() })],
      ['a malformed key', () => ({ 'X-API-Key': 'not-a-key' })],
      ['a known key id with the wrong secret', () => ({ 'X-API-Key': wrongSecret(aKeys.admin) })],
      ['a valid key with one character more', () => ({ 'X-API-Key': `${aKeys.admin}x` })],
      ['a valid key sent as a Bearer token instead of X-API-Key', () => ({ Authorization: `Bearer ${aKeys.admin}` })],
    ];
    for (const [what, headers] of presented) {
      it(`${what}`, async () => {
        for (const [method, route, json] of routes) {
          const r = await call(s.url, method, route, { headers: headers(), json });
          assertError(r, 401, 'ERR_UNAUTHENTICATED');
        }
      });
    }

    it('a key revoked via DELETE /v1/admin/keys/:keyId is refused on the very next request', async () => {
      const issued = await a.admin.post('/v1/admin/tenants/tenantA/keys', { role: 'write', label: 'short-lived' });
      assert.equal(issued.status, 201);
      const doomed = client(s.url, issued.json.key);
      assert.equal((await doomed.get('/v1/indexes/shared')).status, 200);
      const revoked = await a.admin.del(`/v1/admin/keys/${issued.json.id}`);
      assert.equal(revoked.status, 200);
      assert.ok(revoked.json.revokedAt);
      assert.equal(revoked.json.key, undefined);
      assertError(await doomed.get('/v1/indexes/shared'), 401, 'ERR_UNAUTHENTICATED');
      assertError(await doomed.post('/v1/indexes/shared/add', { vectors: query }), 401, 'ERR_UNAUTHENTICATED');
      assert.equal((await a.read.get('/v1/indexes/shared')).status, 200, "the tenant's other keys still work");
      await assertAUntouched('shared');
    });

    it("deleting tenant B makes all of B's keys 401, drops B's indexes, and leaves A alone", async () => {
      assert.equal((await operator.del('/v1/admin/tenants/tenantB')).status, 204);
      for (const role of ROLES) {
        assertError(await b[role].get('/v1/indexes'), 401, 'ERR_UNAUTHENTICATED');
        assertError(await b[role].get('/v1/indexes/onlyB'), 401, 'ERR_UNAUTHENTICATED');
      }
      assertError(await b.admin.get('/v1/admin/tenants'), 401, 'ERR_UNAUTHENTICATED');
      assertError(await a.admin.get('/v1/admin/tenants/tenantB'), 404, 'ERR_TENANT_NOT_FOUND');
      await assertAUntouched('shared');
      await assertAUntouched('onlyA');
      // A new tenant of the same name starts empty, and the old keys stay dead.
      const reborn = clients(await makeTenant(s, 'tenantB'));
      assert.deepEqual(await names(reborn.read), []);
      assertError(await reborn.read.get('/v1/indexes/onlyB'), 404, 'ERR_INDEX_NOT_FOUND');
      for (const role of ROLES) assertError(await b[role].get('/v1/indexes'), 401, 'ERR_UNAUTHENTICATED');
    });
  });
});
