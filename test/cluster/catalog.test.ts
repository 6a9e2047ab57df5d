// The cluster's catalog (service/cluster/kv-catalog.ts): tenants and keys made
// on one node are known on every node, and a key revoked on one is refused on
// the others within a bound (docs/cluster.md; the figure: npm run bench:cluster).
import { strict as assert } from 'node:assert';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';
import { startProxyCluster, stopProxies, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';

describe('cluster: the catalog in JetStream KV', function () {
  this.timeout(90_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  before(async () => {
    nats = await startNatsCluster();
    nodes = await startProxyCluster(nats);
  });
  after(async () => {
    await stopProxies(nodes);
    await nats?.stop();
  });

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
});
