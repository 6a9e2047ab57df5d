// A cluster's sharded indexes (domain/sharded-indexes.ts, docs/cluster.md): a
// sharded Flat index answers exactly as one index with the same data (labels and
// distances, ties and -1 padding, L2 and IP, several k); a request through a
// node holding none of an index's shards is forwarded; a node joining takes
// shards over and a node SIGKILLed has its shards taken over, with every
// acknowledged point still found; hostile shard counts are 4xx.
import { strict as assert } from 'node:assert';
import { hashedVector } from '../support/data';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';
import { startProxyCluster, startProxyNode, stopProxies, until, type ProxyNode } from '../support/proxy-cluster';
import { client, makeTenant, startServer } from '../support/server';
import { connect } from '../../lib/client';

const D = 8;
/** A pseudo-random vector of its own for `i`. */
// On a grid: exact distances, and ties among copies.
const vector = (i: number): number[] => hashedVector(i, D).map((v) => Math.round(v * 64) / 64);

type Api = ReturnType<typeof client>;

/** Every id in `ids` is its vector's nearest neighbour through `api` (k=1, 64 queries a request). */
async function allFound(api: Api, index: string, ids: number[]): Promise<void> {
  for (let at = 0; at < ids.length; at += 64) {
    const some = ids.slice(at, at + 64);
    const r = await api.post(`/v1/indexes/${index}/search`, { vectors: some.map(vector), k: 1 });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.labels.map((l: number[]) => l[0]), some);
  }
}

describe('cluster: sharded indexes', function () {
  this.timeout(180_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: { admin: string; write: string; read: string };
  const api = (i: number): Api => client(nodes[i].url, keys.write);
  /** The points of index grow whose add was acknowledged. */
  const acknowledged: number[] = [];
  const api0Info = async (name: string) => (await api(0).get(`/v1/indexes/${name}`)).json;
  before(async () => {
    nats = await startNatsCluster();
    nodes = await startProxyCluster(nats, ['A', 'B']);
    keys = await makeTenant(nodes[0], 'acme');
  });
  after(async () => {
    await stopProxies(nodes);
    await nats?.stop();
  });

  it('refuses hostile shard counts, a single node, and an index that cannot take ids (4xx)', async () => {
    for (const shards of [0, -1, 65, 1e12, 1.5, '3', null, true, [2]]) {
      const r = await api(0).post('/v1/indexes', { name: 'bad', dimension: D, factory: 'IDMap2,Flat', shards });
      assert.equal(r.status, 400, `shards ${JSON.stringify(shards)}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'ERR_VALIDATION');
    }
    const flat = await api(0).post('/v1/indexes', { name: 'bad', dimension: D, type: 'IndexFlatL2', shards: 2 });
    assert.equal(flat.status, 422, JSON.stringify(flat.json));
    assert.match(flat.json.error.message, /ids/);
    assert.equal((await api(1).get('/v1/indexes/bad')).status, 404);
    const single = await startServer();
    try {
      const r = await client(single.url, single.adminKey).post('/v1/indexes', { name: 'one', dimension: D, factory: 'IDMap2,Flat', shards: 2 });
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.match(r.json.error.message, /--cluster/);
    } finally {
      await single.stop();
    }
  });

  it('a sharded Flat index answers exactly as one index with the same data (L2 and IP, ties, padding, several k)', async () => {
    const N = 300;
    const data = Array.from({ length: N }, (_, i) => (i >= 200 && i < 230 ? vector(i % 7) : vector(i))); // copies: ties
    const ids = data.map((_, i) => i);
    for (const metric of ['L2', 'IP']) {
      const one = `one${metric}`;
      const sharded = `sharded${metric}`;
      assert.equal((await api(0).post('/v1/indexes', { name: one, dimension: D, factory: 'Flat', metric })).status, 201);
      const created = await api(1).post('/v1/indexes', { name: sharded, dimension: D, factory: 'IDMap2,Flat', metric, shards: 3 });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      assert.equal(created.json.shards, 3);
      assert.deepEqual([...new Set(created.json.shardOwners)].sort(), ['A', 'B']);
      // Positional ids in the one index (0..N-1 in order); the same ids given to the sharded one, through both nodes.
      for (let at = 0; at < N; at += 100) {
        const rows = data.slice(at, at + 100);
        assert.equal((await api(0).post(`/v1/indexes/${one}/add`, { vectors: rows })).json.firstId, at);
        const added = await api(at % 200 === 0 ? 0 : 1).post(`/v1/indexes/${sharded}/add`, { vectors: rows, ids: ids.slice(at, at + 100) });
        assert.equal(added.status, 200, JSON.stringify(added.json));
        assert.equal(added.json.added, 100);
        assert.ok(Number(added.headers.get('x-index-version')) >= 1);
      }
      const noIds = await api(0).post(`/v1/indexes/${sharded}/add`, { vectors: data.slice(0, 2) });
      assert.equal(noIds.status, 422, JSON.stringify(noIds.json));
      for (const nq of [5, 25]) {
        const queries = Array.from({ length: nq }, (_, q) => (q % 3 === 0 ? vector(q % 7) : vector(1000 + q)));
        for (const k of [1, 4, 17, N + 5]) {
          const want = await api(0).post(`/v1/indexes/${one}/search`, { vectors: queries, k });
          for (const via of [0, 1]) {
            const got = await api(via).post(`/v1/indexes/${sharded}/search`, { vectors: queries, k });
            assert.equal(got.status, 200, JSON.stringify(got.json));
            assert.deepEqual(got.json.labels, want.json.labels, `${metric} nq ${nq} k ${k}`);
            assert.deepEqual(got.json.distances, want.json.distances, `${metric} nq ${nq} k ${k}`);
          }
        }
      }
      const info = await api(1).get(`/v1/indexes/${sharded}`);
      assert.equal(info.json.ntotal, N);
      // A sharded index's version: its shards' stream sequences summed; X-Min-Sequence waits for the sum (docs/cluster.md).
      const version = Number(info.headers.get('x-index-version'));
      assert.ok(version >= 3, `version ${version}`);
      const ryw = await api(0).post(`/v1/indexes/${sharded}/search`, { vectors: [vector(42)], k: 1 }, { headers: { 'X-Min-Sequence': String(version) } });
      assert.equal(ryw.status, 200, JSON.stringify(ryw.json));
      assert.equal(Number(ryw.headers.get('x-index-version')), version);
      if (metric === 'L2') {
        // Past the shards' versions: a bounded wait (5 s, once is enough), then 503.
        const ahead = await api(0).post(`/v1/indexes/${sharded}/search`, { vectors: [vector(42)], k: 1 }, { headers: { 'X-Min-Sequence': String(version + 1000) } });
        assert.equal(ahead.status, 503);
        assert.equal(ahead.json.error.code, 'ERR_REPLICA_BEHIND');
      }
      // Remove by ids across shards, and the stored vectors of ids on every shard.
      const removed = await api(0).post(`/v1/indexes/${sharded}/remove`, { ids: [1, 2, 3, 250] });
      assert.equal(removed.json.removed, 4);
      assert.equal(removed.json.ntotal, N - 4);
      const got = await api(1).post(`/v1/indexes/${sharded}/reconstruct`, { ids: [5, 6, 7, 299] });
      assert.deepEqual(got.json.vectors, [5, 6, 7, 299].map((i) => data[i]));
      const filtered = await api(0).post(`/v1/indexes/${sharded}/search`, { vectors: [vector(1)], k: 1, filter: { idRange: [0, 10] } });
      assert.equal(filtered.status, 422, JSON.stringify(filtered.json));
      assert.equal((await api(0).get(`/v1/indexes/${sharded}/export`)).status, 422);
      // What one index answers 4xx, a sharded one answers the same, whichever node its shard is on.
      const gone = await api(1).post(`/v1/indexes/${sharded}/reconstruct`, { ids: [5, 2] });
      const goneOne = await api(1).post(`/v1/indexes/${one}/reconstruct`, { ids: [5, 123456] });
      assert.equal(gone.status, goneOne.status, JSON.stringify(gone.json));
      assert.equal(gone.json.error.code, goneOne.json.error.code);
      assert.equal((await api(0).post(`/v1/indexes/${sharded}/add`, { vectors: [vector(1)], ids: [1, 2] })).status, 400);
      assert.equal((await api(0).post(`/v1/indexes/${sharded}/search`, { vectors: [[1, 2]], k: 1 })).status, 400);
    }
  });

  it('a sharded IVF index: trained, reset and written on every shard, through any node', async () => {
    const created = await api(0).post('/v1/indexes', { name: 'ivf', dimension: D, factory: 'IVF4,Flat', shards: 2, params: { nprobe: 4 } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.isTrained, false);
    const train = Array.from({ length: 200 }, (_, i) => vector(5000 + i));
    const trained = await api(1).post('/v1/indexes/ivf/train', { vectors: train }, { headers: { 'Idempotency-Key': 'train-1' } });
    assert.equal(trained.status, 200, JSON.stringify(trained.json));
    assert.equal(trained.json.isTrained, true);
    const ids = Array.from({ length: 40 }, (_, i) => 7_000 + 3 * i);
    const add = () => api(0).post('/v1/indexes/ivf/add', { vectors: ids.map(vector), ids }, { headers: { 'Idempotency-Key': 'add-1' } });
    assert.equal((await add()).json.added, 40);
    // The same key again: every shard answers with its first result, nothing is added twice.
    assert.equal((await add()).json.added, 40);
    assert.equal((await api(1).get('/v1/indexes/ivf')).json.ntotal, 40);
    await allFound(api(1), 'ivf', ids);
    const reset = await api(1).post('/v1/indexes/ivf/reset');
    assert.equal(reset.status, 200, JSON.stringify(reset.json));
    assert.equal(reset.json.ntotal, 0);
    assert.equal(reset.json.isTrained, true);
    assert.equal((await api(0).post('/v1/indexes/ivf/add', { vectors: [vector(1)] })).status, 422);
    // Deleted through one node: gone through the other, and its streams with it.
    assert.equal((await api(1).del('/v1/indexes/ivf')).status, 204);
    await until('ivf gone on A', async () => (await api(0).get('/v1/indexes/ivf')).status === 404);
  });

  it('a sharded binary IVF index answers as one index does (labels and Hamming distances)', async () => {
    const code = (i: number): string => Buffer.from(vector(i).map((v) => Math.floor(v * 255))).toString('base64');
    const rows = Array.from({ length: 120 }, (_, i) => code(i));
    const ids = rows.map((_, i) => 300 + i);
    for (const [name, shards] of [['bone', 1], ['bsharded', 3]] as const) {
      assert.equal((await api(0).post('/v1/indexes', { name, dimension: 64, factory: 'BIVF2', shards })).status, 201);
      assert.equal((await api(1).post(`/v1/indexes/${name}/train`, { codes: rows })).status, 200);
      const added = await api(0).post(`/v1/indexes/${name}/add`, { codes: rows, ids });
      assert.equal(added.status, 200, JSON.stringify(added.json));
    }
    const queries = { codes: [code(3), code(77), code(5000)], k: 7, nprobe: 2 };
    const want = await api(1).post('/v1/indexes/bone/search', queries);
    const got = await api(1).post('/v1/indexes/bsharded/search', queries);
    assert.equal(got.status, 200, JSON.stringify(got.json));
    assert.deepEqual(got.json.distances, want.json.distances);
    assert.deepEqual(got.json.labels, want.json.labels);
  });

  it('the remote client creates a sharded index with { shards }, and checks the option before sending', async () => {
    const api = connect({ url: nodes[1].url, apiKey: keys.write });
    for (const shards of [0, -2, 1.5, 65, '2']) {
      assert.throws(() => new api.IndexIDMap2(new api.IndexFlatL2(D), { name: 'nope', shards: shards as number }), { code: 'ERR_INVALID_ARGUMENT' });
    }
    const index = new api.IndexIDMap2(new api.IndexFlatL2(D), { name: 'remote', shards: 2 });
    const ids = BigInt64Array.from({ length: 20 }, (_, i) => BigInt(900 + i));
    await index.addWithIds(Float32Array.from([...ids].flatMap((id) => vector(Number(id)))), ids);
    const found = await index.search(Float32Array.from(vector(905)), 1);
    assert.deepEqual([...found.labels], [905n]);
    assert.equal((await api0Info('remote')).shards, 2);
    await assert.rejects(index.add(Float32Array.from(vector(1))), { code: 'ERR_UNSUPPORTED' });
  });

  it('a node joining takes shards over while writes go on; a request through a node holding none is forwarded', async () => {
    assert.equal((await api(0).post('/v1/indexes', { name: 'grow', dimension: D, factory: 'IDMap2,Flat', shards: 4 })).status, 201);
    let next = 0;
    let writing = true;
    const writer = (async () => {
      while (writing) {
        const batch = Array.from({ length: 10 }, () => next++);
        const r = await api(batch[0] % 20 === 0 ? 0 : 1).post('/v1/indexes/grow/add', { vectors: batch.map(vector), ids: batch });
        if (r.status === 200) acknowledged.push(...batch);
      }
    })();
    await new Promise((r) => setTimeout(r, 500));
    nodes.push(await startProxyNode(nats, 'C', nodes[0].adminKey));
    const c = api(2);
    await until('C owns shards of grow', async () => ((await c.get('/v1/indexes/grow')).json.shardOwners ?? []).includes('C'));
    await new Promise((r) => setTimeout(r, 500));
    writing = false;
    await writer;
    assert.ok(acknowledged.length >= 20, `${acknowledged.length} acknowledged`);
    for (const via of [0, 1, 2]) await allFound(api(via), 'grow', acknowledged);
    assert.equal((await c.get('/v1/indexes/grow')).json.ntotal, acknowledged.length);
    const owners: string[] = (await c.get('/v1/indexes/grow')).json.shardOwners;
    for (const n of ['A', 'B', 'C']) assert.ok(owners.filter((o) => o === n).length >= 1, owners.join());

    // Two shards over three nodes: one node holds none of them, and answers all the same.
    assert.equal((await api(2).post('/v1/indexes', { name: 'two', dimension: D, factory: 'IDMap2,Flat', shards: 2 })).status, 201);
    await until('two placed', async () => ((await c.get('/v1/indexes/two')).json.shardOwners ?? []).length === 2);
    const placed: string[] = (await c.get('/v1/indexes/two')).json.shardOwners;
    const none = ['A', 'B', 'C'].findIndex((n) => !placed.includes(n));
    assert.ok(none >= 0, placed.join());
    const ids = Array.from({ length: 50 }, (_, i) => 10_000 + i);
    const added = await api(none).post('/v1/indexes/two/add', { vectors: ids.map(vector), ids });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    await allFound(api(none), 'two', ids);
    const metrics = (await client(nodes[none].url, nodes[none].adminKey).get('/metrics')).bytes.toString('utf8');
    for (const n of ['A', 'B', 'C']) assert.match(metrics, new RegExp(`faiss_proxy_cluster_shards\\{node="${n}"\\} [1-9]`));
    assert.match(metrics, /faiss_proxy_shard_owner\{tenant="acme",index="two",shard="0",node="[ABC]"\} 1/);
    const overview = (await client(nodes[none].url, nodes[none].adminKey).get('/v1/admin/overview')).json;
    assert.deepEqual(
      overview.cluster.shards.filter((s: { index: string }) => s.index === 'two').map((s: { node: string }) => s.node),
      placed,
    );
  });

  it('a node SIGKILLed has its shards taken over: every acknowledged point is still found', async () => {
    const before: string[] = (await api(0).get('/v1/indexes/grow')).json.shardOwners;
    const ntotal = (await api(0).get('/v1/indexes/grow')).json.ntotal;
    assert.equal(ntotal, acknowledged.length);
    const victim = 1; // B
    assert.ok(before.includes('B'));
    await nodes[victim].stop('SIGKILL');
    await until('B\'s shards moved', async () => !((await api(0).get('/v1/indexes/grow')).json.shardOwners ?? ['B']).includes('B'), 30_000);
    for (const via of [0, 2]) {
      const info = await api(via).get('/v1/indexes/grow');
      assert.equal(info.json.ntotal, ntotal);
    }
    await allFound(api(2), 'grow', acknowledged);
  });
});
