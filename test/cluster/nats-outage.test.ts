// Every NATS server of a cluster dying at once (issue 19; docs/cluster.md "When
// every NATS server is down"): while none is up, a proxy answers every request
// with a 2xx or a 503 that says so and carries Retry-After, never a 500 and never
// a hang; once they are back (with their stores), every node takes writes and
// reads them back again within a bound, and nothing acknowledged before is lost.
import { strict as assert } from 'node:assert';
import type { NatsCluster } from '../support/nats-cluster';
import type { ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 4;
const rows = (n: number, shift: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: D }, () => (shift + i) / 10));
/**
 * How long the cluster may take to answer writes and reads on every node once
 * its NATS servers are back: JetStream elects its leaders again (seconds), each
 * node reconnects (service/cluster/cluster.ts CONNECT_ATTEMPT_MS), renews its
 * catalog watch (kv-catalog.ts) and its streams' followers; 12-27 s on this
 * loaded 2-core machine (the test prints it), about a minute before.
 */
const RECOVERY_BOUND_MS = 40_000;

describe('cluster: every NATS server killed, then started again', function () {
  this.timeout(150_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  after(() => stopCluster(nats, nodes));

  it('answers 503 with Retry-After (never 500) while they are down, and recovers on every node within the bound', async () => {
    let keys: TenantKeys;
    ({ nats, nodes, keys } = await startClusterWithTenant());
    const api = nodes.map((n) => client(n.url, keys.write));
    assert.equal((await api[0].post('/v1/indexes', { name: 'out', dimension: D, type: 'IndexFlatL2' })).status, 201);
    const before = await api[1].post('/v1/indexes/out/add', { vectors: rows(10, 0) });
    assert.equal(before.status, 200);
    // Loaded on every node (each follows the stream from here on).
    for (const a of api) assert.equal((await a.get(`/v1/indexes/out?minSequence=${before.headers.get('x-index-version')}`)).json.ntotal, 10);

    for (let i = 0; i < 3; i++) await nats.kill(i);
    const statuses = new Map<string, number>();
    const outage = Date.now();
    // Reads and writes through every node for a while with no server up: each answered, in time, 2xx or 503 + Retry-After.
    while (Date.now() - outage < 5_000) {
      const answers = await Promise.all(
        api.flatMap((a, i) => [
          a.post('/v1/indexes/out/search', { vectors: rows(1, 3), k: 1 }),
          a.get('/v1/indexes/out'),
          a.post('/v1/indexes/out/add', { vectors: rows(1, 100 + i) }, { headers: { 'Idempotency-Key': `outage-${i}-${Date.now()}` } }),
        ]),
      );
      for (const r of answers) {
        const what = r.status === 503 ? `503 ${r.json.error.code}` : String(r.status);
        statuses.set(what, (statuses.get(what) ?? 0) + 1);
        assert.ok(r.status < 300 || r.status === 503, `${r.status} ${JSON.stringify(r.json)}`);
        if (r.status === 503) assert.equal(r.headers.get('retry-after'), '1', JSON.stringify(r.json));
      }
    }
    console.log(`      while every NATS server was down: ${[...statuses].map(([s, n]) => `${n} x ${s}`).join(', ')}`);

    for (let i = 0; i < 3; i++) await nats.restart(i, false);
    const restarted = Date.now();
    // Every node takes a write, and every node reads every write back.
    const recovered: number[] = [];
    const versions: number[] = [];
    for (let i = 0; i < 3; i++) {
      for (let attempt = 0; ; attempt++) {
        const r = await api[i].post('/v1/indexes/out/add', { vectors: rows(1, 200 + i) }, { headers: { 'Idempotency-Key': `after-${i}` } });
        if (r.status === 200) {
          versions.push(Number(r.headers.get('x-index-version')));
          break;
        }
        assert.ok(r.status === 503, `${r.status} ${JSON.stringify(r.json)}`);
        if (Date.now() - restarted > RECOVERY_BOUND_MS) assert.fail(`node ${nodes[i].node} takes no write ${RECOVERY_BOUND_MS} ms after the servers came back: ${JSON.stringify(r.json)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
      recovered.push(Date.now() - restarted);
      assert.ok(recovered[i] <= RECOVERY_BOUND_MS, `node ${nodes[i].node} took its first write ${recovered[i]} ms after the servers came back`);
    }
    const top = Math.max(...versions);
    for (let i = 0; i < 3; i++) {
      for (;;) {
        const r = await api[i].post('/v1/indexes/out/search', { vectors: rows(1, 3), k: 1, minSequence: top });
        if (r.status === 200) {
          assert.deepEqual(r.json.labels, [[3]]);
          break;
        }
        assert.equal(r.status, 503, JSON.stringify(r.json));
        if (Date.now() - restarted > RECOVERY_BOUND_MS) assert.fail(`node ${nodes[i].node} has not read version ${top} ${RECOVERY_BOUND_MS} ms after the servers came back: ${JSON.stringify(r.json)}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    console.log(`      writes taken again on A, B, C after ${recovered.join(', ')} ms; every node read every write after ${Date.now() - restarted} ms`);
    assert.ok(Date.now() - restarted <= RECOVERY_BOUND_MS, `every node read every write ${Date.now() - restarted} ms after the servers came back`);
    // Nothing acknowledged is lost: the 10 before and the 3 after (and whatever the outage let through).
    const info = await api[2].get(`/v1/indexes/out?minSequence=${top}`);
    assert.equal(info.status, 200);
    assert.ok(info.json.ntotal >= 13, `ntotal ${info.json.ntotal}`);
  });
});
