// A cluster's shared snapshots (cluster/replicated-log.ts shareSnapshot,
// fetchSnapshot): a replica's snapshot goes to the JetStream object store and
// the stream is trimmed behind it; a new node with an empty disk loads it and
// replays only the tail; a replica whose records were trimmed away loads it too,
// even when they were trimmed while it was catching up and no record follows.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { jetstreamManager } from '@nats-io/jetstream';
import { hashedVector } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';
import { JetStreamLog } from '../../service/cluster/replicated-log';
import { LogGap } from '../../service/domain/durable';

const D = 8;
const row = (i: number): number[] => hashedVector(i, D);

describe('cluster: shared snapshots and a trimmed stream', function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  after(() => stopCluster(nats, nodes));

  it('trims the stream behind a shared snapshot; a new node and a lagging one load it', async () => {
    let keys: TenantKeys;
    // A snapshot every ~1 KB of applied records: a few per test.
    ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B'], { args: ['--snapshot-log-bytes', '1024'] }));
    const a = client(nodes[0].url, keys.write);
    assert.equal((await a.post('/v1/indexes', { name: 'snap', dimension: D, type: 'IndexFlatL2' })).status, 201);
    // B holds the index loaded from here on (it follows the stream).
    assert.equal((await client(nodes[1].url, keys.read).get('/v1/indexes/snap')).status, 200);
    let version = '0';
    const add = async (from: number, to: number) => {
      for (let i = from; i < to; i++) {
        const r = await a.post('/v1/indexes/snap/add', { vectors: [row(2 * i), row(2 * i + 1)] });
        assert.equal(r.status, 200, JSON.stringify(r.json));
        version = r.headers.get('x-index-version')!;
      }
    };
    await add(0, 30);
    // B is killed, and the stream trimmed past what B's own snapshot holds while it is down.
    await nodes[1].stop('SIGKILL');
    await add(30, 60);
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      const streams = await jsm.streams.list().next();
      const stream = streams.find((s) => s.config.name.startsWith('FP_'))!;
      let first = stream.state.first_seq;
      for (let t = 0; t < 50 && first <= 1; t++) {
        await new Promise((r) => setTimeout(r, 100));
        first = (await jsm.streams.info(stream.config.name)).state.first_seq;
      }
      assert.ok(first > 1, `the stream was trimmed (first sequence ${first})`);
      assert.equal((await jsm.streams.info(stream.config.name)).state.last_seq, Number(version));
    } finally {
      await nc.close();
    }
    // B, restarted: its records were trimmed away; it loads the shared snapshot. D never saw the index: the same.
    nodes[1] = await startProxyNode(nats, 'B', nodes[0].adminKey, { dataDir: nodes[1].dataDir, args: ['--snapshot-log-bytes', '1024'] });
    nodes.push(await startProxyNode(nats, 'D', nodes[0].adminKey));
    const queries = Array.from({ length: 120 }, (_, i) => row(i));
    const answers = await Promise.all(
      nodes.map((n) => client(n.url, keys.read).post('/v1/indexes/snap/search', { vectors: queries, k: 2 }, { headers: { 'X-Min-Sequence': version } })),
    );
    for (const r of answers) {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      assert.deepEqual(r.json.labels.map((l: number[]) => l[0]), queries.map((_, i) => i));
    }
    assert.deepEqual(answers[2].json, answers[0].json);
    assert.deepEqual(answers[1].json, answers[0].json);
  });

  it('a follower whose records were trimmed while it waited for them fails with a gap, though no record follows', async () => {
    // As a shard's new owner that began catching up just before its old owner shared a newer snapshot (and trimmed
    // the stream behind it): the records it waits for never come. Its replica then loads that snapshot (durable.ts).
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const log = await JetStreamLog.open(nc, 3, 900_000);
      const id = `trimmed-${process.pid}`;
      await log.create(id, 0);
      for (let i = 0; i < 5; i++) await log.append(id, { type: 'reset' }, `reset-${i}`);
      await (await jetstreamManager(nc)).streams.purge(`FP_${id}`, { seq: 6 }); // through 5, as shareSnapshot trims
      const follower = log.follow(id, 2, async () => undefined);
      let timer: NodeJS.Timeout | undefined;
      const waited = new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('still waiting after 10 s')), 10_000)));
      try {
        await assert.rejects(Promise.race([follower.caughtUp, waited]), (e) => e instanceof LogGap);
      } finally {
        clearTimeout(timer);
        follower.stop();
      }
      await log.remove(id);
    } finally {
      await nc.close();
    }
  });
});
