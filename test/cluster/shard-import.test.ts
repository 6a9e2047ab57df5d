// The import of one FAISS file into a cluster's sharded Flat index
// (domain/indexes.ts importSharded, docs/cluster.md "Export and import of a
// sharded index") is one switch: every shard is replaced by its part of the
// file at once, as a merged IVF file's import does. A reader through other
// nodes during the import sees the old index or the imported one, never a
// mix; a node SIGKILLed during it leaves one or the other. What users rely on:
// a plain Flat file (positional ids) or an IDMap2 file (its ids) into any
// shard count answers exactly as one unsharded index holding it; a hostile
// file is a 400 with every node up and the index as it was; quotas count it.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { indexFactory, serializeIndex } from '../../lib';
import { hashedVector } from '../support/data';
import { hostileFlatFiles } from '../support/hostile-index-files';
import type { NatsCluster } from '../support/nats-cluster';
import { startProxyNode, until, type ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 8;
// On a grid: exact distances, and ties among copies.
const vector = (i: number): number[] => hashedVector(i, D).map((v) => Math.round(v * 64) / 64);
const QUERIES = Array.from({ length: 20 }, (_, q) => vector(q % 2 === 0 ? 700_000 + q : 3 * q));
/** Rows enough that the old reset-then-add-in-chunks import took many chunks (512 KiB each): a reader had time to see it half done. */
const LARGE = 150_000;

/** A FAISS file of `factory` holding vector(from) .. vector(from + n - 1), under `ids` when given. */
async function faissFile(factory: string, from: number, n: number, ids?: bigint[]): Promise<Buffer> {
  const index = indexFactory(D, factory);
  try {
    const x = new Float32Array(n * D);
    for (let i = 0; i < n; i++) x.set(vector(from + i), i * D);
    if (ids) await index.addWithIds(x, new BigInt64Array(ids));
    else await index.add(x);
    return Buffer.from(await serializeIndex(index));
  } finally {
    index.dispose();
  }
}

type TopK = { distances: number[][]; labels: number[][] };

describe('cluster: importing one FAISS file into a sharded Flat index (one switch)', function () {
  this.timeout(300_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  const api = (i: number) => client(nodes[i].url, keys.write);
  const create = async (via: number, name: string, shards: number) => {
    const r = await api(via).post('/v1/indexes', { name, dimension: D, factory: 'IDMap2,Flat', shards });
    assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.json)}`);
    await until(`every node knows ${name}`, async () => (await Promise.all(nodes.map((_, i) => api(i).get(`/v1/indexes/${name}`)))).every((x) => x.status === 200));
  };
  const addOld = async (name: string, n: number) => {
    const ids = Array.from({ length: n }, (_, i) => 5_000_000 + 11 * i);
    for (let at = 0; at < n; at += 1000) {
      const some = ids.slice(at, at + 1000);
      const r = await api(1).post(`/v1/indexes/${name}/add`, { vectors: some.map((id) => vector(id)), ids: some });
      assert.equal(r.status, 200, JSON.stringify(r.json));
    }
  };
  const search = async (via: number, name: string, k = 7): Promise<TopK> => {
    const r = await api(via).post(`/v1/indexes/${name}/search`, { vectors: QUERIES, k });
    assert.equal(r.status, 200, `${name} through ${nodes[via].node}: ${JSON.stringify(r.json)}`);
    return { distances: r.json.distances, labels: r.json.labels };
  };
  /** Every node still running and answering (a crash shows here, as the node's exit). */
  const alive = async (what: string, which = nodes) => {
    for (const n of which) {
      assert.equal(n.proc.exitCode, null, `${what}: node ${n.node} exited: ${n.output().slice(-2000)}`);
      assert.equal((await client(n.url).get('/healthz')).status, 200, `${what}: node ${n.node}`);
    }
  };
  before(async () => ({ nats, nodes, keys } = await startClusterWithTenant()));
  after(() => stopCluster(nats, nodes));

  it('readers through the other nodes see the old index or the imported one during the import, never a mix', async () => {
    const OLD = 2_000;
    await create(0, 'live', 3);
    await addOld('live', OLD);
    const file = await faissFile('Flat', 0, LARGE);
    let done = false;
    const seen = new Map<string, number>();
    const reader = async (via: number) => {
      while (!done) {
        const r = await api(via).get('/v1/indexes/live');
        const what = r.status === 200 ? `ntotal ${r.json.ntotal}` : `${r.status} ${r.json?.error?.code}`;
        seen.set(what, (seen.get(what) ?? 0) + 1);
      }
    };
    const readers = [reader(1), reader(2)];
    const imported = await api(0).put('/v1/indexes/live/import', { body: file });
    done = true;
    await Promise.all(readers);
    assert.equal(imported.status, 200, JSON.stringify(imported.json));
    assert.equal(imported.json.ntotal, LARGE);
    assert.deepEqual([...seen.keys()].filter((w) => w !== `ntotal ${OLD}` && w !== `ntotal ${LARGE}`), [], `what the readers saw: ${JSON.stringify([...seen])}`);
    assert.ok((seen.get(`ntotal ${OLD}`) ?? 0) > 0, `the readers read during the import: ${JSON.stringify([...seen])}`);
    for (const via of [0, 1, 2]) assert.equal((await api(via).get('/v1/indexes/live')).json.ntotal, LARGE, nodes[via].node);
  });

  it('a plain Flat file (positional ids) and an IDMap2 file (its ids) into 2 and 5 shards answer exactly as one unsharded index', async () => {
    // Ascending, as FAISS's ties (smallest position first) then agree with the merge's (smallest id first: docs/cluster.md).
    const ids = Array.from({ length: 900 }, (_, i) => BigInt(i < 450 ? 1_000 + 7 * i : 2 ** 40 + 17 * i));
    // L2: exact, ties included (test/cluster/shards.test.ts compares IP, whose ties at the k-th place may differ: docs/cluster.md).
    const cases: [string, Buffer][] = [
      ['plain', await faissFile('Flat', 0, 900)],
      ['mapped', await faissFile('IDMap2,Flat', 0, 900, ids)],
    ];
    for (const [what, file] of cases) {
      const whole = await api(0).put(`/v1/indexes/${what}Whole/import`, { body: file });
      assert.equal(whole.status, 201, JSON.stringify(whole.json));
      for (const shards of [2, 5]) {
        const name = `${what}${shards}`;
        await create(shards === 2 ? 1 : 2, name, shards);
        await addOld(name, 300);
        const r = await api(0).put(`/v1/indexes/${name}/import`, { body: file });
        assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.ntotal, 900, name);
        assert.equal(r.json.shards, shards, name);
        for (const k of [1, 7, 30]) {
          const want = await search(0, `${what}Whole`, k);
          if (what !== 'plain') assert.ok(want.labels.flat().every((l) => ids.includes(BigInt(l))), `${what}: labels are the file's ids`);
          for (const via of [1, 2]) assert.deepEqual(await search(via, name, k), want, `${name} k ${k} through ${nodes[via].node}`);
        }
      }
    }
  });

  it('a hostile file is a 400 on a node that goes on, and the sharded index stays as it was', async () => {
    await create(0, 'kept', 3);
    await addOld('kept', 500);
    const before = await search(1, 'kept');
    const good = await faissFile('Flat', 0, 50);
    for (const [what, body] of hostileFlatFiles(good)) {
      const r = await api(2).put('/v1/indexes/kept/import', { body });
      assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, 'ERR_CORRUPT_INDEX', what);
      await alive(what);
    }
    for (const via of [0, 1, 2]) {
      assert.equal((await api(via).get('/v1/indexes/kept')).json.ntotal, 500, nodes[via].node);
      assert.deepEqual(await search(via, 'kept'), before, nodes[via].node);
    }
  });

  it("quotas: an import past the tenant's maxVectors is refused and leaves the index; one within it is counted in the tenant's usage", async () => {
    const admin = client(nodes[0].url, nodes[0].adminKey);
    assert.equal((await admin.post('/v1/admin/tenants', { name: 'tight', quotas: { maxVectors: 1_000 } })).status, 201);
    const key = (await admin.post('/v1/admin/tenants/tight/keys', { role: 'write' })).json.key as string;
    const tight = client(nodes[1].url, key);
    await until('the key reaches B', async () => (await tight.get('/v1/indexes')).status === 200);
    assert.equal((await tight.post('/v1/indexes', { name: 'q', dimension: D, factory: 'IDMap2,Flat', shards: 2 })).status, 201);
    assert.equal((await tight.post('/v1/indexes/q/add', { vectors: [vector(1), vector(2)], ids: [1, 2] })).status, 200);
    const over = await tight.put('/v1/indexes/q/import', { body: await faissFile('Flat', 0, 1_001) });
    assert.equal(over.status, 403, JSON.stringify(over.json));
    assert.equal(over.json.error.code, 'ERR_QUOTA_EXCEEDED');
    assert.equal((await tight.get('/v1/indexes/q')).json.ntotal, 2);
    const within = await tight.put('/v1/indexes/q/import', { body: await faissFile('Flat', 0, 900) });
    assert.equal(within.status, 200, JSON.stringify(within.json));
    assert.equal(within.json.ntotal, 900);
    await until('the usage counts the import', async () => (await admin.get('/v1/admin/tenants/tight')).json.usage.vectors === 900);
    const more = await tight.post('/v1/indexes/q/add', { vectors: Array.from({ length: 101 }, (_, i) => vector(10_000 + i)), ids: Array.from({ length: 101 }, (_, i) => 10_000 + i) });
    assert.equal(more.status, 403, JSON.stringify(more.json));
  });

  it('a node SIGKILLed during the import leaves the old index or the imported one', async () => {
    const OLD = 3_000;
    await create(1, 'killed', 3);
    await addOld('killed', OLD);
    const oldAnswers = await search(1, 'killed');
    const file = await faissFile('Flat', 0, LARGE);
    assert.equal((await api(1).put('/v1/indexes/killedWhole/import', { body: file })).status, 201);
    const newAnswers = await search(1, 'killedWhole');
    // A is killed as soon as the import shows: its request for a new shard's stream (made before the switch), or the
    // index changed through B.
    const nc = await connect({ servers: nats.urls.split(',') });
    let outcome: string;
    try {
      let shown!: () => void;
      const showing = new Promise<void>((resolve) => (shown = resolve));
      const sub = nc.subscribe('$JS.API.STREAM.CREATE.*', { callback: (_: unknown, m: { subject: string }) => /^FP_.+-s1$/.test(m.subject.split('.').pop()!) && shown() });
      let answered: string | undefined;
      const importing = api(0)
        .put('/v1/indexes/killed/import', { body: file })
        .then(
          (r) => `answered ${r.status}`,
          (e: Error) => `no answer (${e.message})`,
        )
        .then((a) => (answered = a));
      void (async () => {
        while (answered === undefined) {
          const r = await api(1).get('/v1/indexes/killed');
          if (r.status !== 200 || r.json.ntotal !== OLD) shown();
        }
      })();
      await Promise.race([importing, showing]);
      const midway = answered === undefined;
      await nodes[0].stop('SIGKILL');
      sub.unsubscribe();
      outcome = await importing;
      assert.ok(midway, `A was killed during the import, not after its answer (${outcome})`);
    } finally {
      await nc.close();
    }
    // B and C take A's shards over (within ~3 s) and answer as one of the two indexes, the same through both.
    let ntotal = -1;
    await until(
      'B answers after the kill',
      async () => {
        const r = await api(1).get('/v1/indexes/killed');
        if (r.status === 200) ntotal = r.json.ntotal;
        return r.status === 200;
      },
      30_000,
    );
    assert.ok(ntotal === OLD || ntotal === LARGE, `after the kill (the import: ${outcome}): ntotal ${ntotal}, neither the old ${OLD} nor the imported ${LARGE}`);
    for (const via of [1, 2]) {
      assert.equal((await api(via).get('/v1/indexes/killed')).json.ntotal, ntotal, nodes[via].node);
      assert.deepEqual(await search(via, 'killed'), ntotal === OLD ? oldAnswers : newAnswers, `through ${nodes[via].node} (the import: ${outcome})`);
    }
    // A comes back and answers the same.
    nodes[0] = await startProxyNode(nats, 'A', nodes[1].adminKey, { dataDir: nodes[0].dataDir });
    await until('A answers', async () => (await api(0).get('/v1/indexes/killed')).status === 200, 30_000);
    assert.deepEqual(await search(0, 'killed'), ntotal === OLD ? oldAnswers : newAnswers, 'through A, restarted');
  });
});
