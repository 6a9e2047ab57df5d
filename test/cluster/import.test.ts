// A cluster's import of an index file (domain/durable.ts importReplicated): the
// file goes to the object store, an import record naming it to a new stream, and
// every replica applies it; a node killed during it catches up when restarted;
// the file is deleted once a shared snapshot holds the import; a hostile file is
// refused as on a single node.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { indexFactory, serializeIndex } from '../../lib';
import { METRIC_INNER_PRODUCT, METRIC_L2, type MetricType } from '../../lib/constants';
import { hashedVector } from '../support/data';
import { hostileFlatFiles } from '../support/hostile-index-files';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 8;
const rows = (from: number, n: number): number[][] => Array.from({ length: n }, (_, i) => hashedVector(from + i, D));

/** A FAISS file of `factory` holding rows from..from+n, under the caller's ids when given. */
async function faissFile(factory: string, from: number, n: number, ids?: bigint[], metric: MetricType = METRIC_L2): Promise<Buffer> {
  const index = indexFactory(D, factory, metric);
  try {
    const x = new Float32Array(rows(from, n).flat());
    if (index.nprobe !== undefined) await index.train(x);
    if (ids) await index.addWithIds(x, new BigInt64Array(ids));
    else await index.add(x);
    return Buffer.from(await serializeIndex(index));
  } finally {
    index.dispose();
  }
}

describe('cluster: importing an index file', function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  const queries = rows(0, 40).map((v) => v.map((c) => c + 0.01));
  const put = (node: number, name: string, body: Uint8Array) => client(nodes[node].url, keys.write).put(`/v1/indexes/${name}/import`, { body });
  /** Every node's search answer, once each has applied `version`. */
  const answers = async (name: string, version: number) =>
    Promise.all(
      nodes.map(async (n) => {
        const r = await client(n.url, keys.read).post(`/v1/indexes/${name}/search`, { vectors: queries, k: 5 }, { headers: { 'X-Min-Sequence': String(version) } });
        assert.equal(r.status, 200, `${n.node}: ${JSON.stringify(r.json)}`);
        return r.json as { labels: number[][]; distances: number[][] };
      }),
    );
  /** The imported files left in the object store (each a `<storage id>.import`). */
  const importObjects = async (): Promise<string[]> => {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const store = await new Objm(nc).open('faiss-proxy-snapshots');
      return (await store.list()).map((o) => o.name).filter((n) => n.endsWith('.import'));
    } finally {
      await nc.close();
    }
  };
  const streams = async (): Promise<string[]> => {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      return (await (await jetstreamManager(nc)).streams.list().next()).map((s) => s.config.name).filter((n) => n.startsWith('FP_'));
    } finally {
      await nc.close();
    }
  };
  const eventually = async (what: string, check: () => Promise<boolean>) => {
    for (let t = 0; t < 100; t++) {
      if (await check()) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.fail(what);
  };

  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant()));
  after(() => stopCluster(nats, nodes));

  it('an index file imported through A is read identically through B and C, with its ids; a replacement through B too', async () => {
    const ids = Array.from({ length: 300 }, (_, i) => BigInt(1_000_000 + 7 * i));
    const created = await put(0, 'imp', await faissFile('IDMap2,Flat', 0, 300, ids));
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.type, 'IndexIDMap2');
    assert.equal(created.json.ntotal, 300);
    const first = await answers('imp', created.json.version);
    assert.deepEqual(first[0].labels.map((l) => l[0]), ids.slice(0, 40).map(Number));
    assert.deepEqual(first[1], first[0]);
    assert.deepEqual(first[2], first[0]);
    // A write after the import goes to the new stream and is read back everywhere.
    const added = await client(nodes[2].url, keys.write).post('/v1/indexes/imp/add', { vectors: rows(1_000, 1), ids: [5] });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    const withAdd = Number(added.headers.get('x-index-version'));
    assert.ok(withAdd > created.json.version);
    for (const n of nodes) {
      const r = await client(n.url, keys.read).get(`/v1/indexes/imp?minSequence=${withAdd}`);
      assert.equal(r.json.ntotal, 301, n.node);
    }

    // Replaced through B by an IP index of other vectors: a new type, metric and contents, and a later version.
    const replaced = await put(1, 'imp', await faissFile('Flat', 100, 200, undefined, METRIC_INNER_PRODUCT));
    assert.equal(replaced.status, 200, JSON.stringify(replaced.json));
    assert.equal(replaced.json.type, 'IndexFlatIP');
    assert.equal(replaced.json.metric, 'IP');
    assert.equal(replaced.json.ntotal, 200);
    assert.ok(replaced.json.version > withAdd, `version ${replaced.json.version} after ${withAdd}`);
    const second = await answers('imp', replaced.json.version);
    assert.deepEqual(second[0].labels[0].length, 5);
    assert.deepEqual(second[1], second[0]);
    assert.deepEqual(second[2], second[0]);
    for (const n of nodes) {
      const r = await client(n.url, keys.read).get('/v1/indexes/imp');
      assert.equal(r.json.factory, 'imported IndexFlatIP', n.node);
    }
    // The shared snapshot holds each import: their files go, and the replaced stream with them.
    await eventually('the imported files are deleted once a snapshot holds them', async () => (await importObjects()).length === 0);
    assert.equal((await streams()).length, 1);
  });

  it('a node killed before an import catches up when restarted', async () => {
    const before = await put(0, 'late', await faissFile('HNSW16', 0, 200));
    assert.equal(before.status, 201, JSON.stringify(before.json));
    // C holds the first import loaded (it follows that stream) when it dies.
    assert.equal((await client(nodes[2].url, keys.read).get(`/v1/indexes/late?minSequence=${before.json.version}`)).json.ntotal, 200);
    await nodes[2].stop('SIGKILL');
    const after = await put(1, 'late', await faissFile('IVF4,Flat', 500, 300));
    assert.equal(after.status, 200, JSON.stringify(after.json));
    nodes[2] = await startProxyNode(nats, 'C', nodes[0].adminKey, { dataDir: nodes[2].dataDir });
    const [a, b, c] = await answers('late', after.json.version);
    assert.deepEqual(b, a);
    assert.deepEqual(c, a);
    const info = await client(nodes[2].url, keys.read).get('/v1/indexes/late');
    assert.equal(info.json.type, 'IndexIVFFlat');
    assert.equal(info.json.ntotal, 300);
  });

  it('a hostile file is refused on a cluster node, which goes on, and the index stays as it was on every node', async () => {
    const good = await faissFile('Flat', 0, 50);
    const kept = await put(2, 'kept', good);
    assert.equal(kept.status, 201, JSON.stringify(kept.json));
    for (const [what, body] of hostileFlatFiles(good)) {
      const r = await put(0, 'kept', body);
      assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'ERR_CORRUPT_INDEX', what);
    }
    const [a, b, c] = await answers('kept', kept.json.version);
    for (const [n, r] of [a, b, c].entries()) {
      assert.equal(r.labels.length, 40);
      assert.deepEqual(r, a, nodes[n].node);
      const info = await client(nodes[n].url, keys.read).get('/v1/indexes/kept');
      assert.equal(info.json.ntotal, 50);
      assert.equal(info.json.version, kept.json.version);
    }
  });
});
