// A cluster's replicas (domain/durable.ts mutateReplicated, cluster/replicated-log.ts):
// a write through one node is read through another with X-Min-Sequence; writes
// through every node at once leave every replica with the same ids and state;
// an Idempotency-Key keeps its meaning across nodes.
import { strict as assert } from 'node:assert';
import { execFile, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { NatsCluster } from '../support/nats-cluster';
import type { ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';
import { connect } from '../../lib/client/connect';
import { METRIC_L2 } from '../../lib/constants';

const D = 8;
const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');
/** Vectors whose nearest neighbour is unmistakable: row i is (shift + i) / 100 on every coordinate (small: FAISS's L2 expansion stays exact enough). */
const vectors = (n: number, shift: number): number[][] => Array.from({ length: n }, (_, i) => Array.from({ length: D }, () => (shift + i) / 100));

describe('cluster: replicas of an index', function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant()));
  after(() => stopCluster(nats, nodes));

  it('a write through A is read through B and C with X-Min-Sequence', async () => {
    const [a, b, c] = nodes.map((n) => client(n.url, keys.write));
    assert.equal((await a.post('/v1/indexes', { name: 'ryw', dimension: D, type: 'IndexFlatL2' })).status, 201);
    const added = await a.post('/v1/indexes/ryw/add', { vectors: vectors(5, 100) });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.equal(added.json.firstId, 0);
    const version = added.headers.get('x-index-version')!;
    assert.ok(Number(version) >= 1, `version ${version}`);
    for (const node of [b, c]) {
      const found = await node.post('/v1/indexes/ryw/search', { vectors: [vectors(5, 100)[3]], k: 1 }, { headers: { 'X-Min-Sequence': version } });
      assert.equal(found.status, 200, JSON.stringify(found.json));
      assert.deepEqual(found.json.labels, [[3]]);
      assert.ok(Number(found.headers.get('x-index-version')) >= Number(version));
    }
    // A sequence no write reached yet: a bounded wait, then 503 with Retry-After.
    const ahead = await b.post('/v1/indexes/ryw/search', { vectors: [vectors(1, 0)[0]], k: 1 }, { headers: { 'X-Min-Sequence': String(Number(version) + 1000) } });
    assert.equal(ahead.status, 503);
    assert.equal(ahead.json.error.code, 'ERR_REPLICA_BEHIND');
    assert.equal(ahead.headers.get('retry-after'), '1');
    assert.equal((await b.post('/v1/indexes/ryw/search', { vectors: [vectors(1, 0)[0]], k: 1 }, { headers: { 'X-Min-Sequence': 'soon' } })).status, 400);
  });

  it('minSequence as a query parameter or a body field reads a write through A back through B and C', async () => {
    const [a, b, c] = nodes.map((n) => client(n.url, keys.write));
    assert.equal((await a.post('/v1/indexes', { name: 'ryw2', dimension: D, type: 'IndexFlatL2' })).status, 201);
    for (let round = 0; round < 5; round++) {
      const added = await a.post('/v1/indexes/ryw2/add', { vectors: vectors(1, 100 + round) });
      assert.equal(added.status, 200, JSON.stringify(added.json));
      const version = Number(added.headers.get('x-index-version'));
      const byQuery = await b.get(`/v1/indexes/ryw2?minSequence=${version}`);
      assert.equal(byQuery.status, 200, JSON.stringify(byQuery.json));
      assert.equal(byQuery.json.ntotal, round + 1);
      const byBody = await c.post('/v1/indexes/ryw2/search', { vectors: vectors(1, 100 + round), k: 1, minSequence: version });
      assert.equal(byBody.status, 200, JSON.stringify(byBody.json));
      assert.deepEqual(byBody.json.labels, [[round]]);
    }
  });

  it('the remote client with readYourWrites, its calls spread over the nodes, always reads its own writes', async () => {
    // A load balancer in front of the three nodes: each call goes to the next node.
    let turn = 0;
    const spread: typeof fetch = (input, init) => {
      const url = new URL(String(input));
      const node = new URL(nodes[turn++ % nodes.length].url);
      url.host = node.host;
      return fetch(url, init);
    };
    const faiss = connect({ url: nodes[0].url, apiKey: keys.write, readYourWrites: true, fetch: spread });
    const index = faiss.indexFactory(D, 'Flat', METRIC_L2, { name: 'spread' });
    for (let i = 0; i < 12; i++) {
      await index.add(new Float32Array(vectors(1, 200 + i).flat()));
      assert.equal((await index.refresh()).ntotal, i + 1);
      const { labels } = await index.search(new Float32Array(vectors(1, 200 + i).flat()), 1);
      assert.equal(labels[0], BigInt(i));
    }
  });

  it('faiss-proxy import through A, killed and run again: every vector once, in file order, read through B and C', async () => {
    const rows = 1_200;
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-import-')), 'vectors.f32');
    fs.writeFileSync(file, new Uint8Array(new Float32Array(vectors(rows, 0).flat()).buffer));
    const args = [CLI, 'import', '--url', nodes[0].url, '--index', 'imported', '--factory', 'Flat', '--dim', String(D), '--chunk-rows', '10', '--progress', 'none', file];
    const env = { ...process.env, FAISS_PROXY_API_KEY: keys.write };
    const a = client(nodes[0].url, keys.write);
    // The first run, killed once some of its chunks are in.
    const first = spawn(process.execPath, args, { env, stdio: 'ignore' });
    let atKill = 0;
    for (;;) {
      const info = await a.get('/v1/indexes/imported');
      if (info.status === 200 && info.json.ntotal >= 100) {
        first.kill('SIGKILL');
        atKill = info.json.ntotal;
        break;
      }
      if (first.exitCode !== null) assert.fail('the import ended before it could be interrupted');
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => first.once('exit', r));
    assert.ok(atKill < rows, `killed at ${atKill} of ${rows}`);
    // Run again: what is in is not added twice.
    const second = await new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
      execFile(process.execPath, args, { env, encoding: 'utf8', timeout: 90_000 }, (e, out, err) => resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err })),
    );
    assert.equal(second.code, 0, second.err);
    assert.equal(JSON.parse(second.out).ntotal, rows);
    for (const n of nodes.slice(1)) {
      const api = client(n.url, keys.read);
      const info = await api.get('/v1/indexes/imported');
      const version = Number(info.headers.get('x-index-version'));
      const top = Number((await a.get('/v1/indexes/imported')).headers.get('x-index-version'));
      assert.ok(version <= top);
      const found = await api.post('/v1/indexes/imported/search', { vectors: vectors(rows, 0).filter((_, i) => i % 97 === 0), k: 1, minSequence: top });
      assert.equal(found.status, 200, JSON.stringify(found.json));
      assert.deepEqual(found.json.labels, vectors(rows, 0).map((_, i) => i).filter((i) => i % 97 === 0).map((i) => [i]));
      assert.equal((await api.get(`/v1/indexes/imported?minSequence=${top}`)).json.ntotal, rows);
    }
  });

  it('writes through every node at once: every replica has the same ids and answers', async () => {
    const api = nodes.map((n) => client(n.url, keys.write));
    assert.equal((await api[1].post('/v1/indexes', { name: 'many', dimension: D, type: 'IndexFlatL2' })).status, 201);
    const writes = await Promise.all(
      Array.from({ length: 30 }, (_, i) => api[i % 3].post('/v1/indexes/many/add', { vectors: vectors(4, 10 * i) }, { headers: { 'Idempotency-Key': `w${i}` } })),
    );
    for (const w of writes) assert.equal(w.status, 200, JSON.stringify(w.json));
    // Numbering follows the log's order: the 30 adds took 30 distinct runs of 4 ids.
    const firsts = writes.map((w) => w.json.firstId as number).sort((x, y) => x - y);
    assert.deepEqual(firsts, Array.from({ length: 30 }, (_, i) => 4 * i));
    const top = String(Math.max(...writes.map((w) => Number(w.headers.get('x-index-version')))));
    const queries = vectors(30, 0).map((_, i) => vectors(4, 10 * i)[2]);
    const answers = await Promise.all(api.map((n) => n.post('/v1/indexes/many/search', { vectors: queries, k: 3 }, { headers: { 'X-Min-Sequence': top } })));
    for (const r of answers) assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(answers[1].json, answers[0].json);
    assert.deepEqual(answers[2].json, answers[0].json);
    writes.forEach((w, i) => assert.equal(answers[0].json.labels[i][0], w.json.firstId + 2));

    // The same key again, through another node: the first answer, nothing added.
    const again = await api[2].post('/v1/indexes/many/add', { vectors: vectors(4, 0) }, { headers: { 'Idempotency-Key': 'w0' } });
    assert.equal(again.status, 200);
    assert.equal(again.json.firstId, writes[0].json.firstId);
    const reused = await api[1].post('/v1/indexes/many/add', { vectors: vectors(4, 7) }, { headers: { 'Idempotency-Key': 'w0' } });
    assert.equal(reused.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
    const info = await Promise.all(api.map((n) => n.get('/v1/indexes/many', { headers: { 'X-Min-Sequence': top } })));
    for (const r of info) assert.equal(r.json.ntotal, 120);
  });

  it('removes by filter through two nodes while adds go through a third: every replica removes the same ids', async () => {
    const api = nodes.map((n) => client(n.url, keys.write));
    assert.equal((await api[0].post('/v1/indexes', { name: 'rm', dimension: D, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api[0].post('/v1/indexes/rm/add', { vectors: vectors(40, 0) })).status, 200);
    // Each remove selects by range what is there when its turn comes; the adds land in between.
    const [adds, removeB, removeC] = await Promise.all([
      Promise.all(Array.from({ length: 5 }, (_, i) => api[0].post('/v1/indexes/rm/add', { vectors: vectors(4, 100 + 10 * i) }))),
      api[1].post('/v1/indexes/rm/remove', { filter: { idRange: [0, 50] } }),
      api[2].post('/v1/indexes/rm/remove', { filter: { idRange: [10, 60] } }),
    ]);
    for (const r of [...adds, removeB, removeC]) assert.equal(r.status, 200, JSON.stringify(r.json));
    const top = String(Math.max(...[...adds, removeB, removeC].map((r) => Number(r.headers.get('x-index-version')))));
    const answers = await Promise.all(api.map((n) => n.post('/v1/indexes/rm/search', { vectors: vectors(60, 0), k: 1 }, { headers: { 'X-Min-Sequence': top } })));
    for (const r of answers) assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(answers[1].json, answers[0].json);
    assert.deepEqual(answers[2].json, answers[0].json);
    // Each id removed once: what the two removes counted is what is gone.
    const info = await api[2].get('/v1/indexes/rm', { headers: { 'X-Min-Sequence': top } });
    assert.equal(info.json.ntotal, 60 - removeB.json.removed - removeC.json.removed);
  });

  it('a collection: an upsert through A read back through C with X-Min-Sequence', async () => {
    const [a, , c] = nodes.map((n) => client(n.url, keys.write));
    assert.equal((await a.post('/v1/collections', { name: 'docs', dimension: D })).status, 201);
    const upserted = await a.put('/v1/collections/docs/points', { json: { points: [{ id: 'p1', vector: vectors(1, 5)[0], payload: { k: 'v' } }] } });
    assert.equal(upserted.status, 200, JSON.stringify(upserted.json));
    const version = upserted.headers.get('x-index-version')!;
    assert.ok(Number(version) >= 1);
    const got = await c.post('/v1/collections/docs/points/get', { ids: ['p1'] }, { headers: { 'X-Min-Sequence': version } });
    assert.equal(got.status, 200, JSON.stringify(got.json));
    assert.equal(JSON.stringify(got.json).includes('"p1"'), true);
  });

  it("an index's creation parameters reach every replica", async () => {
    const api = nodes.map((n) => client(n.url, keys.write));
    const created = await api[0].post('/v1/indexes', { name: 'hnsw', dimension: D, factory: 'HNSW16', params: { efSearch: 77, efConstruction: 33 } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    for (const n of api) {
      const info = await n.get('/v1/indexes/hnsw');
      assert.equal(info.status, 200);
      assert.equal(info.json.efSearch, 77);
      assert.equal(info.json.efConstruction, 33);
    }
  });

  it('metrics and the overview show each node and its lag', async () => {
    const b = client(nodes[1].url, nodes[1].adminKey);
    const metrics = (await b.get('/metrics')).bytes.toString('utf8');
    assert.match(metrics, /faiss_proxy_cluster_node\{node="B"\} 1/);
    for (const n of ['A', 'B', 'C']) assert.match(metrics, new RegExp(`faiss_proxy_cluster_node_heartbeat_age_seconds\\{node="${n}"\\}`));
    assert.match(metrics, /faiss_proxy_index_replica_lag\{tenant="acme",index="many"\} 0/);
    const overview = (await b.get('/v1/admin/overview')).json;
    assert.equal(overview.cluster.node, 'B');
    assert.deepEqual(overview.cluster.nodes.map((n: { node: string }) => n.node), ['A', 'B', 'C']);
    assert.equal(overview.indexes.find((i: { name: string }) => i.name === 'many').replicaLag, 0);
  });
});
