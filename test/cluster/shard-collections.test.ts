// A cluster's sharded collections (domain/sharded-collections.ts, docs/cluster.md):
// a sharded Flat collection answers exactly as one collection with the same
// points (search with and without filters that keep few, most or none of them,
// payloads and vectors, L2 and IP; get, count, scroll page by page, delete by
// ids and by filter), through any node and through an alias; a node holding
// none of its shards forwards; a node SIGKILLed while points are upserted loses
// no acknowledged upsert; the remote client and the LangChain store work against
// one unchanged; quotas count every shard's points; hostile shard counts are 4xx.
import { strict as assert } from 'node:assert';
import { Document } from '@langchain/core/documents';
import { hashedVector } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import { until, type ProxyNode } from '../support/proxy-cluster';
import { client, startServer } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';
import { connect } from '../../lib/client';
import { FaissProxyStore } from '../../lib/langchain';
import { HashEmbeddings } from '../langchain/support';

const D = 8;
const vector = (i: number): number[] => hashedVector(i, D);
const payload = (i: number) => ({ group: `g${i % 10}`, n: i, ...(i % 3 === 0 && { tag: 'third' }) });

type Api = ReturnType<typeof client>;

/** Every page of a scroll, with its nextOffset, until the last. */
async function pages(api: Api, name: string, body: Record<string, unknown>): Promise<{ points: unknown[]; nextOffset: string | null }[]> {
  const out = [];
  let offset: string | null = null;
  do {
    const r = await api.post(`/v1/collections/${name}/points/scroll`, { ...body, offset });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    out.push(r.json);
    offset = r.json.nextOffset;
  } while (offset !== null && out.length < 1000);
  return out;
}

describe('cluster: sharded collections', function () {
  this.timeout(180_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  const api = (i: number): Api => client(nodes[i].url, keys.write);
  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B', 'C'])));
  after(() => stopCluster(nats, nodes));

  it('refuses hostile shard counts (400) and shards on a single node (422)', async () => {
    for (const shards of [0, -1, 65, 1e12, 1.5, '3', null, true, [2]]) {
      const r = await api(0).post('/v1/collections', { name: 'bad', dimension: D, shards });
      assert.equal(r.status, 400, `shards ${JSON.stringify(shards)}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'ERR_VALIDATION');
    }
    const factory = await api(0).post('/v1/collections', { name: 'bad', dimension: D, factory: 'NoSuchThing', shards: 2 });
    assert.equal(factory.status, 400, JSON.stringify(factory.json));
    assert.equal((await api(1).get('/v1/collections/bad')).status, 404);
    const single = await startServer();
    try {
      const r = await client(single.url, single.adminKey).post('/v1/collections', { name: 'one', dimension: D, shards: 2 });
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.match(r.json.error.message, /--cluster/);
    } finally {
      await single.stop();
    }
  });

  it('a sharded Flat collection answers exactly as one collection with the same points (L2 and IP, filters, scroll, deletes), through any node and an alias', async () => {
    const N = 240;
    const ids = Array.from({ length: N }, (_, i) => `p${i}`);
    const points = ids.map((id, i) => ({ id, vector: vector(i), payload: i % 17 === 0 ? null : payload(i) }));
    for (const metric of ['l2', 'ip']) {
      const one = `one-${metric}`;
      const many = `many-${metric}`;
      assert.equal((await api(0).post('/v1/collections', { name: one, dimension: D, metric, payloadIndexes: { group: 'keyword' } })).status, 201);
      const created = await api(1).post('/v1/collections', { name: many, dimension: D, metric, payloadIndexes: { group: 'keyword' }, shards: 3 });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.equal(created.json.shards, 3);
      assert.equal(created.json.shardOwners.length, 3);
      // A payload index declared after creation applies to every shard.
      for (const name of [one, many]) {
        const r = await api(2).put(`/v1/collections/${name}/payload-indexes/n`, { json: { type: 'integer' } });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.deepEqual(r.json.payloadIndexes, { group: 'keyword', n: 'integer' });
      }
      for (let at = 0; at < N; at += 60) {
        const batch = points.slice(at, at + 60);
        assert.equal((await api(0).put(`/v1/collections/${one}/points`, { json: { points: batch } })).json.upserted, 60);
        const r = await api((at / 60) % 3).put(`/v1/collections/${many}/points`, { json: { points: batch } });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        assert.equal(r.json.upserted, 60);
        assert.ok(Number(r.headers.get('x-index-version')) >= 1);
      }
      // Replacing points (and a batch naming one id twice: the last wins), on both.
      const again = [
        { id: 'p5', vector: vector(5000), payload: { group: 'moved', n: 5 } },
        { id: 'p7', vector: vector(7000), payload: { group: 'g7', n: 7 } },
        { id: 'p5', vector: vector(5001), payload: { group: 'moved', n: 5 } },
      ];
      for (const name of [one, many]) assert.equal((await api(1).put(`/v1/collections/${name}/points`, { json: { points: again } })).json.upserted, 2);
      const info = await api(2).get(`/v1/collections/${many}`);
      assert.equal(info.json.count, N);
      assert.deepEqual(info.json.payloadIndexes, { group: 'keyword', n: 'integer' });

      const filters = {
        none: undefined,
        few: { must: [{ key: 'n', range: { lt: 6 } }] },
        most: { must_not: [{ key: 'group', match: { value: 'g3' } }] },
        nothing: { must: [{ key: 'group', match: { value: 'nowhere' } }] },
        unindexed: { should: [{ key: 'tag', match: { value: 'third' } }, { has_id: ['p1', 'p2'] }] },
      };
      const compare = async (what: string) => {
        for (const [kind, filter] of Object.entries(filters)) {
          const queries = [vector(3), vector(100_001), vector(5001)];
          for (const [ki, k] of [1, 7, N + 5].entries()) {
            for (const [ri, read] of [{}, { withPayload: false }, { withVector: true }].entries()) {
              const body = { vectors: queries, k, ...(filter && { filter }), ...read };
              const want = await api(0).post(`/v1/collections/${one}/search`, body);
              assert.equal(want.status, 200, JSON.stringify(want.json));
              const via = (ki + ri) % 3; // each node in turn
              const got = await api(via).post(`/v1/collections/${many}/search`, body);
              assert.equal(got.status, 200, JSON.stringify(got.json));
              assert.deepEqual(got.json, want.json, `${what} ${metric} ${kind} k ${k} ${JSON.stringify(read)} via ${via}`);
            }
          }
          const count = (name: string) => api(1).post(`/v1/collections/${name}/points/count`, filter ? { filter } : {});
          assert.deepEqual((await count(many)).json, (await count(one)).json, `${what} count ${kind}`);
          for (const limit of kind === 'few' ? [1, 2] : [13, 100]) {
            const body = { limit, ...(filter && { filter }), withVector: limit === 13 };
            assert.deepEqual(await pages(api(2), many, body), await pages(api(0), one, body), `${what} scroll ${kind} limit ${limit}`);
          }
        }
        // Scrolling from an offset that is no point's id, and a single vector's search.
        for (const offset of ['p1', 'p150x', 'q']) {
          const body = { offset, limit: 5 };
          assert.deepEqual((await api(1).post(`/v1/collections/${many}/points/scroll`, body)).json, (await api(0).post(`/v1/collections/${one}/points/scroll`, body)).json);
        }
        const single = { vector: vector(42), k: 3 };
        assert.deepEqual((await api(2).post(`/v1/collections/${many}/search`, single)).json, (await api(0).post(`/v1/collections/${one}/search`, single)).json);
        const asked = { ids: ['p9', 'absent', 'p200', 'p9', 'p5'], withVector: true };
        assert.deepEqual((await api(2).post(`/v1/collections/${many}/points/get`, asked)).json, (await api(0).post(`/v1/collections/${one}/points/get`, asked)).json);
      };
      await compare('after upserts');
      // Deletes by ids (across shards) and by filter, on both.
      for (const name of [one, many]) {
        const byIds = await api(1).post(`/v1/collections/${name}/points/delete`, { ids: ['p1', 'p2', 'p3', 'absent', 'p230'] });
        assert.equal(byIds.json.deleted, 4, JSON.stringify(byIds.json));
        const byFilter = await api(2).post(`/v1/collections/${name}/points/delete`, { filter: { must: [{ key: 'group', match: { value: 'g4' } }] } });
        assert.equal(byFilter.json.deleted, 22, JSON.stringify(byFilter.json)); // g4's 24 points less the 2 without a payload (34 and 204)
      }
      await compare('after deletes');
      // An alias to the sharded collection answers as the collection.
      assert.equal((await api(0).post('/v1/aliases', { alias: `alias-${metric}`, collection: many })).status, 201);
      const q = { vector: vector(11), k: 5, filter: filters.most };
      assert.deepEqual((await api(1).post(`/v1/collections/alias-${metric}/search`, q)).json, (await api(0).post(`/v1/collections/${one}/search`, q)).json);
      assert.equal((await api(2).get(`/v1/collections/alias-${metric}`)).json.count, N - 26);
    }
  });

  it('a sharded IVF collection: trained on every shard, searched with nprobe; refused as one collection refuses', async () => {
    const ps = Array.from({ length: 40 }, (_, i) => ({ id: `v${i}`, vector: vector(3000 + i), payload: { i } }));
    const train = { vectors: Array.from({ length: 200 }, (_, i) => vector(6000 + i)) };
    const answers = [];
    for (const [name, shards] of [['ivfone', 1], ['ivf', 2]] as const) {
      assert.equal((await api(0).post('/v1/collections', { name, dimension: D, factory: 'IVF4,Flat', shards })).status, 201);
      const early = await api(1).put(`/v1/collections/${name}/points`, { json: { points: ps } });
      const trained = await api(2).post(`/v1/collections/${name}/train`, train);
      assert.equal(trained.status, 200, JSON.stringify(trained.json));
      assert.equal(trained.json.isTrained, true);
      assert.equal((await api(0).put(`/v1/collections/${name}/points`, { json: { points: ps } })).json.upserted, 40);
      // nprobe 4 of 4 lists: every point compared, so the shards' merge is exactly one collection's.
      const found = await api(1).post(`/v1/collections/${name}/search`, { vectors: ps.slice(0, 10).map((p) => vector(Number(p.id.slice(1)) + 77)), k: 5, nprobe: 4, filter: { must: [{ key: 'i', range: { gte: 3 } }] } });
      const wrong = await api(2).post(`/v1/collections/${name}/search`, { vector: ps[0].vector, k: 1, efSearch: 4 });
      answers.push({ early: [early.status, early.json.error.code], found: [found.status, found.json], wrong: [wrong.status, wrong.json.error.code] });
    }
    assert.deepEqual(answers[1], answers[0]);
    assert.deepEqual(answers[0].early, [409, 'ERR_NOT_TRAINED']);
    assert.equal(answers[0].found[0], 200);
  });

  it('a node holding none of its shards forwards; metrics and the overview show its shards\' owners', async () => {
    assert.equal((await api(2).post('/v1/collections', { name: 'two', dimension: D, shards: 2 })).status, 201);
    await until('two placed', async () => ((await api(2).get('/v1/collections/two')).json.shardOwners ?? []).length === 2);
    const placed: string[] = (await api(2).get('/v1/collections/two')).json.shardOwners;
    const none = ['A', 'B', 'C'].findIndex((n) => !placed.includes(n));
    assert.ok(none >= 0, placed.join());
    const ps = Array.from({ length: 30 }, (_, i) => ({ id: `t${i}`, vector: vector(900 + i), payload: { n: i } }));
    // With an Idempotency-Key: the same request again is answered as the first, and applied once on every shard.
    const keyed = () => api(none).put('/v1/collections/two/points', { json: { points: ps }, headers: { 'Idempotency-Key': 'two-1' } });
    assert.equal((await keyed()).json.upserted, 30);
    assert.equal((await keyed()).json.upserted, 30);
    const reused = await api(none).put('/v1/collections/two/points', { json: { points: ps.slice(1) }, headers: { 'Idempotency-Key': 'two-1' } });
    assert.equal(reused.status, 422, JSON.stringify(reused.json));
    assert.equal(reused.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
    assert.equal((await api(0).post('/v1/collections/two/points/count', {})).json.count, 30);
    // A delete by filter too large for a message to another node (a has_id of 100,000 ids: 1.3 MB) is refused
    // before any shard deletes, even through a node holding a shard (whose own part would have fit).
    const holder = ['A', 'B', 'C'].indexOf(placed[0]);
    const huge = { must: [{ has_id: [...ps.map((p) => p.id), ...Array.from({ length: 100_000 - 30 }, (_, i) => `absent-${i}`)] }] };
    const refused = await api(holder).post('/v1/collections/two/points/delete', { filter: huge });
    assert.equal(refused.status, 413, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, 'ERR_PAYLOAD_TOO_LARGE');
    assert.equal((await api(none).post('/v1/collections/two/points/count', {})).json.count, 30);
    const found = await api(none).post('/v1/collections/two/search', { vectors: ps.map((p) => p.vector), k: 1, withPayload: false });
    assert.deepEqual(found.json.results.map((h: { id: string }[]) => h[0].id), ps.map((p) => p.id));
    assert.equal((await api(none).post('/v1/collections/two/points/count', { filter: { must: [{ key: 'n', range: { gte: 10 } }] } })).json.count, 20);
    const operator = client(nodes[none].url, nodes[none].adminKey);
    const metrics = (await operator.get('/metrics')).bytes.toString('utf8');
    for (const shard of [0, 1]) assert.match(metrics, new RegExp(`faiss_proxy_collection_shard_owner\\{tenant="acme",collection="two",shard="${shard}",node="[ABC]"\\} 1`));
    const overview = (await operator.get('/v1/admin/overview')).json;
    const owners = (await api(none).get('/v1/collections/two')).json.shardOwners;
    assert.deepEqual(overview.cluster.collectionShards.filter((s: { collection: string }) => s.collection === 'two').map((s: { node: string }) => s.node), owners);
    // A shard's owner reports its replica lag (in its heartbeat's figure too), 0 once it has applied every write.
    const ownerOps = client(nodes[holder].url, nodes[holder].adminKey);
    await until('the owner\'s lag of two is 0', async () => /faiss_proxy_collection_replica_lag\{tenant="acme",collection="two"\} 0\b/.test((await ownerOps.get('/metrics')).bytes.toString('utf8')));
    assert.ok((await ownerOps.get('/v1/admin/overview')).json.collections.some((c: { name: string; replicaLag?: number }) => c.name === 'two' && c.replicaLag === 0));
  });

  it('the remote client and the LangChain store work against a sharded collection unchanged; quotas count every shard', async () => {
    assert.equal((await api(0).post('/v1/collections', { name: 'remote', dimension: D, shards: 3 })).status, 201);
    const remote = connect({ url: nodes[1].url, apiKey: keys.write }).collection('remote');
    await remote.upsert(Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, vector: vector(2000 + i), payload: { i } })));
    const hits = await remote.search(Float32Array.from(vector(2005)), 2, { filter: { must: [{ key: 'i', range: { gte: 5 } }] } });
    assert.equal(hits[0].id, 'r5');
    assert.deepEqual((await remote.get(['r3', 'nope'])).map((p) => p.payload), [{ i: 3 }]);
    assert.equal(await remote.count(), 20);
    const { points, nextOffset } = await remote.scroll({ limit: 20 });
    assert.deepEqual(points.map((p) => p.id), Array.from({ length: 20 }, (_, i) => `r${i}`).sort());
    assert.equal(nextOffset, null);
    assert.equal((await remote.delete({ filter: { must: [{ key: 'i', range: { lt: 10 } }] } })).deleted, 10);
    assert.equal((await remote.info()).count, 10);

    assert.equal((await api(0).post('/v1/collections', { name: 'docs', dimension: 64, shards: 2 })).status, 201);
    const store = await FaissProxyStore.fromExistingCollection(new HashEmbeddings(), { collection: 'docs', url: nodes[2].url, apiKey: keys.write });
    const texts = ['Berlin is the capital of Germany', 'Paris is the capital of France', 'Rome is in Italy', 'Madrid is in Spain', 'Cats are small animals'];
    await store.addDocuments(texts.map((t, i) => new Document({ pageContent: t, metadata: { i } })), { ids: texts.map((_, i) => `d${i}`) });
    const got = await store.similaritySearch('the capital of Germany', 1);
    assert.equal(got[0].pageContent, texts[0]);
    await store.delete({ ids: ['d0'] });
    assert.notEqual((await store.similaritySearch('the capital of Germany', 1))[0].pageContent, texts[0]);

    // The tenant's vectors quota counts the points of every shard, as it counts an index's vectors.
    const admin = client(nodes[0].url, nodes[0].adminKey);
    const upsert = (points: { id: string; vector: number[] }[]) => api(0).put('/v1/collections/remote/points', { json: { points } });
    // The admin API shows the usage quotas are checked against: the cluster's shared record (docs/cluster.md).
    const usage = (await admin.get('/v1/admin/tenants/acme')).json.usage;
    const max = usage.vectors + 5;
    assert.equal((await admin.patch('/v1/admin/tenants/acme', { quotas: { maxVectors: max } })).status, 200);
    await until('the quota seen', async () => (await admin.get('/v1/admin/tenants/acme')).json.maxVectors === max);
    try {
      const over = await upsert(Array.from({ length: 6 }, (_, i) => ({ id: `q${i}`, vector: vector(i) })));
      assert.equal(over.status, 403, JSON.stringify(over.json));
      assert.equal(over.json.error.code, 'ERR_QUOTA_EXCEEDED');
      // Replacing points that exist on their shards is no growth.
      const replaced = await upsert([{ id: 'r15', vector: vector(15) }, { id: 'r16', vector: vector(16) }]);
      assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
      assert.equal((await upsert(Array.from({ length: 5 }, (_, i) => ({ id: `q${i}`, vector: vector(i) })))).status, 200);
      assert.equal((await upsert([{ id: 'q9', vector: vector(9) }])).status, 403);
    } finally {
      await admin.patch('/v1/admin/tenants/acme', { quotas: { maxVectors: 1e9 } });
    }
  });

  it('a node SIGKILLed while points are upserted loses no acknowledged upsert; a collection deleted through one node is gone on the others', async () => {
    assert.equal((await api(0).post('/v1/collections', { name: 'grow', dimension: D, shards: 3 })).status, 201);
    await until('grow placed on every node', async () => new Set((await api(0).get('/v1/collections/grow')).json.shardOwners ?? []).size === 3);
    const acknowledged: string[] = [];
    let next = 0;
    let writing = true;
    const writers = [0, 2].map(async (via) => {
      while (writing) {
        const batch = Array.from({ length: 10 }, () => next++);
        const r = await api(via)
          .put('/v1/collections/grow/points', { json: { points: batch.map((i) => ({ id: `g${i}`, vector: vector(i), payload: { i } })) } })
          .catch(() => undefined);
        if (r?.status === 200) acknowledged.push(...batch.map((i) => `g${i}`));
      }
    });
    await until('writes acknowledged before B dies', async () => acknowledged.length >= 30);
    await nodes[1].stop('SIGKILL'); // B: owns a shard
    await until("B's shards moved", async () => !((await api(0).get('/v1/collections/grow')).json.shardOwners ?? ['B']).includes('B'), 30_000);
    const atMove = acknowledged.length;
    await until("writes acknowledged after B's shards moved", async () => acknowledged.length > atMove);
    writing = false;
    await Promise.all(writers);
    assert.ok(acknowledged.length >= 30, `${acknowledged.length} acknowledged`);
    // A batch answered with an error may still be applied on some shards (docs/cluster.md): more than acknowledged, never fewer.
    const counts = await Promise.all([0, 2].map(async (via) => (await api(via).post('/v1/collections/grow/points/count', {})).json.count));
    assert.equal(counts[0], counts[1]);
    assert.ok(counts[0] >= acknowledged.length, `${counts[0]} points, ${acknowledged.length} acknowledged`);
    for (const via of [0, 2]) {
      for (let at = 0; at < acknowledged.length; at += 500) {
        const some = acknowledged.slice(at, at + 500);
        const got = await api(via).post('/v1/collections/grow/points/get', { ids: some, withPayload: false });
        assert.deepEqual(got.json.points.map((p: { id: string }) => p.id), some);
      }
    }
    // Deleted through one node (last: the placement then moves other shards to even the nodes' totals): gone on every node.
    assert.equal((await api(2).del('/v1/collections/two')).status, 204);
    for (const via of [0, 2]) await until(`two gone via ${via}`, async () => (await api(via).get('/v1/collections/two')).status === 404);
  });
});
