// Every replica's HNSW graph is the same graph (docs/cluster.md, replica state):
// a rebuild past --rebuild-threshold is a step of applying the log record that
// crosses it (durable-index.ts applyTo, lib/collections CollectionState), a
// cluster node adds to a graph on one thread (native/graph_adds.h), and the
// levels of a graph read back from a snapshot are drawn as those of the copy
// that never left memory. The answers are approximate: with a small efSearch
// they show the graph, so replicas must answer the same queries bit for bit.
import { strict as assert } from 'node:assert';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 16;
/** Rows in clusters around a few centres (a graph's shape decides which of a cluster's rows a narrow search finds), from a fixed seed. */
function rows(n: number, seed: number): number[][] {
  let s = seed >>> 0;
  const next = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  const centres = Array.from({ length: 8 }, () => Array.from({ length: D }, () => next() * 10));
  return Array.from({ length: n }, (_, i) => centres[i % centres.length].map((c) => c + next()));
}
/** Adds go in batches of at most 100: FAISS links a batch's vertices on one thread below that, so only what this file is about can differ. */
const BATCH = 100;
const batches = <T>(all: T[]): T[][] => Array.from({ length: Math.ceil(all.length / BATCH) }, (_, i) => all.slice(i * BATCH, (i + 1) * BATCH));
const queries = rows(200, 99);

type Api = ReturnType<typeof client>;

/**
 * A read through `n` once it has applied the log through `version`. A 503 (a node
 * still behind, or a load that raced a shared snapshot's trim: docs/cluster.md) is
 * what a client retries: asked again, a few times.
 */
async function readThrough(n: Api, route: string, body: object | undefined, version: number): Promise<unknown> {
  const headers = { 'X-Min-Sequence': String(version) };
  for (let tries = 1; ; tries++) {
    const r = body === undefined ? await n.get(route, { headers }) : await n.post(route, body, { headers });
    if (r.status === 503 && tries < 12) continue;
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return r.json;
  }
}

/** Each node's answer to the same queries, once it has applied the log through `version`. */
const answers = (api: Api[], route: string, body: object, version: number): Promise<unknown[]> => Promise.all(api.map((n) => readThrough(n, route, body, version)));

function assertSameAnswers(all: unknown[], names: string[]): void {
  for (let i = 1; i < all.length; i++) assert.deepEqual(all[i], all[0], `node ${names[i]} answers otherwise than node ${names[0]}`);
}

describe('cluster: every replica rebuilds the same HNSW graph', function () {
  this.timeout(240_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  // Snapshots every few records, so a restarted node loads one and replays the rest.
  const args = ['--snapshot-log-bytes', '32768'];
  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B', 'C'], { args })));
  after(() => stopCluster(nats, nodes));
  const apis = () => nodes.map((n) => client(n.url, keys.write));
  const names = () => nodes.map((n) => n.node);

  it('an index: adds and removes through every node past the rebuild threshold; the same answers, labels and distances, on every node', async () => {
    const api = apis();
    const created = await api[0].post('/v1/indexes', { name: 'g', dimension: D, factory: 'HNSW16', params: { efSearch: 4 } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const data = rows(2_000, 1);
    let version = 0;
    for (const [i, batch] of batches(data).entries()) {
      const added = await api[i % 3].post('/v1/indexes/g/add', { vectors: batch });
      assert.equal(added.status, 200, JSON.stringify(added.json));
      version = Math.max(version, Number(added.headers.get('x-index-version')));
    }
    // A quarter removed (the threshold is 10%), through the three nodes.
    for (let part = 0; part < 5; part++) {
      const ids = Array.from({ length: 100 }, (_, i) => 4 * (100 * part + i));
      const removed = await api[part % 3].post('/v1/indexes/g/remove', { ids });
      assert.equal(removed.status, 200, JSON.stringify(removed.json));
      version = Math.max(version, Number(removed.headers.get('x-index-version')));
    }
    // Adds after the rebuild: to the rebuilt graph.
    for (const [i, batch] of batches(rows(300, 2)).entries()) {
      const added = await api[(i + 1) % 3].post('/v1/indexes/g/add', { vectors: batch });
      assert.equal(added.status, 200, JSON.stringify(added.json));
      version = Math.max(version, Number(added.headers.get('x-index-version')));
    }
    const all = await answers(api, '/v1/indexes/g/search', { vectors: queries, k: 10 }, version);
    assertSameAnswers(all, names());
    // No removed id answers.
    const labels = (all[0] as { labels: number[][] }).labels.flat();
    assert.ok(labels.every((l) => l < 0 || l >= 2_000 || l % 4 !== 0), 'a removed id answered');
  });

  it('a collection over HNSW: upserts and deletes past the rebuild threshold; the same hits on every node', async () => {
    const api = apis();
    const created = await api[0].post('/v1/collections', { name: 'gc', dimension: D, factory: 'HNSW16' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const data = rows(2_000, 3);
    let version = 0;
    const points = data.map((vector, j) => ({ id: `p${j}`, vector }));
    for (const [i, batch] of batches(points).entries()) {
      const up = await api[i % 3].put('/v1/collections/gc/points', { json: { points: batch } });
      assert.equal(up.status, 200, JSON.stringify(up.json));
      version = Math.max(version, Number(up.headers.get('x-index-version')));
    }
    for (let part = 0; part < 5; part++) {
      const ids = Array.from({ length: 100 }, (_, i) => `p${4 * (100 * part + i)}`);
      const deleted = await api[part % 3].post('/v1/collections/gc/points/delete', { ids });
      assert.equal(deleted.status, 200, JSON.stringify(deleted.json));
      version = Math.max(version, Number(deleted.headers.get('x-index-version')));
    }
    const all = await answers(api, '/v1/collections/gc/search', { vectors: queries, k: 10, efSearch: 4, withPayload: false }, version);
    assertSameAnswers(all, names());
  });

  it('a node killed, a rebuild while it is down, the node restarted from its snapshot: it builds on the same graph as the nodes that applied the log live', async () => {
    let api = apis();
    const created = await api[0].post('/v1/indexes', { name: 'r', dimension: D, factory: 'HNSW16', params: { efSearch: 4 } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    let version = 0;
    const add = async (through: Api, batch: number[][]) => {
      const added = await through.post('/v1/indexes/r/add', { vectors: batch });
      assert.equal(added.status, 200, JSON.stringify(added.json));
      version = Math.max(version, Number(added.headers.get('x-index-version')));
    };
    for (const batch of batches(rows(1_000, 4))) await add(api[0], batch);
    // Every node has it loaded (from a shared snapshot, every 32 KB of records, and the stream); then B dies.
    for (const n of api) await readThrough(n, '/v1/indexes/r', undefined, version);
    await nodes[1].stop('SIGKILL');
    for (const batch of batches(rows(500, 5))) await add(api[0], batch);
    // Past the rebuild threshold while B is down: B rebuilds in its replay, or loads a snapshot of the rebuilt graph.
    const removed = await api[2].post('/v1/indexes/r/remove', { ids: Array.from({ length: 300 }, (_, i) => 3 * i) });
    assert.equal(removed.status, 200, JSON.stringify(removed.json));
    version = Math.max(version, Number(removed.headers.get('x-index-version')));
    nodes[1] = await startProxyNode(nats, 'B', nodes[0].adminKey, { dataDir: nodes[1].dataDir, args });
    api = apis();
    await readThrough(api[1], '/v1/indexes/r', undefined, version);
    // Adds after B is back: B adds them to the graph it read from its snapshot and the log.
    for (const [i, batch] of batches(rows(1_000, 6)).entries()) await add(api[i % 3], batch);
    const all = await answers(api, '/v1/indexes/r/search', { vectors: queries, k: 10 }, version);
    assertSameAnswers(all, names());
  });
});
