// The cluster's catalog (service/cluster/kv-catalog.ts): tenants and keys made
// on one node are known on every node, and a key revoked on one is refused on
// the others within a bound (docs/cluster.md; the figure: npm run bench:cluster).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { NatsCluster } from '../support/nats-cluster';
import type { ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startCluster, stopCluster } from '../support/cluster-fixture';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { CATALOG_BUCKET, CATALOG_STALE_MS, heartbeatKey, KvCatalog } from '../../service/cluster/kv-catalog';
import type { ServiceError } from '../../service/domain/errors';

const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');

describe('cluster: the catalog in JetStream KV', function () {
  this.timeout(90_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  before(async () => ({ nats, nodes } = await startCluster()));
  after(() => stopCluster(nats, nodes));

  /** Polls `f` every 5 ms until it is true; the ms it took, or a failure past `ms`. */
  async function within(ms: number, f: () => Promise<boolean>): Promise<number> {
    const started = Date.now();
    while (!(await f())) {
      if (Date.now() - started > ms) assert.fail(`not within ${ms} ms`);
      await new Promise((r) => setTimeout(r, 5));
    }
    return Date.now() - started;
  }

  it('a key made on A works on C; revoked on A, it is refused on C at once after', async () => {
    const [a, , c] = nodes;
    const adminA = client(a.url, a.adminKey);
    assert.equal((await adminA.post('/v1/admin/tenants', { name: 'acme' })).status, 201);
    const issued = await adminA.post('/v1/admin/tenants/acme/keys', { role: 'write' });
    assert.equal(issued.status, 201);
    const onC = client(c.url, issued.json.key);
    await within(5_000, async () => (await onC.get('/v1/indexes')).status === 200);
    // Two nodes creating one tenant: the KV lets one of them, the other is told it exists.
    const twice = await Promise.all([adminA.post('/v1/admin/tenants', { name: 'twice' }), client(c.url, c.adminKey).post('/v1/admin/tenants', { name: 'twice' })]);
    assert.deepEqual(twice.map((r) => r.status).sort(), [201, 409]);

    const revoked = await adminA.del(`/v1/admin/keys/${issued.json.id}`);
    assert.ok(revoked.status === 200 || revoked.status === 204, `revoke: ${revoked.status}`);
    const ms = await within(5_000, async () => (await onC.get('/v1/indexes')).status === 401);
    console.log(`      revoked on A, refused on C after ${ms} ms (polling every 5 ms)`);
    // On A itself, at once.
    assert.equal((await client(a.url, issued.json.key).get('/v1/indexes')).status, 401);
  });

  it('an index, collection or alias made through A is served through B and C at once after its answer, never 404', async () => {
    const [a, b, c] = nodes;
    const adminA = client(a.url, a.adminKey);
    assert.equal((await adminA.post('/v1/admin/tenants', { name: 'fresh' })).status, 201);
    const key = (await adminA.post('/v1/admin/tenants/fresh/keys', { role: 'write' })).json.key;
    await within(5_000, async () => (await client(c.url, key).get('/v1/indexes')).status === 200);
    await within(5_000, async () => (await client(b.url, key).get('/v1/indexes')).status === 200);
    const onA = client(a.url, key);
    const elsewhere = [client(b.url, key), client(c.url, key)];
    const misses: string[] = [];
    for (let i = 0; i < 15; i++) {
      assert.equal((await onA.post('/v1/indexes', { name: `i${i}`, dimension: 4, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await onA.post('/v1/collections', { name: `c${i}`, dimension: 4 })).status, 201);
      assert.equal((await onA.post('/v1/aliases', { alias: `a${i}`, collection: `c${i}` })).status, 201);
      const answers = await Promise.all(
        elsewhere.flatMap((api) => [
          api.post(`/v1/indexes/i${i}/add`, { vectors: [[1, 2, 3, 4]] }),
          api.get(`/v1/collections/c${i}`),
          api.post(`/v1/collections/a${i}/points/count`, {}),
        ]),
      );
      answers.forEach((r, j) => r.status === 200 || misses.push(`${i}/${j}: ${r.status} ${JSON.stringify(r.json)}`));
    }
    assert.deepEqual(misses, []);
  });

  it("the tenants and keys CLI commands with --cluster change the cluster's catalog: a key it creates works on every node, revoked by it, refused on every node", async () => {
    const cli = (...args: string[]): Promise<{ status: number; out: string; err: string }> =>
      new Promise((resolve) => {
        execFile(process.execPath, [CLI, ...args, '--cluster', nats.urls], { encoding: 'utf8', timeout: 30_000 }, (e, out, err) =>
          resolve({ status: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
        );
      });
    const made = await cli('tenants', 'create', 'clitenant', '--max-vectors', '77');
    assert.equal(made.status, 0, made.err);
    assert.equal(JSON.parse(made.out).name, 'clitenant');
    const listed = await cli('tenants', 'list');
    assert.equal(listed.status, 0, listed.err);
    assert.equal(JSON.parse(listed.out).find((t: { name: string }) => t.name === 'clitenant').maxVectors, 77);
    const issued = await cli('keys', 'create', 'clitenant', 'write');
    assert.equal(issued.status, 0, issued.err);
    const { key, id } = JSON.parse(issued.out) as { key: string; id: string };
    for (const n of nodes) await within(5_000, async () => (await client(n.url, key).get('/v1/indexes')).status === 200);
    const keys = await cli('keys', 'list', 'clitenant');
    assert.equal(keys.status, 0, keys.err);
    assert.deepEqual(JSON.parse(keys.out).map((k: { id: string }) => k.id), [id]);
    const revoked = await cli('keys', 'revoke', id);
    assert.equal(revoked.status, 0, revoked.err);
    for (const n of nodes) await within(5_000, async () => (await client(n.url, key).get('/v1/indexes')).status === 401);
    // What a node refuses to do while it runs, the CLI refuses in a cluster (its nodes run); no catalog, no cluster: a clear error.
    const deleted = await cli('tenants', 'delete', 'clitenant');
    assert.equal(deleted.status, 2);
    assert.match(deleted.err, /DELETE \/v1\/admin\/tenants\/clitenant/);
    const unknown = await cli('keys', 'create', 'nobody', 'read');
    assert.equal(unknown.status, 2);
    assert.match(unknown.err, /ERR_TENANT_NOT_FOUND|nobody/);
    const nowhere = await new Promise<{ status: number; err: string }>((resolve) =>
      execFile(process.execPath, [CLI, 'tenants', 'list', '--cluster', 'nats://127.0.0.1:1'], { encoding: 'utf8', timeout: 30_000 }, (e, _out, err) =>
        resolve({ status: e ? ((e as { code?: number }).code ?? 1) : 0, err }),
      ),
    );
    assert.equal(nowhere.status, 2);
    assert.match(nowhere.err, /No NATS server of the cluster/);
  });

  it("a node's key checks fail (503) once its catalog has not been heard from for CATALOG_STALE_MS", async () => {
    // In this process: a catalog whose node sends no heartbeat (as one cut off from the cluster).
    const nc = await connect({ servers: nats.urls.split(',') });
    const catalog = await KvCatalog.open(nc, nats.urls.split(','), 'silent', 3);
    try {
      assert.equal(typeof catalog.keyGeneration(), 'number');
      await new Promise((r) => setTimeout(r, CATALOG_STALE_MS + 200));
      assert.throws(() => catalog.keyGeneration(), (e: ServiceError) => e.code === 'ERR_STORAGE_FAILED');
      // Its own heartbeat, back through its watch: fresh again.
      await new Kvm(nc).open(CATALOG_BUCKET).then((kv) => kv.put(heartbeatKey('silent'), JSON.stringify({ node: 'silent', at: Date.now(), startedAt: Date.now(), lag: 0 })));
      await within(2_000, async () => {
        try {
          catalog.keyGeneration();
          return true;
        } catch {
          return false;
        }
      });
    } finally {
      catalog.close();
      await nc.close();
    }
  });
});
