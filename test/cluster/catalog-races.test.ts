// Concurrent compare-and-sets on the cluster's catalog bucket (docs/cluster.md
// "Concurrent creates"): the same name created through 3 nodes at once is made
// once (one 201, the rest 409), and two nodes sharing snapshots of one index at
// once never move its shared-snapshot pointer backwards nor leave the stream
// trimmed past it. nats-server 2.9.10 lets two concurrent KV creates/updates on
// one key's revision through in a clustered bucket: these rounds caught it there.
import { strict as assert } from 'node:assert';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { connectEach, startNatsCluster, type NatsCluster } from '../support/nats-cluster';
import { startProxyCluster, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { stopCluster } from '../support/cluster-fixture';
import { JetStreamLog } from '../../service/cluster/replicated-log';
import { CATALOG_BUCKET, sharedSnapshotKey } from '../../service/cluster/kv-catalog';
import { createKey } from '../../service/cluster/stream-cas';
import type { FileSnapshotStore } from '../../service/storage/snapshots';

describe('cluster: concurrent creates and snapshot pointers in the catalog bucket', function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  before(async () => {
    nats = await startNatsCluster();
  });
  after(() => stopCluster(nats, nodes));

  /** Fires `send(node, i)` twice through each of the 3 nodes at once; the statuses. */
  const race = (send: (node: number, i: number) => Promise<{ status: number; json?: { error?: { code: string } } }>) =>
    Promise.all([0, 1, 2, 0, 1, 2].map((n, i) => send(n, i))).then((rs) => rs.map((r) => (r.status === 201 || r.status === 409 ? r.status : `${r.status} ${r.json?.error?.code}`)));
  // Never two 201s, the rest 409. A loaded machine may answer one racer 503 ERR_STORAGE_FAILED (its compare-and-set
  // past its deadline, its write's outcome unknown to it, as any storage fault): then that one may be the one that made it.
  const once = (statuses: (number | string)[]) => {
    const made = statuses.filter((s) => s === 201).length;
    const unknown = statuses.filter((s) => s === '503 ERR_STORAGE_FAILED').length;
    return made + unknown >= 1 && made <= 1 && statuses.every((s) => s === 201 || s === 409 || s === '503 ERR_STORAGE_FAILED');
  };

  it('one name created through 3 nodes at once: exactly one 201, the others 409 (tenants, indexes, collections, aliases; made again after a delete)', async () => {
    nodes = await startProxyCluster(nats);
    const admin = nodes.map((n) => client(n.url, n.adminKey));
    const ROUNDS = 4;
    const bad: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const s = await race((n) => admin[n].post('/v1/admin/tenants', { name: `t${r}`, quotas: { maxIndexes: 1000 } }));
      if (!once(s)) bad.push(`tenant t${r}: ${s.join(',')}`);
    }
    // One tenant (made once above), its keys on every node.
    const made = await admin[0].post('/v1/admin/tenants', { name: 'names', quotas: { maxIndexes: 1000 } });
    assert.equal(made.status, 201);
    const key = (await admin[0].post('/v1/admin/tenants/names/keys', { role: 'write' })).json.key as string;
    const api = nodes.map((n) => client(n.url, key));
    for (const a of api) for (let t = 0; t < 100 && (await a.get('/v1/indexes')).status !== 200; t++) await new Promise((res) => setTimeout(res, 20));
    for (let r = 0; r < ROUNDS; r++) {
      const s = await race((n) => api[n].post('/v1/indexes', { name: `i${r}`, dimension: 4, type: 'IndexFlatL2' }));
      if (!once(s)) bad.push(`index i${r}: ${s.join(',')}`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      const s = await race((n) => api[n].post('/v1/collections', { name: `c${r}`, dimension: 4 }));
      if (!once(s)) bad.push(`collection c${r}: ${s.join(',')}`);
    }
    // Every node knows every index and collection within 5 s (a node whose create lost the race too: it once skipped
    // the winner's record, which came while it held the name, and answered 404 for it from then on).
    const known = async (path: string) => {
      for (const [n, a] of api.entries()) {
        let t = 0;
        while ((await a.get(path)).status !== 200) {
          if (++t > 250) assert.fail(`node ${n} does not know ${path}`);
          await new Promise((res) => setTimeout(res, 20));
        }
      }
    };
    for (let r = 0; r < ROUNDS; r++) await known(`/v1/indexes/i${r}`);
    for (let r = 0; r < ROUNDS; r++) await known(`/v1/collections/c${r}`);
    for (let r = 0; r < ROUNDS; r++) {
      const s = await race((n) => api[n].post('/v1/aliases', { alias: `a${r}`, collection: `c${r}` }));
      if (!once(s)) bad.push(`alias a${r}: ${s.join(',')}`);
    }
    // Made again after a delete (a KV create of a deleted key is an update: the race nats-server 2.9.10 lets through).
    const gone = async (path: string, on: ReturnType<typeof client>[]) => {
      for (const a of on) for (let t = 0; t < 250 && (await a.get(path)).status !== 404; t++) await new Promise((res) => setTimeout(res, 20));
    };
    for (let r = 0; r < ROUNDS; r++) {
      assert.equal((await api[0].del(`/v1/indexes/i${r}`)).status, 204);
      await gone(`/v1/indexes/i${r}`, api);
      const s = await race((n) => api[n].post('/v1/indexes', { name: `i${r}`, dimension: 4, type: 'IndexFlatL2' }));
      if (!once(s)) bad.push(`index i${r} made again: ${s.join(',')}`);
      await known(`/v1/indexes/i${r}`);
    }
    for (let r = 0; r < ROUNDS; r++) {
      assert.equal((await admin[0].del(`/v1/admin/tenants/t${r}`)).status, 204);
      await gone(`/v1/admin/tenants/t${r}`, admin);
      const s = await race((n) => admin[n].post('/v1/admin/tenants', { name: `t${r}`, quotas: { maxIndexes: 1000 } }));
      if (!once(s)) bad.push(`tenant t${r} made again: ${s.join(',')}`);
    }
    // Every node agrees on what was made: one record per name.
    const listed = await Promise.all(api.map(async (a) => (await a.get('/v1/indexes')).json.indexes.length as number));
    console.log(`      ${bad.length} of ${6 * ROUNDS} names made more than once${bad.length ? `: ${bad.slice(0, 6).join('; ')}` : ''}`);
    assert.deepEqual(bad, []);
    assert.deepEqual(listed, [ROUNDS, ROUNDS, ROUNDS]);
  });

  it('the catalog writer\'s create (createKey) through 3 servers at once, of new keys and of deleted ones: one wins', async () => {
    const conns = await connectEach(nats);
    try {
      await new Kvm(conns[0]).create(CATALOG_BUCKET, { replicas: 3, history: 1 });
      const kv = await new Kvm(conns[0]).open(CATALOG_BUCKET);
      const clients = await Promise.all(conns.map(async (nc) => ({ js: jetstream(nc), jsm: await jetstreamManager(nc) })));
      // The cost (docs/cluster.md; bench/RESULTS.md): one create at a time, alternating with KV's own.
      const ms: { kv: number[]; cas: number[] } = { kv: [], cas: [] };
      for (let r = 0; r < 20; r++) {
        let t = performance.now();
        await kv.create(`cost.kv.${r}`, 'x');
        ms.kv.push(performance.now() - t);
        t = performance.now();
        await createKey(clients[0].jsm, clients[0].js, CATALOG_BUCKET, `cost.cas.${r}`, 'x', 8_000);
        ms.cas.push(performance.now() - t);
      }
      const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1].toFixed(2);
      console.log(`      one create at a time (20 each, alternating): KV's create median ${median(ms.kv)} ms, createKey median ${median(ms.cas)} ms`);
      const ROUNDS = 40;
      let fresh = 0;
      let again = 0;
      const race = (key: string) =>
        Promise.all(clients.map((c, i) => createKey(c.jsm, c.js, CATALOG_BUCKET, key, `from ${i}`, 8_000))).then((made) => made.filter((r) => r !== undefined).length);
      for (let r = 0; r < ROUNDS; r++) {
        const key = `probe.${r}`;
        if ((await race(key)) !== 1) fresh++;
        await kv.delete(key);
        if ((await race(key)) !== 1) again++;
      }
      console.log(`      ${ROUNDS} rounds: ${fresh} new keys and ${again} deleted keys made by other than one node`);
      assert.deepEqual([fresh, again], [0, 0]);
    } finally {
      for (const nc of conns) await nc.close();
    }
  });

  it("3 nodes sharing snapshots of one index at once: the pointer only moves forward, to the newest, and the stream is never trimmed past it", async () => {
    const id = 'racesnap';
    const conns = await connectEach(nats);
    try {
      // The catalog bucket as the proxies make it (the first test made it; made here if run alone).
      await new Kvm(conns[0]).create(CATALOG_BUCKET, { replicas: 3, history: 1 });
      /** Each node's latest local snapshot: what its file store would give (the pointer protocol is what is tested here). */
      const local = [0, 0, 0];
      const logs = await Promise.all(conns.map((nc) => JetStreamLog.open(nc, 3, 900_000)));
      logs.forEach((log, i) =>
        log.useSnapshots({ latestFiles: () => ({ seq: local[i], files: [{ suffix: '.index', bytes: Buffer.from(`snapshot ${local[i]}`) }] }) } as unknown as FileSnapshotStore),
      );
      await logs[0].create(id, 0);
      const js = jetstream(conns[0]);
      const jsm = await jetstreamManager(conns[0]);
      const kv = await new Kvm(conns[0]).open(CATALOG_BUCKET);
      const ROUNDS = 30;
      const bad: string[] = [];
      let before = 0;
      for (let r = 1; r <= ROUNDS; r++) {
        // Three more records per node; node i's snapshot is at the round's base + i.
        for (let m = 0; m < 3; m++) await js.publish(`fp.log.${id}`, 'x');
        const top = 3 * r;
        for (let i = 0; i < 3; i++) local[i] = top - 2 + i;
        await Promise.all(logs.map((log, i) => log.shareSnapshot(id, local[i])));
        const pointer = Number((await kv.get(sharedSnapshotKey(id)))?.string() ?? 0);
        const first = (await jsm.streams.info(`FP_${id}`)).state.first_seq;
        if (pointer < before) bad.push(`round ${r}: the pointer went back from ${before} to ${pointer}`);
        if (first > pointer + 1) bad.push(`round ${r}: the stream starts at ${first}, past the pointer's snapshot ${pointer}`);
        if (pointer !== top) bad.push(`round ${r}: the pointer is ${pointer}, not the newest ${top}`);
        before = Math.max(before, pointer);
      }
      const kinds = ['went back', 'past the pointer', 'not the newest'].map((k) => `${bad.filter((b) => b.includes(k)).length} ${k}`);
      console.log(`      ${ROUNDS} rounds: ${kinds.join(', ')}${bad.length ? `: ${bad.slice(0, 6).join('; ')}` : ''}`);
      assert.deepEqual(bad, []);
    } finally {
      for (const nc of conns) await nc.close();
    }
  });
});
