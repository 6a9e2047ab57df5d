// One tenant's requests in flight hold at most its memory budget together
// (--max-tenant-memory, or its quota maxTenantMemory): past it, 429
// ERR_TENANT_MEMORY with Retry-After, naming the limit, before any work; other
// tenants are not affected; every reservation is given back when its request is
// done (answered, failed, refused, or its client gone). Requests are held in
// flight deterministically by clients that do not read their (24 MB) answers.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { randomVectors } from '../../support/data';
import { call, client, makeTenant, startServer, type ServerProcess } from '../../support/server';

const d = 4;
const MiB = 2 ** 20;
const bytesOf = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
// 2,000 queries at k = 1,000: 24 MB of results (12 bytes each), more than the kernel buffers of a loopback connection.
const HEAVY = { nq: 2000, k: 1000 };
const heavyBody = bytesOf(randomVectors(HEAVY.nq, d, 3));
const HEAVY_BYTES = heavyBody.length + HEAVY.nq * HEAVY.k * 12;

/** A binary search whose client sends it and then reads nothing: it stays in flight until the socket is destroyed. */
function stalledSearch(s: ServerProcess, key: string): net.Socket {
  const { hostname, port } = new URL(s.url);
  const socket = net.connect(Number(port), hostname);
  socket.on('error', () => undefined);
  socket.write(
    `POST /v1/indexes/v/search?k=${HEAVY.k} HTTP/1.1\r\nHost: ${hostname}\r\nX-API-Key: ${key}\r\n` +
      `Content-Type: application/octet-stream\r\nAccept: application/octet-stream\r\nContent-Length: ${heavyBody.length}\r\n\r\n`,
  );
  socket.write(heavyBody);
  socket.pause();
  return socket;
}

/** faiss_proxy_tenant_memory_reserved_bytes of a tenant (0 when it holds nothing). */
async function reserved(s: ServerProcess, tenant: string): Promise<number> {
  const text = (await client(s.url, s.adminKey).get('/metrics')).bytes.toString('utf8');
  const m = new RegExp(`^faiss_proxy_tenant_memory_reserved_bytes\\{tenant="${tenant}"\\} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}

async function until(what: string, test: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe("service: a tenant's requests in flight are held to its memory budget", function () {
  this.timeout(60_000);
  let s: ServerProcess;
  const keys: Record<string, string> = {};
  const stalled: net.Socket[] = [];

  const heavySearch = (tenant: string, accept = 'application/octet-stream') =>
    call(s.url, 'POST', `/v1/indexes/v/search?k=${HEAVY.k}`, { key: keys[tenant], body: heavyBody, headers: { Accept: accept } });
  const stall = async (tenant: string, n: number): Promise<void> => {
    const before = await reserved(s, tenant);
    for (let i = 0; i < n; i++) stalled.push(stalledSearch(s, keys[tenant]));
    await until(`${tenant} holds ${n} more heavy searches`, async () => (await reserved(s, tenant)) >= before + n * HEAVY_BYTES);
  };
  const unstall = async (): Promise<void> => {
    for (const socket of stalled.splice(0)) socket.destroy();
    await until('nothing is held', async () => (await reserved(s, 'heavy')) === 0 && (await reserved(s, 'other')) === 0);
  };

  before(async () => {
    // 64 MiB a tenant: two heavy searches (23 MiB each) fit, a third does not.
    s = await startServer({ args: ['--max-request-memory', String(48 * MiB), '--max-tenant-memory', String(64 * MiB)] });
    for (const tenant of ['heavy', 'other']) {
      keys[tenant] = (await makeTenant(s, tenant)).write;
      const c = client(s.url, keys[tenant]);
      assert.equal((await c.post('/v1/indexes', { name: 'v', dimension: d, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await call(s.url, 'POST', '/v1/indexes/v/add', { key: keys[tenant], body: bytesOf(randomVectors(100, d)) })).status, 200);
    }
  });
  afterEach(async () => {
    for (const socket of stalled.splice(0)) socket.destroy();
  });
  after(async () => {
    await s?.stop();
  });

  it('past its budget a tenant is refused (429, Retry-After, the limit named) while another tenant is served', async () => {
    await stall('heavy', 2);
    for (const accept of ['application/octet-stream', 'application/octet-stream, application/json;q=0.5']) {
      // A plain Accept, and one that needs negotiating.
      const r = await heavySearch('heavy', accept);
      assert.equal(r.status, 429, `${r.status} ${r.bytes.toString('utf8').slice(0, 300)}`);
      assert.equal(r.json.error.code, 'ERR_TENANT_MEMORY');
      assert.equal(r.headers.get('retry-after'), '1');
      assert.match(r.json.error.message, /--max-tenant-memory/);
      assert.ok(r.json.error.message.includes('64.0 MiB'), r.json.error.message);
    }
    // What still fits in its budget is served; another tenant's heavy search is served.
    assert.equal((await call(s.url, 'POST', '/v1/indexes/v/search?k=1', { key: keys.heavy, body: bytesOf(randomVectors(1, d)) })).status, 200);
    const other = await heavySearch('other');
    assert.equal(other.status, 200);
    assert.equal(other.bytes.length, HEAVY.nq * HEAVY.k * 12);
    // Once the stalled clients are gone, their reservations are given back.
    await unstall();
    assert.equal((await heavySearch('heavy')).status, 200);
  });

  it("a tenant's quota maxTenantMemory overrides the server's budget, never below --max-request-memory", async () => {
    const admin = client(s.url, s.adminKey);
    const below = await admin.patch('/v1/admin/tenants/heavy', { quotas: { maxTenantMemory: MiB } });
    assert.equal(below.status, 400);
    assert.match(below.json.error.message, /--max-request-memory/);
    assert.equal((await admin.patch('/v1/admin/tenants/heavy', { quotas: { maxTenantMemory: 128 * MiB } })).status, 200);
    assert.equal((await admin.get('/v1/admin/tenants/heavy')).json.maxTenantMemory, 128 * MiB);
    try {
      await stall('heavy', 2);
      assert.equal((await heavySearch('heavy')).status, 200);
    } finally {
      assert.equal((await admin.patch('/v1/admin/tenants/heavy', { quotas: { maxTenantMemory: null } })).status, 200);
      await unstall();
    }
    assert.equal((await admin.get('/v1/admin/tenants/heavy')).json.maxTenantMemory, null);
  });

  it('a request alone in its tenant runs though it holds more than a budget at the minimum', async () => {
    const admin = client(s.url, s.adminKey);
    assert.equal((await admin.patch('/v1/admin/tenants/heavy', { quotas: { maxTenantMemory: 48 * MiB } })).status, 200);
    try {
      // A JSON range search holds its body, --max-request-memory (48 MiB) and its answer.
      const r = await client(s.url, keys.heavy).post('/v1/indexes/v/range_search', { vectors: [[0, 0, 0, 0]], radius: 1e30 });
      assert.equal(r.status, 200, `${r.status} ${r.bytes.toString('utf8').slice(0, 300)}`);
      assert.equal(r.json.results[0].labels.length, 100);
    } finally {
      assert.equal((await admin.patch('/v1/admin/tenants/heavy', { quotas: { maxTenantMemory: null } })).status, 200);
    }
  });

  it('nothing stays reserved after errors, refusals and clients that went away', async () => {
    const c = client(s.url, keys.heavy);
    await stall('heavy', 2);
    assert.equal((await heavySearch('heavy')).status, 429);
    for (const socket of stalled.splice(0)) socket.destroy();
    // Failures after the body was read, on both paths: a wrong dimension, a missing id, over the per-request limit.
    assert.equal((await call(s.url, 'POST', '/v1/indexes/v/search?k=1', { key: keys.heavy, body: bytesOf(randomVectors(1, d + 1)) })).status, 400);
    assert.equal((await c.post('/v1/indexes/v/search', { vectors: [[1, 2, 3]], k: 1 })).status, 400);
    assert.equal((await c.post('/v1/indexes/v/reconstruct', { ids: [123456] })).status, 404);
    assert.equal((await c.post('/v1/indexes/v/search', { vectors: Array.from({ length: 3000 }, () => [0, 0, 0, 0]), k: 10_000 })).status, 422);
    assert.equal((await c.post('/v1/indexes/nope/range_search', { vectors: [[0, 0, 0, 0]], radius: 1 })).status, 404);
    // Clients that go away: after their request is sent, and after the first bytes of the answer.
    const gone = [0, 1, 2, 3].map(() => stalledSearch(s, keys.heavy));
    await new Promise((r) => setTimeout(r, 100));
    for (const socket of gone) socket.destroy();
    await new Promise<void>((resolve) => {
      const socket = stalledSearch(s, keys.heavy);
      socket.once('data', () => {
        socket.destroy();
        resolve();
      });
      socket.resume();
    });
    await until('the heavy tenant holds nothing', async () => (await reserved(s, 'heavy')) === 0);
    // And the whole budget is there again.
    await stall('heavy', 2);
    await unstall();
  });
});
