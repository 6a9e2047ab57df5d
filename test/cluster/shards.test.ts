// A cluster's sharded indexes (domain/sharded-indexes.ts, docs/cluster.md): a
// sharded Flat index answers exactly as one index with the same data (labels and
// distances, ties and -1 padding, L2 and IP, several k; filtered searches and
// range searches; removes by filter, the same key's retry applied once, and a
// shard's next owner replaying them from its stream); a request through a
// node holding none of an index's shards is forwarded; a node joining takes
// shards over and a node SIGKILLed has its shards taken over, with every
// acknowledged point still found; hostile shard counts are 4xx.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { hashedVector } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, until, type ProxyNode } from '../support/proxy-cluster';
import { client, startServer } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';
import { connect } from '../../lib/client';
import { shardsOf } from '../../service/domain/shards';

const D = 8;
const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');
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

/** Filters that keep few of the 300 points, most of them, none, and a bitmap's. */
const FILTERS = [
  { ids: [5, 17, 201, 202, 208, 299, 123456] },
  { not: { idRange: [100, 130] } },
  { idRange: [5000, 6000] },
  { bitmap: Buffer.from(Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? 0xa5 : 0))).toString('base64') },
];

type TopK = { distances: number[][]; labels: number[][] };

/**
 * The same top-k: L2 exactly; IP exactly but for which of the vectors tied at a
 * row's k-th distance it keeps, which in one FAISS index depends on when its
 * heap's threshold reached that distance (docs/cluster.md): the same distances,
 * the same labels before them, and as many tied ones, none listed twice.
 */
function sameTopK(got: TopK, want: TopK, metric: string, what: string): void {
  if (metric === 'L2') return assert.deepEqual(got, want, what);
  assert.deepEqual(got.distances, want.distances, what);
  got.labels.forEach((row, q) => {
    const last = want.distances[q][row.length - 1];
    const tied = (i: number) => want.labels[q][i] !== -1 && want.distances[q][i] === last;
    assert.deepEqual(row.filter((_, i) => !tied(i)), want.labels[q].filter((_, i) => !tied(i)), `${what}, query ${q}`);
    const found = row.filter((l) => l !== -1);
    assert.equal(new Set(found).size, found.length, `${what}, query ${q}: ${row.join()}`);
  });
}

/** `sharded` answers through `via` as `one` (searches with and without each filter: sameTopK; range searches: exactly). */
async function sameAnswers(via: Api, ref: Api, one: string, sharded: string, what: string): Promise<void> {
  const metric = one.endsWith('IP') ? 'IP' : 'L2';
  const queries = Array.from({ length: 21 }, (_, q) => (q % 3 === 0 ? vector(q % 7) : vector(1000 + q)));
  for (const filter of [undefined, ...FILTERS]) {
    for (const k of [1, 7, 40]) {
      const body = { vectors: queries, k, ...(filter && { filter }) };
      const want = await ref.post(`/v1/indexes/${one}/search`, body);
      const got = await via.post(`/v1/indexes/${sharded}/search`, body);
      assert.equal(got.status, 200, JSON.stringify(got.json));
      sameTopK(got.json, want.json, metric, `${what}: search k ${k} filter ${JSON.stringify(filter)}`);
    }
  }
  // Radii that take each query's 12 nearest of the one index (nq 1: FAISS's sequential code; 21: its BLAS code).
  const knn = await ref.post(`/v1/indexes/${one}/search`, { vectors: queries, k: 12 });
  for (const [nq, filter] of [[21, undefined], [1, undefined], [21, FILTERS[1]], [5, FILTERS[2]]] as const) {
    const radius = knn.json.distances[0][11];
    const body = { vectors: queries.slice(0, nq), radius, ...(filter && { filter }) };
    const want = await ref.post(`/v1/indexes/${one}/range_search`, body);
    const got = await via.post(`/v1/indexes/${sharded}/range_search`, body);
    assert.equal(got.status, 200, JSON.stringify(got.json));
    assert.deepEqual(got.json, want.json, `${what}: range_search nq ${nq} filter ${JSON.stringify(filter)}`);
    if (!filter) assert.ok(got.json.results.some((r: { labels: number[] }) => r.labels.length > 1), 'range results to compare');
  }
}

describe('cluster: sharded indexes', function () {
  this.timeout(180_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  const api = (i: number): Api => client(nodes[i].url, keys.write);
  /** The points of index grow whose add was acknowledged. */
  const acknowledged: number[] = [];
  const api0Info = async (name: string) => (await api(0).get(`/v1/indexes/${name}`)).json;
  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B'])));
  after(() => stopCluster(nats, nodes));

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
      // What one index answers 4xx, a sharded one answers the same, whichever node its shard is on.
      const gone = await api(1).post(`/v1/indexes/${sharded}/reconstruct`, { ids: [5, 2] });
      const goneOne = await api(1).post(`/v1/indexes/${one}/reconstruct`, { ids: [5, 123456] });
      assert.equal(gone.status, goneOne.status, JSON.stringify(gone.json));
      assert.equal(gone.json.error.code, goneOne.json.error.code);
      assert.equal((await api(0).post(`/v1/indexes/${sharded}/add`, { vectors: [vector(1)], ids: [1, 2] })).status, 400);
      assert.equal((await api(0).post(`/v1/indexes/${sharded}/search`, { vectors: [[1, 2]], k: 1 })).status, 400);
    }
  });

  it('filtered and range searches, and removes by filter, answer as one index does; a key\'s retry is applied once', async () => {
    for (const metric of ['L2', 'IP']) {
      const one = `one${metric}`;
      const sharded = `sharded${metric}`;
      // The same points in both (the test before removed these from the sharded one).
      assert.equal((await api(0).post(`/v1/indexes/${one}/remove`, { ids: [1, 2, 3, 250] })).json.removed, 4);
      await sameAnswers(api(1), api(0), one, sharded, metric);
      // Remove by filter: what one index removes, summed over the shards.
      const filter = { or: [{ idRange: [40, 60] }, { ids: [7, 299, 2, 123456] }, { not: { idRange: [-1000, 290] } }] };
      const want = await api(0).post(`/v1/indexes/${one}/remove`, { filter });
      const got = await api(0).post(`/v1/indexes/${sharded}/remove`, { filter }, { headers: { 'Idempotency-Key': `rf-${metric}` } });
      assert.equal(got.status, 200, JSON.stringify(got.json));
      assert.deepEqual(got.json, want.json);
      assert.equal(got.json.removed, 20 + 1 + 10); // 40..59, 7, 290..299
      for (const via of [0, 1]) await sameAnswers(api(via), api(0), one, sharded, `${metric} after the remove, through ${via}`);
    }
    // The same key again after the removed ids came back: answered with the first result, nothing removed again.
    const back = Array.from({ length: 20 }, (_, i) => 40 + i);
    assert.equal((await api(1).post('/v1/indexes/shardedIP/add', { vectors: back.map(vector), ids: back })).status, 200);
    const ntotal = (await api(1).get('/v1/indexes/shardedIP')).json.ntotal;
    const filter = { or: [{ idRange: [40, 60] }, { ids: [7, 299, 2, 123456] }, { not: { idRange: [-1000, 290] } }] };
    const again = await api(1).post('/v1/indexes/shardedIP/remove', { filter }, { headers: { 'Idempotency-Key': 'rf-IP' } });
    assert.equal(again.status, 200, JSON.stringify(again.json));
    assert.equal(again.json.removed, 31);
    assert.equal((await api(0).get('/v1/indexes/shardedIP')).json.ntotal, ntotal);
    assert.deepEqual((await api(0).post('/v1/indexes/shardedIP/reconstruct', { ids: back })).json.vectors, back.map(vector));
    const other = await api(1).post('/v1/indexes/shardedIP/remove', { filter: { idRange: [40, 60] } }, { headers: { 'Idempotency-Key': 'rf-IP' } });
    assert.equal(other.status, 422, JSON.stringify(other.json));
    assert.equal(other.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
    assert.equal((await api(0).post('/v1/indexes/shardedIP/remove', { ids: back })).json.removed, 20); // as oneIP again
    // A filter too large for one NATS message to a shard: 413 saying so, for searches and removes alike; a remove
    // refused so removes nothing, not even on the shards of the node that took it.
    const ofShard = [0, 1, 2].map((s) => [10, 11, 12, 13, 14, 15, 16, 17, 18, 19].find((id) => shardsOf(BigInt64Array.of(BigInt(id)), 3)[0] === s)!);
    const huge = { or: [{ ids: ofShard }, { ids: Array.from({ length: 150_000 }, (_, i) => 1_000_000 + i) }] };
    const version = (await api(0).get('/v1/indexes/shardedL2')).headers.get('x-index-version');
    for (const [route, body] of [['search', { vectors: [vector(1)], k: 3, filter: huge }], ['range_search', { vectors: [vector(1)], radius: 1, filter: huge }], ['remove', { filter: huge }]] as const) {
      const r = await api(0).post(`/v1/indexes/shardedL2/${route}`, body);
      assert.equal(r.status, 413, `${route}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'ERR_PAYLOAD_TOO_LARGE');
    }
    await new Promise((r) => setTimeout(r, 1_000)); // a part sent all the same would have been applied by now
    assert.equal((await api(0).get('/v1/indexes/shardedL2')).headers.get('x-index-version'), version, 'no shard wrote');
    assert.equal((await api(1).post('/v1/indexes/shardedL2/reconstruct', { ids: ofShard })).status, 200, 'every shard still holds its id');
    // Every shard caught up: the lag each node's heartbeat tells is 0, and so is each sharded index's on /metrics.
    const admin = client(nodes[0].url, nodes[0].adminKey);
    await until('lag 0 in the heartbeats', async () => {
      const metrics = (await admin.get('/metrics')).bytes.toString('utf8');
      return /faiss_proxy_cluster_node_lag\{node="A"\} 0\n/.test(metrics) && /faiss_proxy_cluster_node_lag\{node="B"\} 0\n/.test(metrics);
    });
    const metrics = (await admin.get('/metrics')).bytes.toString('utf8');
    assert.match(metrics, /faiss_proxy_index_replica_lag\{tenant="acme",index="shardedL2"\} 0\n/);
    const overview = (await admin.get('/v1/admin/overview')).json;
    assert.deepEqual(overview.cluster.nodes.map((n: { lag: number }) => n.lag), [0, 0]);
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
    // Its shards, trained alike, merge into one IVF file (test/cluster/shard-backup.test.ts); a file of another type is refused.
    const exported = await api(0).get('/v1/indexes/ivf/export');
    assert.equal(exported.status, 200, JSON.stringify(exported.json));
    const flat = await api(0).get('/v1/indexes/oneL2/export');
    const imported = await api(1).put('/v1/indexes/ivf/import', { body: flat.bytes });
    assert.equal(imported.status, 422, JSON.stringify(imported.json));
    assert.match(imported.json.error.message, /IndexIVFFlat/);
    // Deleted through one node: gone through the other, and its streams with it.
    assert.equal((await api(1).del('/v1/indexes/ivf')).status, 204);
    await until('ivf gone on A', async () => (await api(0).get('/v1/indexes/ivf')).status === 404);
  });

  it('a sharded flat index exports what one index with the same data exports, and takes an import split over its shards by id', async () => {
    // Over 13,107 rows a shard (512 KiB pages of 8 floats and an id): each shard is read in several pages.
    const ids = Array.from({ length: 45_000 }, (_, i) => 10_000 + 13 * i);
    const gone = [ids[3], ids[150], ids[44_999]];
    for (const name of ['gatherOne', 'gatherSharded']) {
      const created = await api(0).post('/v1/indexes', { name, dimension: D, factory: 'IDMap2,Flat', ...(name === 'gatherSharded' && { shards: 3 }) });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      // The same vectors under the same ids, in id order, through both nodes; the same removed.
      for (let at = 0; at < ids.length; at += 5_000) {
        const some = ids.slice(at, at + 5_000);
        assert.equal((await api(at % 10_000 === 0 ? 0 : 1).post(`/v1/indexes/${name}/add`, { vectors: some.map(vector), ids: some })).status, 200);
      }
      assert.equal((await api(1).post(`/v1/indexes/${name}/remove`, { ids: gone })).json.removed, 3);
    }
    const one = await api(0).get('/v1/indexes/gatherOne/export');
    assert.equal(one.status, 200);
    for (const via of [0, 1]) {
      const gathered = await api(via).get('/v1/indexes/gatherSharded/export');
      assert.equal(gathered.status, 200, JSON.stringify(gathered.json));
      assert.ok(gathered.bytes.equals(one.bytes), `through ${nodes[via].node}: ${gathered.bytes.length} bytes, one index's ${one.bytes.length}`);
    }
    // A file of positional ids (IndexFlatL2, from a single index's export) into the sharded index and into a new whole one.
    const plain = await api(0).post('/v1/indexes', { name: 'plainFlat', dimension: D, factory: 'Flat' });
    assert.equal(plain.status, 201);
    assert.equal((await api(0).post('/v1/indexes/plainFlat/add', { vectors: Array.from({ length: 120 }, (_, i) => vector(20_000 + i)) })).status, 200);
    const file = (await api(1).get('/v1/indexes/plainFlat/export')).bytes;
    const intoSharded = await api(1).put('/v1/indexes/gatherSharded/import', { body: file });
    assert.equal(intoSharded.status, 200, JSON.stringify(intoSharded.json));
    assert.equal(intoSharded.json.ntotal, 120);
    assert.equal(intoSharded.json.shards, 3);
    assert.equal((await api(0).put('/v1/indexes/wholeCopy/import', { body: file })).status, 201);
    const queries = Array.from({ length: 30 }, (_, q) => vector(q % 2 === 0 ? 20_000 + q : 90_000 + q));
    for (const k of [1, 7]) {
      const want = await api(0).post('/v1/indexes/wholeCopy/search', { vectors: queries, k });
      const got = await api(1).post('/v1/indexes/gatherSharded/search', { vectors: queries, k });
      assert.deepEqual(got.json.labels, want.json.labels, `k ${k}`);
      assert.deepEqual(got.json.distances, want.json.distances, `k ${k}`);
    }
    // A file of another dimension, and a hostile one: refused, and the shards keep what they hold.
    const other = await api(0).post('/v1/indexes', { name: 'wide', dimension: D * 2, factory: 'Flat' });
    assert.equal(other.status, 201);
    const wide = await api(0).put('/v1/indexes/gatherSharded/import', { body: (await api(0).get('/v1/indexes/wide/export')).bytes });
    assert.equal(wide.status, 422, JSON.stringify(wide.json));
    const cut = await api(0).put('/v1/indexes/gatherSharded/import', { body: file.subarray(0, file.length - 9) });
    assert.equal(cut.status, 400, JSON.stringify(cut.json));
    assert.equal((await api(0).get('/v1/indexes/gatherSharded')).json.ntotal, 120);
  });

  it('faiss-proxy import puts a vector file into a sharded index under its row numbers, and export reads it back', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sharded-cli-'));
    const rows = Array.from({ length: 250 }, (_, i) => vector(30_000 + i));
    const file = path.join(dir, 'vectors.f32');
    fs.writeFileSync(file, new Uint8Array(new Float32Array(rows.flat()).buffer));
    assert.equal((await api(0).post('/v1/indexes', { name: 'cliSharded', dimension: D, factory: 'IDMap2,Flat', shards: 3 })).status, 201);
    const env = { ...process.env, FAISS_PROXY_API_KEY: keys.write };
    const cli = (...args: string[]) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
        execFile(process.execPath, [CLI, ...args], { env, encoding: 'utf8', timeout: 60_000 }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err })),
      );
    const imported = await cli('import', '--url', nodes[1].url, '--index', 'cliSharded', '--dim', String(D), '--chunk-rows', '100', '--progress', 'none', file);
    assert.equal(imported.code, 0, imported.err);
    assert.equal(JSON.parse(imported.out).ntotal, rows.length);
    const some = rows.map((_, i) => i).filter((i) => i % 5 === 0);
    const found = await api(0).post('/v1/indexes/cliSharded/search', { vectors: some.map((i) => rows[i]), k: 1 });
    assert.deepEqual(found.json.labels.map((l: number[]) => l[0]), some);
    const back = path.join(dir, 'back.f32');
    const exported = await cli('export', '--url', nodes[0].url, '--index', 'cliSharded', '--progress', 'none', back);
    assert.equal(exported.code, 0, exported.err);
    assert.ok(fs.readFileSync(back).equals(fs.readFileSync(file)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a sharded binary IVF index answers as one index does (labels and Hamming distances)', async () => {
    const code = (i: number): string => Buffer.from(vector(i).map((v) => Math.floor(v * 255))).toString('base64');
    const rows = Array.from({ length: 120 }, (_, i) => code(i));
    const ids = rows.map((_, i) => 300 + i);
    for (const [name, shards] of [['bone', 1], ['bsharded', 3]] as const) {
      assert.equal((await api(0).post('/v1/indexes', { name, dimension: 64, factory: 'BIVF2', shards })).status, 201);
      // B knows of it once its catalog watch delivers the record (milliseconds; longer on a loaded machine).
      await until(`B knows ${name}`, async () => (await api(1).get(`/v1/indexes/${name}`)).status === 200);
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
    // Range searches too; a remove by filter is refused as one index refuses it (binary indexes remove by ids only).
    const ranges = { codes: [code(3), code(77)], radius: 20, nprobe: 2 };
    const wantRanges = await api(1).post('/v1/indexes/bone/range_search', ranges);
    const gotRanges = await api(0).post('/v1/indexes/bsharded/range_search', ranges);
    assert.equal(gotRanges.status, 200, JSON.stringify(gotRanges.json));
    const byId = (r: { distances: number[]; labels: number[] }) => r.labels.map((l, i) => [l, r.distances[i]]).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(gotRanges.json.results.map(byId), wantRanges.json.results.map(byId));
    const removeBy = { filter: { idRange: [300, 310] } };
    const refused = await api(0).post('/v1/indexes/bsharded/remove', removeBy);
    const refusedOne = await api(0).post('/v1/indexes/bone/remove', removeBy);
    assert.equal(refused.status, refusedOne.status, JSON.stringify(refused.json));
    assert.equal(refused.json.error.code, refusedOne.json.error.code);
    // Neither exported nor imported: its shards can be neither merged nor checked id by id (docs/cluster.md).
    const exported = await api(1).get('/v1/indexes/bsharded/export');
    assert.equal(exported.status, 422, JSON.stringify(exported.json));
    assert.match(exported.json.error.message, /binary/);
    const imported = await api(0).put('/v1/indexes/bsharded/import', { body: (await api(0).get('/v1/indexes/bone/export')).bytes });
    assert.equal(imported.status, 422, JSON.stringify(imported.json));
    assert.match(imported.json.error.message, /binary/);
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
    await until('writes acknowledged before C joins', async () => acknowledged.length >= 20);
    nodes.push(await startProxyNode(nats, 'C', nodes[0].adminKey));
    const c = api(2);
    await until('C owns shards of grow', async () => ((await c.get('/v1/indexes/grow')).json.shardOwners ?? []).includes('C'));
    const atTakeOver = acknowledged.length;
    await until('writes acknowledged after C took shards over', async () => acknowledged.length > atTakeOver);
    writing = false;
    await writer;
    assert.ok(acknowledged.length >= 20, `${acknowledged.length} acknowledged`);
    for (const via of [0, 1, 2]) await allFound(api(via), 'grow', acknowledged);
    assert.equal((await c.get('/v1/indexes/grow')).json.ntotal, acknowledged.length);
    const owners: string[] = (await c.get('/v1/indexes/grow')).json.shardOwners;
    for (const n of ['A', 'B', 'C']) assert.ok(owners.filter((o) => o === n).length >= 1, owners.join());
    // Placement balances every index's shards and the nodes' totals: each 3-shard index has one shard on C, which C
    // loaded from the shard's stream (the removes by filter in it logged by ids): its answers are one index's still.
    for (const metric of ['L2', 'IP']) {
      await until(`C owns a shard of sharded${metric}`, async () => ((await c.get(`/v1/indexes/sharded${metric}`)).json.shardOwners ?? []).includes('C'));
      assert.deepEqual([...(await c.get(`/v1/indexes/sharded${metric}`)).json.shardOwners].sort(), ['A', 'B', 'C']);
      await sameAnswers(c, api(0), `one${metric}`, `sharded${metric}`, `${metric} through C, which took a shard`);
    }

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
