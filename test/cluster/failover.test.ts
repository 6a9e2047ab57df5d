// A cluster losing machines (issue 19): SIGKILL one proxy node and one
// nats-server while 16 clients write and read. No acknowledged write is lost,
// reads keep being answered (errors while the cluster elects new leaders are
// allowed and counted), and the killed proxy, restarted, catches up.
import { strict as assert } from 'node:assert';
import { hashedVector } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 8;
const ROWS = 4;
/** A pseudo-random vector of its own for row j of write `write` (far from every other one: its own nearest neighbour). */
const row = (write: number, j: number): number[] => hashedVector(write * ROWS + j, D);

describe('cluster: a proxy and a nats-server killed under load', function () {
  this.timeout(180_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  after(() => stopCluster(nats, nodes));

  it('loses no acknowledged write, keeps answering reads, and the restarted proxy catches up', async () => {
    let keys: TenantKeys;
    ({ nats, nodes, keys } = await startClusterWithTenant());
    const api = (i: number) => client(nodes[i].url, keys.write);
    assert.equal((await api(0).post('/v1/indexes', { name: 'load', dimension: D, type: 'IndexFlatL2' })).status, 201);

    let stopping = false;
    const live = new Set([0, 1, 2]);
    const pick = (n: number) => [...live][n % live.size];
    const acknowledged = new Map<number, number>(); // write -> firstId
    let writeErrors = 0;
    let reads = 0;
    let readErrors = 0;
    let nextWrite = 0;
    const writer = async (w: number) => {
      for (let attempt = 0; !stopping; ) {
        const write = nextWrite++;
        // Retried through whichever node is up, with the same key, until acknowledged.
        for (;;) {
          try {
            const r = await api(pick(w + attempt)).post('/v1/indexes/load/add', { vectors: [0, 1, 2, 3].map((j) => row(write, j)) }, { headers: { 'Idempotency-Key': `write-${write}` } });
            if (r.status === 200) {
              acknowledged.set(write, r.json.firstId);
              break;
            }
            writeErrors++;
          } catch {
            writeErrors++;
          }
          attempt++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    };
    const reader = async (w: number) => {
      for (let n = 0; !stopping; n++) {
        try {
          const r = await client(nodes[pick(w + n)].url, keys.read).post('/v1/indexes/load/search', { vectors: [row(n, 0)], k: 1 });
          if (r.status === 200) reads++;
          else readErrors++;
        } catch {
          readErrors++;
        }
      }
    };
    const clients = [...Array.from({ length: 8 }, (_, i) => writer(i)), ...Array.from({ length: 8 }, (_, i) => reader(i))];
    const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));
    await wait(2_000);
    const before = acknowledged.size;
    live.delete(2);
    await nodes[2].stop('SIGKILL');
    await nats.kill(1);
    const readsAtKill = reads;
    await wait(6_000);
    const readsWhileDown = reads - readsAtKill;
    await nats.restart(1);
    nodes[2] = await startProxyNode(nats, 'C', nodes[0].adminKey, { dataDir: nodes[2].dataDir });
    live.add(2);
    await wait(2_000);
    stopping = true;
    await Promise.all(clients);
    console.log(
      `      ${acknowledged.size} writes acknowledged (${before} before the kills), ${writeErrors} write attempts failed and were retried; ` +
        `${reads} reads answered (${readsWhileDown} while a proxy and a server were down), ${readErrors} failed`,
    );
    assert.ok(acknowledged.size > before, 'writes were acknowledged after the kills');
    assert.ok(readsWhileDown > 0, 'reads were answered while a proxy and a server were down');

    // Every acknowledged write, on every node, the restarted one included, where it was acknowledged to be.
    const top = String(await Promise.all([0, 1].map(async (i) => Number((await api(i).get('/v1/indexes/load')).json.version))).then((v) => Math.max(...v)));
    const writes = [...acknowledged.keys()];
    for (let i = 0; i < 3; i++) {
      const info = await api(i).get('/v1/indexes/load', { headers: { 'X-Min-Sequence': top } });
      assert.equal(info.status, 200, JSON.stringify(info.json));
      assert.equal(info.json.ntotal, ROWS * acknowledged.size, `node ${nodes[i].node}: every write once`);
      const found = await api(i).post('/v1/indexes/load/search', { vectors: writes.map((w) => row(w, 1)), k: 1 }, { headers: { 'X-Min-Sequence': top } });
      assert.equal(found.status, 200);
      writes.forEach((w, j) => assert.equal(found.json.labels[j][0], acknowledged.get(w)! + 1, `node ${nodes[i].node}: write ${w}`));
    }
  });
});
