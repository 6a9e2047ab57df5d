// A train's k-means seed in a cluster (serve --cluster): it travels in the train's
// record of the replicated log (and of each shard's), so every replica, a replica
// restarted without a snapshot, and every shard train the trainer's centroids:
// the index the embedded module trains with that seed. A single node's log
// replay: test/service/kmeans-seed-http.
import { strict as assert } from 'node:assert';
import * as embedded from '../../lib';
import { connect } from '../../lib/client';
import { randomVectors } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster } from '../support/cluster-fixture';

const D = 8;
const x = randomVectors(1500, D, 7);
const xq = randomVectors(20, D, 8);
const ids = BigInt64Array.from({ length: 1500 }, (_, i) => BigInt(i));
const rowsOf = (v: Float32Array): number[][] => Array.from({ length: v.length / D }, (_, i) => [...v.subarray(i * D, (i + 1) * D)]);

/** An embedded IVF4 trained with `seed` (undefined: FAISS's default). */
async function embeddedIvf(seed: number | undefined): Promise<embedded.Index> {
  const index = embedded.indexFactory(D, 'IVF4,Flat');
  if (seed !== undefined) index.kmeansSeed = seed;
  await index.train(x);
  return index;
}

describe("cluster: a train's k-means seed on every replica and shard", function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: { write: string };
  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B'])));
  after(() => stopCluster(nats, nodes));

  it("trained through A with the remote client: B's replica, and B killed and restarted, hold the trainer's index", async () => {
    const api = connect({ url: nodes[0].url, apiKey: keys.write });
    const ivf = api.indexFactory(D, 'IVF4,Flat', api.METRIC_L2, { name: 'seeded' });
    ivf.kmeansSeed = 99;
    await ivf.train(x);
    const trainer = Buffer.from(await api.serializeIndex(ivf));
    const [seeded, unseeded] = [await embeddedIvf(99), await embeddedIvf(undefined)];
    assert.ok(trainer.equals(Buffer.from(await embedded.serializeIndex(seeded))), 'the embedded index of seed 99');
    assert.ok(!trainer.equals(Buffer.from(await embedded.serializeIndex(unseeded))), 'seed 99 is not the default');
    seeded.dispose();
    unseeded.dispose();

    const exportedBy = async (node: ProxyNode): Promise<Buffer> => {
      const r = await client(node.url, keys.write).get(`/v1/indexes/seeded/export?minSequence=${ivf.version}`);
      assert.equal(r.status, 200, r.bytes.toString());
      return r.bytes;
    };
    assert.ok((await exportedBy(nodes[1])).equals(trainer), "B's replica");
    await nodes[1].stop('SIGKILL');
    nodes[1] = await startProxyNode(nats, 'B', nodes[0].adminKey, { dataDir: nodes[1].dataDir });
    assert.ok((await exportedBy(nodes[1])).equals(trainer), 'B killed and restarted');
  });

  it('a sharded IVF trained with a seed: every shard has its quantizer, so it answers as the whole index of that seed', async () => {
    const [a, b] = nodes.map((n) => client(n.url, keys.write));
    const created = await a.post('/v1/indexes', { name: 'sharded', dimension: D, factory: 'IVF4,Flat', shards: 2 });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const trained = await a.post('/v1/indexes/sharded/train', { vectors: rowsOf(x), kmeansSeed: 99 });
    assert.equal(trained.status, 200, JSON.stringify(trained.json));
    const added = await a.post('/v1/indexes/sharded/add', { vectors: rowsOf(x), ids: [...ids].map(Number) });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    const found = await b.post('/v1/indexes/sharded/search', { vectors: rowsOf(xq), k: 5, nprobe: 1, minSequence: Number(added.headers.get('x-index-version')) });
    assert.equal(found.status, 200, JSON.stringify(found.json));
    // One list per query: the shards' lists are the whole index's only with the whole index's centroids.
    const labels = async (seed: number | undefined): Promise<number[][]> => {
      const whole = await embeddedIvf(seed);
      await whole.addWithIds(x, ids);
      const r = await whole.search(xq, 5, { nprobe: 1 });
      whole.dispose();
      return Array.from({ length: xq.length / D }, (_, i) => Array.from(r.labels.subarray(i * 5, (i + 1) * 5), Number));
    };
    const withSeed = await labels(99);
    assert.notDeepEqual(await labels(undefined), withSeed, 'the default seed answers otherwise at nprobe 1');
    assert.deepEqual(found.json.labels, withSeed);
  });
});
