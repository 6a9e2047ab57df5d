// A change of a tenant's usage record whose acknowledgement is lost
// (service/cluster/quota-ledger.ts, stream-cas.ts; docs/cluster.md "Quotas
// across nodes"): the change landed, its node heard no answer. Read back by its
// id, it is known to have landed and is not made again on the record that has
// it: the tenant's usage is what was acknowledged, counted once, and every write
// within the quota is accepted. The fault is injected in the compare-and-set
// append (FAISS_PROXY_TEST_ACK_FAULT, test-only): the append is sent, then its
// acknowledgement is dropped.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';
import { startProxyNode, until, type ProxyNode } from '../support/proxy-cluster';
import { stopCluster } from '../support/cluster-fixture';
import { client, newKey } from '../support/server';
import { usageOf, usageStream, usageSubject, type Ledger } from '../../service/cluster/quota-ledger';
import { LEASE_IDLE_MS } from '../../service/cluster/quota-lease';

const D = 4;
const rows = (n: number, shift: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: D }, (_, j) => (shift + i + j) / 7));
/** The tenants whose usage record B changes with its acknowledgements lost (the first LOST changes of each). */
const TENANTS = ['lossy', 'lossyidx'];
const LOST = 24;

describe('cluster: a change of the quota usage record whose acknowledgement is lost', function () {
  this.timeout(180_000);
  let nats: NatsCluster;
  const nodes: ProxyNode[] = [];
  before(async () => {
    nats = await startNatsCluster();
    const adminKey = newKey();
    nodes.push(await startProxyNode(nats, 'A', adminKey));
    const lost = TENANTS.flatMap((t) => Array.from({ length: LOST }, () => `ack-lost:${usageSubject(t)}`));
    nodes.push(await startProxyNode(nats, 'B', adminKey, { env: { FAISS_PROXY_TEST_ACK_FAULT: lost.join(',') } }));
  });
  after(() => stopCluster(nats, nodes));

  /** A tenant with these quotas and a write key that works on both nodes: a client through each. */
  async function tenant(name: string, quotas: Record<string, number>): Promise<ReturnType<typeof client>[]> {
    const admin = client(nodes[0].url, nodes[0].adminKey);
    assert.equal((await admin.post('/v1/admin/tenants', { name, quotas })).status, 201);
    const issued = await admin.post(`/v1/admin/tenants/${name}/keys`, { role: 'write' });
    assert.equal(issued.status, 201);
    const api = nodes.map((n) => client(n.url, issued.json.key));
    await until('the key on every node', async () => (await Promise.all(api.map((a) => a.get('/v1/indexes')))).every((r) => r.status === 200), 10_000);
    return api;
  }

  /** The tenant's usage record as JetStream has it. */
  async function record(name: string): Promise<Ledger> {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const m = (await (await jetstreamManager(nc)).streams.getMessage(usageStream(name), { last_by_subj: usageSubject(name) }))!;
      return JSON.parse(new TextDecoder().decode(m.data)) as Ledger;
    } finally {
      await nc.close();
    }
  }

  it('16 clients adding through a node that loses acknowledgements: every add within the quota accepted, the usage what was acknowledged', async () => {
    const api = await tenant('lossy', { maxVectors: 200 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    // 16 x 5 adds of 5 vectors, three of every four through B: 400 asked for, 200 allowed.
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, c) => {
        for (let i = 0; i < 5; i++) {
          const r = await api[(c + i) % 4 === 0 ? 0 : 1].post('/v1/indexes/v/add', { vectors: rows(5, c * 100 + i) });
          assert.ok(r.status === 200 || (r.status === 403 && r.json.error.code === 'ERR_QUOTA_EXCEEDED'), `${r.status} ${JSON.stringify(r.json)}`);
          statuses.push(r.status);
        }
      }),
    );
    const accepted = statuses.filter((s) => s === 200).length;
    assert.equal(accepted * 5, 200, `accepted ${accepted} adds of 5 (quota 200): a change counted twice refuses writes for quota they do not use`);
    // Once the leases are given back (idle), the record counts the 200 vectors in the index, once, and holds nothing.
    await until('the idle leases given back', async () => (await record('lossy')).holds.length === 0, 20 * LEASE_IDLE_MS);
    const l = await record('lossy');
    assert.deepEqual(Object.values(l.objects).map((o) => o.vectors), [200]);
    assert.equal(usageOf(l).vectors, 200);
    for (const n of nodes) assert.equal((await client(n.url, n.adminKey).get('/v1/admin/tenants/lossy')).json.usage.vectors, 200);
  });

  it('creates through a node that loses acknowledgements: exactly maxIndexes are made', async () => {
    const api = await tenant('lossyidx', { maxIndexes: 3 });
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push((await api[1].post('/v1/indexes', { name: `i${i}`, dimension: D, type: 'IndexFlatL2' })).status);
    assert.deepEqual(answers, [201, 201, 201, 403, 403]);
    await until('the creates counted', async () => (await record('lossyidx')).holds.length === 0, 10_000);
    assert.equal(usageOf(await record('lossyidx')).indexes, 3);
  });
});
