// Tenant quotas exact across a cluster's nodes (service/cluster/quota-ledger.ts,
// docs/cluster.md "Quotas"): writes through three nodes at once never take a
// tenant past a quota and are all accepted within it; deletes give quota back;
// what a node that died held is counted again once it expires; with no NATS
// server up, a write is a 503 with Retry-After, never unchecked. Leases
// (service/cluster/quota-lease.ts): a node's adds spend its lease with no change
// of the record each; an idle lease is given back; the last units are reachable
// through any node; a dead node's lease is counted again once it expires.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, until, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startCluster, stopCluster } from '../support/cluster-fixture';
import { HOLD_TTL_MS, usageStream, usageSubject, type Ledger } from '../../service/cluster/quota-ledger';
import { LEASE_IDLE_MS } from '../../service/cluster/quota-lease';

const D = 4;
const rows = (n: number, shift: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: D }, (_, j) => (shift + i + j) / 7));

describe('cluster: tenant quotas exact across nodes', function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  before(async () => ({ nats, nodes } = await startCluster()));
  after(() => stopCluster(nats, nodes));

  /** A tenant with these quotas and a write key that works on every node. */
  async function tenant(name: string, quotas: Record<string, number>, up = 3): Promise<ReturnType<typeof client>[]> {
    const admin = client(nodes[0].url, nodes[0].adminKey);
    assert.equal((await admin.post('/v1/admin/tenants', { name, quotas })).status, 201);
    const issued = await admin.post(`/v1/admin/tenants/${name}/keys`, { role: 'write' });
    assert.equal(issued.status, 201);
    const api = nodes.slice(0, up).map((n) => client(n.url, issued.json.key));
    for (const a of api) {
      const started = Date.now();
      while ((await a.get('/v1/indexes')).status !== 200) {
        assert.ok(Date.now() - started < 5_000, 'the key did not reach every node');
        await new Promise((r) => setTimeout(r, 10));
      }
    }
    return api;
  }

  /** 16 clients, each sending `each` adds of `n` vectors, round robin over the three nodes; the statuses. */
  async function sixteenClients(api: ReturnType<typeof client>[], index: string, each: number, n: number): Promise<number[]> {
    const statuses: number[] = [];
    await Promise.all(
      Array.from({ length: 16 }, async (_, c) => {
        for (let i = 0; i < each; i++) {
          const r = await api[(c + i) % 3].post(`/v1/indexes/${index}/add`, { vectors: rows(n, c * 100 + i) });
          assert.ok(r.status === 200 || r.status === 403, `${r.status} ${JSON.stringify(r.json)}`);
          if (r.status === 403) assert.equal(r.json.error.code, 'ERR_QUOTA_EXCEEDED');
          statuses.push(r.status);
        }
      }),
    );
    return statuses;
  }

  /** The tenant's usage record as JetStream has it, and its revision (the stream's sequence). */
  async function record(name: string): Promise<{ ledger: Ledger; seq: number }> {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const m = (await (await jetstreamManager(nc)).streams.getMessage(usageStream(name), { last_by_subj: usageSubject(name) }))!;
      return { ledger: JSON.parse(new TextDecoder().decode(m.data)) as Ledger, seq: m.seq };
    } finally {
      await nc.close();
    }
  }

  /** Changes the tenant's usage record as a node would: compare-and-set, again while another node's change comes first. */
  async function edit(name: string, change: (l: Ledger) => void): Promise<void> {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      for (;;) {
        const { ledger, seq } = await record(name);
        change(ledger);
        try {
          await jetstream(nc).publish(usageSubject(name), JSON.stringify(ledger), { expect: { lastSequence: seq } });
          return;
        } catch (err) {
          if (!/wrong last sequence/.test((err as Error).message)) throw err;
        }
      }
    } finally {
      await nc.close();
    }
  }

  /** The index's ntotal through every node once each has applied all (the highest version seen). */
  async function ntotalEverywhere(api: ReturnType<typeof client>[], index: string): Promise<number[]> {
    const version = Math.max(...(await Promise.all(api.map(async (a) => Number((await a.get(`/v1/indexes/${index}`)).headers.get('x-index-version'))))));
    return Promise.all(api.map(async (a) => (await a.get(`/v1/indexes/${index}?minSequence=${version}`)).json.ntotal as number));
  }

  it('16 clients adding through 3 nodes at once: never past maxVectors, and every add within it accepted', async () => {
    const api = await tenant('tight', { maxVectors: 200 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    // 16 x 4 adds of 5 vectors: 320 asked for, 200 allowed.
    const statuses = await sixteenClients(api, 'v', 4, 5);
    const accepted = statuses.filter((s) => s === 200).length;
    assert.equal(accepted * 5, 200, `accepted ${accepted} adds of 5 (quota 200)`);
    assert.deepEqual(await ntotalEverywhere(api, 'v'), [200, 200, 200]);

    const roomy = await tenant('roomy', { maxVectors: 320 });
    assert.equal((await roomy[1].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    const all = await sixteenClients(roomy, 'v', 4, 5);
    assert.deepEqual([...new Set(all)], [200], 'every add within the quota is accepted');
    assert.deepEqual(await ntotalEverywhere(roomy, 'v'), [320, 320, 320]);
  });

  it('creates through 3 nodes at once: never past maxIndexes (collections count too)', async () => {
    const api = await tenant('few', { maxIndexes: 3 });
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        i % 4 === 3
          ? api[i % 3].post('/v1/collections', { name: `c${i}`, dimension: D })
          : api[i % 3].post('/v1/indexes', { name: `i${i}`, dimension: D, type: 'IndexFlatL2' }),
      ),
    );
    for (const r of answers) assert.ok(r.status === 201 || (r.status === 403 && r.json.error.code === 'ERR_QUOTA_EXCEEDED'), `${r.status} ${JSON.stringify(r.json)}`);
    assert.equal(answers.filter((r) => r.status === 201).length, 3);
  });

  it('removes and deletes give quota back, through another node', async () => {
    const api = await tenant('giveback', { maxVectors: 20, maxIndexes: 1 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'a', dimension: D, type: 'IndexFlatL2', params: { idMap: true } })).status, 201);
    const ids = Array.from({ length: 20 }, (_, i) => i);
    assert.equal((await api[1].post('/v1/indexes/a/add', { vectors: rows(20, 0), ids })).status, 200);
    assert.equal((await api[2].post('/v1/indexes/a/add', { vectors: rows(1, 50), ids: [99] })).status, 403);
    assert.equal((await api[0].post('/v1/indexes/a/remove', { ids: ids.slice(0, 5) })).status, 200);
    assert.equal((await api[2].post('/v1/indexes/a/add', { vectors: rows(5, 50), ids: [95, 96, 97, 98, 99] })).status, 200);
    assert.equal((await api[1].post('/v1/indexes/a/add', { vectors: rows(1, 60), ids: [100] })).status, 403);
    // A second index only once the first is deleted; its vectors are given back with it.
    assert.equal((await api[1].post('/v1/indexes', { name: 'b', dimension: D, type: 'IndexFlatL2' })).status, 403);
    assert.ok([200, 204].includes((await api[2].del('/v1/indexes/a')).status));
    const b = await api[1].post('/v1/indexes', { name: 'b', dimension: D, type: 'IndexFlatL2' });
    assert.equal(b.status, 201, JSON.stringify(b.json));
    assert.equal((await api[0].post('/v1/indexes/b/add', { vectors: rows(20, 0) })).status, 200);
  });

  it("a node's hold counts on every node until it ends; one left by a node that died is counted again once it expires", async () => {
    const api = await tenant('dead', { maxVectors: 100 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api[1].post('/v1/indexes/v/add', { vectors: rows(10, 0) })).status, 200);
    // What a node that died mid-write leaves: a hold of 80 vectors in the tenant's usage record, never ended.
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      const js = jetstream(nc);
      const read = async () => {
        const m = (await jsm.streams.getMessage(usageStream('dead'), { last_by_subj: usageSubject('dead') }))!;
        return { ledger: JSON.parse(new TextDecoder().decode(m.data)) as Ledger, seq: m.seq };
      };
      /** Changes the tenant's usage record as a node would: compare-and-set, again while another node's change comes first. */
      const edit = async (change: (l: Ledger) => void) => {
        for (;;) {
          const { ledger, seq } = await read();
          change(ledger);
          try {
            await js.publish(usageSubject('dead'), JSON.stringify(ledger), { expect: { lastSequence: seq } });
            return;
          } catch (err) {
            if (!/wrong last sequence/.test((err as Error).message)) throw err;
          }
        }
      };
      // Once the index is counted in the record (its create's settlement).
      for (const started = Date.now(); Object.keys((await read()).ledger.objects).length === 0; ) {
        assert.ok(Date.now() - started < 5_000, 'the index is not counted');
        await new Promise((r) => setTimeout(r, 20));
      }
      const at = Date.now();
      await edit((l) => l.holds.push({ id: 'dead', node: 'gone', at, object: Object.keys(l.objects)[0], indexes: 0, vectors: 80, bytes: 80 * D * 4 }));
      // Held: 10 + 80 + 20 > 100 on every node.
      for (const a of api) assert.equal((await a.post('/v1/indexes/v/add', { vectors: rows(20, 5) })).status, 403);
      assert.equal((await api[2].post('/v1/indexes/v/add', { vectors: rows(10, 5) })).status, 200);
      // The same hold left HOLD_TTL_MS ago: expired, the index is counted at its stream's head (20), the hold goes.
      await edit((l) => (l.holds = l.holds.map((h) => (h.node === 'gone' ? { ...h, at: Date.now() - HOLD_TTL_MS - 1_000 } : h))));
      assert.equal((await api[1].post('/v1/indexes/v/add', { vectors: rows(80, 5) })).status, 200);
      assert.equal((await api[0].post('/v1/indexes/v/add', { vectors: rows(1, 5) })).status, 403);
      const after = (await read()).ledger;
      assert.deepEqual(after.holds.filter((h) => h.node === 'gone'), []);
    } finally {
      await nc.close();
    }
  });

  it("a lease: one node's adds are spent from it with no change of the record each; it is given back once idle", async () => {
    const api = await tenant('leased', { maxVectors: 10_000 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api[0].post('/v1/indexes/v/add', { vectors: rows(10, 0) })).status, 200);
    const taken = await record('leased');
    const lease = taken.ledger.holds.find((h) => h.lease && h.node === 'A');
    assert.ok(lease, JSON.stringify(taken.ledger));
    // 10 asked, and a slice for more: room / 8, at most 64 more adds of 10.
    assert.ok(lease.vectors > 10 && lease.vectors <= 10 + 640, `${lease.vectors}`);
    // Every change of the record while 20 more adds go through A (JetStream's appends reach the subject's subscribers too).
    const nc = await connect({ servers: nats.urls.split(',') });
    const seen: Ledger[] = [];
    const sub = nc.subscribe(usageSubject('leased'), { callback: (_: unknown, m: { data: Uint8Array }) => seen.push(JSON.parse(new TextDecoder().decode(m.data)) as Ledger) });
    try {
      await nc.flush();
      for (let i = 1; i <= 20; i++) assert.equal((await api[0].post('/v1/indexes/v/add', { vectors: rows(10, i) })).status, 200);
      await new Promise((r) => setTimeout(r, 300));
    } finally {
      sub.unsubscribe();
      await nc.close();
    }
    // Per-write holds put one hold in the record for each add; spent from the lease, none ever appears.
    assert.deepEqual(seen.flatMap((l) => l.holds.filter((h) => !h.lease)), []);
    console.log(`      changes of the record for 20 adds: ${seen.length}`);
    // Unused, it is given back: the record holds no lease, and counts the 210 vectors in the index.
    await until('the idle lease given back', async () => (await record('leased')).ledger.holds.length === 0, 10 * LEASE_IDLE_MS);
    const idle = (await record('leased')).ledger;
    assert.equal(Object.values(idle.objects)[0].vectors, 210);
    const usage = (await client(nodes[1].url, nodes[1].adminKey).get('/v1/admin/tenants/leased')).json.usage;
    assert.equal(usage.vectors, 210);
  });

  it('the last units are reachable through any node while another holds a lease', async () => {
    const api = await tenant('lastunits', { maxVectors: 100 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    // A takes a lease: 10 asked, with a slice of the 90 left (11).
    assert.equal((await api[0].post('/v1/indexes/v/add', { vectors: rows(10, 0) })).status, 200);
    assert.ok((await record('lastunits')).ledger.holds.some((h) => h.lease && h.node === 'A' && h.vectors > 10));
    // The other 90 at once through B: only A's lease is in the way; it is reclaimed and the add accepted.
    const rest = await api[1].post('/v1/indexes/v/add', { vectors: rows(90, 10) });
    assert.equal(rest.status, 200, JSON.stringify(rest.json));
    for (const a of api) {
      const over = await a.post('/v1/indexes/v/add', { vectors: rows(1, 200) });
      assert.equal(over.status, 403, JSON.stringify(over.json));
      assert.equal(over.json.error.code, 'ERR_QUOTA_EXCEEDED');
    }
    assert.deepEqual(await ntotalEverywhere(api, 'v'), [100, 100, 100]);
  });

  it('a node that dies holding a lease: what it leased is counted again once the lease expires', async () => {
    const api = await tenant('leasedead', { maxVectors: 1_000 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2', params: { idMap: true } })).status, 201);
    const d = await startProxyNode(nats, 'D', nodes[0].adminKey);
    const key = (await client(nodes[0].url, nodes[0].adminKey).post('/v1/admin/tenants/leasedead/keys', { role: 'write' })).json.key as string;
    const viaD = client(d.url, key);
    await until('the key on D', async () => (await viaD.get('/v1/indexes')).status === 200, 5_000);
    try {
      assert.equal((await viaD.post('/v1/indexes/v/add', { vectors: rows(10, 0), ids: Array.from({ length: 10 }, (_, i) => i) })).status, 200);
      const lease = (await record('leasedead')).ledger.holds.find((h) => h.lease && h.node === 'D');
      assert.ok(lease, 'D holds a lease');
    } finally {
      await d.stop('SIGKILL');
    }
    // Until it expires, D's lease counts (a write that needs it waits for it, RECLAIM_WAIT_MS, and is refused).
    const early = await api[0].post('/v1/indexes/v/add', { vectors: rows(990, 100), ids: Array.from({ length: 990 }, (_, i) => 100 + i) });
    assert.equal(early.status, 403, JSON.stringify(early.json));
    // Taken HOLD_TTL_MS ago: expired; the index is counted again at its stream's head (D's 10 vectors in it).
    await edit('leasedead', (l) => (l.holds = l.holds.map((h) => (h.node === 'D' ? { ...h, at: Date.now() - HOLD_TTL_MS - 1_000 } : h))));
    const all = await api[1].post('/v1/indexes/v/add', { vectors: rows(990, 100), ids: Array.from({ length: 990 }, (_, i) => 100 + i) });
    assert.equal(all.status, 200, JSON.stringify(all.json));
    assert.equal((await api[2].post('/v1/indexes/v/add', { vectors: rows(1, 5_000), ids: [5_000] })).status, 403);
    assert.deepEqual((await record('leasedead')).ledger.holds.filter((h) => h.node === 'D'), []);
  });

  /** Whether JetStream has the stream. */
  async function streamExists(name: string): Promise<boolean> {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      await (await jetstreamManager(nc)).streams.info(name);
      return true;
    } catch (e) {
      if (/stream not found/i.test((e as Error).message)) return false;
      throw e;
    } finally {
      await nc.close();
    }
  }

  it("a deleted tenant's usage record is not made again by the nodes that held leases on it or settle its writes in flight", async () => {
    const api = await tenant('deleted', { maxVectors: 1_000_000 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    for (const a of api) assert.equal((await a.post('/v1/indexes/v/add', { vectors: rows(10, 0) })).status, 200);
    assert.deepEqual([...new Set((await record('deleted')).ledger.holds.filter((h) => h.lease).map((h) => h.node))].sort(), ['A', 'B', 'C']);
    // Adds keep going through every node while the tenant is deleted through A: some end (and settle) after it.
    let deleting = true;
    const writers = api.map(async (a, i) => {
      for (let n = 1; deleting; n++) if ((await a.post('/v1/indexes/v/add', { vectors: rows(10, i * 1000 + n) })).status !== 200) return;
    });
    await new Promise((r) => setTimeout(r, 200));
    const deleted = await client(nodes[0].url, nodes[0].adminKey).del('/v1/admin/tenants/deleted');
    assert.ok([200, 204].includes(deleted.status), `${deleted.status} ${JSON.stringify(deleted.json)}`);
    deleting = false;
    await Promise.all(writers);
    // Longer than a lease takes to be given back (LEASE_IDLE_MS) and a failed change to be tried again (1 s): the stream stays gone.
    const watchUntil = Date.now() + 3 * LEASE_IDLE_MS + 2_000;
    while (Date.now() < watchUntil) {
      assert.equal(await streamExists(usageStream('deleted')), false, "the deleted tenant's usage stream was made again");
      await new Promise((r) => setTimeout(r, 100));
    }
    // Made again under its name, the tenant starts from none: its first write makes its record.
    const again = await tenant('deleted', { maxVectors: 100 });
    assert.equal((await again[1].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await again[2].post('/v1/indexes/v/add', { vectors: rows(100, 0) })).status, 200);
    assert.equal((await again[0].post('/v1/indexes/v/add', { vectors: rows(1, 0) })).status, 403);
    assert.ok(await streamExists(usageStream('deleted')));
  });

  it('a node SIGKILLed right after a write: its hold is settled by the next node that counts the write', async () => {
    const api = await tenant('killed', { maxVectors: 100 });
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2', params: { idMap: true } })).status, 201);
    const ids = Array.from({ length: 60 }, (_, i) => i);
    assert.equal((await api[2].post('/v1/indexes/v/add', { vectors: rows(60, 0), ids })).status, 200);
    await nodes[2].stop('SIGKILL'); // within its settlement's wait (SETTLE_DELAY_MS), usually: its hold of 60 stays
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const m = (await (await jetstreamManager(nc)).streams.getMessage(usageStream('killed'), { last_by_subj: usageSubject('killed') }))!;
      const left = (JSON.parse(new TextDecoder().decode(m.data)) as Ledger).holds.filter((h) => h.node === 'C').length;
      console.log(`      holds the killed node left in the record: ${left}`);
    } finally {
      await nc.close();
    }
    // Removed through A, whose copy applied C's add: A's count settles C's hold with it; the whole quota is there again.
    assert.equal((await api[0].post('/v1/indexes/v/remove', { ids })).status, 200);
    const all = await api[1].post('/v1/indexes/v/add', { vectors: rows(100, 0), ids: Array.from({ length: 100 }, (_, i) => 1000 + i) });
    assert.equal(all.status, 200, JSON.stringify(all.json));
  });

  it('with no NATS server up, an add is a 503 with Retry-After, never accepted unchecked', async () => {
    const api = await tenant('outage', { maxVectors: 1_000 }, 2);
    assert.equal((await api[0].post('/v1/indexes', { name: 'v', dimension: D, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api[0].post('/v1/indexes/v/add', { vectors: rows(1, 0) })).status, 200);
    for (let i = 0; i < 3; i++) await nats.kill(i);
    // Through the nodes still up (C was killed above).
    const answers = await Promise.all(api.slice(0, 2).map((a, i) => a.post('/v1/indexes/v/add', { vectors: rows(1, i) })));
    for (const r of answers) {
      assert.equal(r.status, 503, `${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.headers.get('retry-after'), '1');
    }
  });
});
