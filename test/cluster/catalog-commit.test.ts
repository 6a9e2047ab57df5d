// A catalog change whose acknowledgement is lost (cluster/stream-cas.ts,
// catalog-writer.ts; docs/cluster.md "Catalog changes whose acknowledgement is
// lost"): the change reached JetStream and landed, but its node heard no answer.
// Read back, it is known to have landed and the create, import or sharded
// create succeeds; not known by the caller's deadline, the answer is a 503 and
// the stream the record may name is kept. Either way no record names a stream
// that is gone (before: the node removed the stream, and the index it then
// listed failed every use). The fault is injected in the compare-and-set append
// (FAISS_PROXY_TEST_ACK_FAULT, test-only): the append is sent, then its
// acknowledgement is dropped.
import { strict as assert } from 'node:assert';
import { indexFactory, serializeIndex } from '../../lib';
import { hashedVector } from '../support/data';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';
import { startProxyNode, until, type ProxyNode } from '../support/proxy-cluster';
import { client, makeTenant, newKey } from '../support/server';
import { stopCluster, type TenantKeys } from '../support/cluster-fixture';
import { CATALOG_BUCKET } from '../../service/cluster/kv-catalog';

const D = 8;
const T = 'acks';
const rows = (from: number, n: number): number[][] => Array.from({ length: n }, (_, i) => hashedVector(from + i, D));
/** The subject of a record's key in the catalog's KV bucket (kv-catalog.ts: `<kind>.<tenant>.<name>`, each a base64url token). */
const kvKey = (kind: 'i' | 'c' | 'a', name: string) => `${kvSubject('')}${kind}.${Buffer.from(T).toString('base64url')}.${Buffer.from(name).toString('base64url')}`;
const kvSubject = (key: string) => `$KV.${CATALOG_BUCKET}.${key}`;

describe('cluster: a catalog change whose acknowledgement is lost', function () {
  this.timeout(180_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  const api = (n: number) => client(nodes[n].url, keys.write);

  before(async () => {
    nats = await startNatsCluster();
    const adminKey = newKey();
    nodes.push(await startProxyNode(nats, 'A', adminKey));
    // B: the first append of each of these records lands and its acknowledgement is lost at once (the index's twice: its create, then its import's switch;
    // `gone`'s and `al`'s: their deletions, made through A; `p.`: the first placement B writes, the sharded index's).
    const lost = ['ack-lost:' + kvKey('i', 'lost'), 'ack-lost:' + kvKey('i', 'lost'), 'ack-lost:' + kvKey('i', 'sharded'), 'ack-lost:' + kvKey('c', 'coll')];
    lost.push('ack-lost:' + kvKey('i', 'gone'), 'ack-lost:' + kvKey('a', 'al'), 'ack-lost:' + kvSubject('p.'));
    nodes.push(await startProxyNode(nats, 'B', adminKey, { env: { FAISS_PROXY_TEST_ACK_FAULT: lost.join(',') } }));
    // C: the writer answers only once the node stopped waiting for it.
    nodes.push(await startProxyNode(nats, 'C', adminKey, { env: { FAISS_PROXY_TEST_ACK_FAULT: 'answer-late:' + kvKey('i', 'late') } }));
    keys = await makeTenant(nodes[0], T);
    await until('the key on every node', async () => (await Promise.all(nodes.map((_, n) => api(n).get('/v1/indexes')))).every((r) => r.status === 200), 10_000);
  });
  after(() => stopCluster(nats, nodes));

  /** Listed through A, and adds to it and searches of it work there. */
  async function works(name: string, ids?: boolean): Promise<void> {
    await until(`${name} listed on A`, async () => ((await api(0).get('/v1/indexes')).json.indexes as { name: string }[]).some((i) => i.name === name), 10_000);
    const info = await api(0).get(`/v1/indexes/${name}`);
    assert.equal(info.status, 200, `${name} listed, its info: ${info.status} ${JSON.stringify(info.json)}`);
    const added = await api(0).post(`/v1/indexes/${name}/add`, { vectors: rows(100, 5), ...(ids && { ids: [100, 101, 102, 103, 104] }) });
    assert.equal(added.status, 200, `add to ${name}: ${added.status} ${JSON.stringify(added.json)}`);
    const found = await api(0).post(`/v1/indexes/${name}/search`, { vectors: rows(100, 1), k: 1 }, { headers: { 'X-Min-Sequence': String(added.headers.get('x-index-version')) } });
    assert.equal(found.status, 200, JSON.stringify(found.json));
  }

  it('an index create: read back, it landed: 201, and the index works through another node', async () => {
    const created = await api(1).post('/v1/indexes', { name: 'lost', dimension: D, type: 'IndexFlatL2' });
    assert.equal(created.status, 201, `${created.status} ${JSON.stringify(created.json)}`);
    await works('lost');
  });

  it("an import's switch to its new stream: read back, it landed: 200, and the index holds the import", async () => {
    const index = indexFactory(D, 'Flat');
    let file: Buffer;
    try {
      await index.add(new Float32Array(rows(0, 20).flat()));
      file = Buffer.from(await serializeIndex(index));
    } finally {
      index.dispose();
    }
    const imported = await api(1).put('/v1/indexes/lost/import', { body: file });
    assert.equal(imported.status, 200, `${imported.status} ${JSON.stringify(imported.json)}`);
    const version = String(imported.headers.get('x-index-version') ?? imported.json.version);
    const seen = await api(0).get('/v1/indexes/lost', { headers: { 'X-Min-Sequence': version } });
    assert.equal(seen.status, 200, JSON.stringify(seen.json));
    assert.equal(seen.json.ntotal, 20);
    await works('lost');
  });

  it('a sharded index create and a collection create: read back, they landed, and work', async () => {
    const sharded = await api(1).post('/v1/indexes', { name: 'sharded', dimension: D, factory: 'IDMap2,Flat', shards: 2 });
    assert.equal(sharded.status, 201, `${sharded.status} ${JSON.stringify(sharded.json)}`);
    // Its placement's acknowledgement lost too: read back, it landed (before: the node logged the placement as failed).
    assert.doesNotMatch(nodes[1].output(), /placing the shards of new index acks\/sharded failed/);
    await works('sharded', true);
    const coll = await api(1).post('/v1/collections', { name: 'coll', dimension: D });
    assert.equal(coll.status, 201, `${coll.status} ${JSON.stringify(coll.json)}`);
    await until('coll listed on A', async () => (await api(0).get('/v1/collections/coll')).status === 200, 10_000);
    const upserted = await api(0).put('/v1/collections/coll/points', { json: { points: [{ id: 'p1', vector: rows(0, 1)[0], payload: { n: 1 } }] } });
    assert.equal(upserted.status, 200, JSON.stringify(upserted.json));
  });

  it('a create answered after its node stopped waiting: 503 (it may have landed), and the stream it names is kept: listed, it works', async () => {
    const created = await api(2).post('/v1/indexes', { name: 'late', dimension: D, type: 'IndexFlatL2' });
    assert.equal(created.status, 503, `${created.status} ${JSON.stringify(created.json)}`);
    assert.equal(created.json.error.code, 'ERR_STORAGE_FAILED');
    // It did land (the fault lets the append through): the record names a stream that is there.
    await works('late');
    assert.match(created.json.error.message, /may or may not have been changed/);
  });

  it('deletions of an index and of an alias: read back, they landed: 204, gone on every node, and a retry is answered 404', async () => {
    assert.equal((await api(0).post('/v1/indexes', { name: 'gone', dimension: D, type: 'IndexFlatL2' })).status, 201);
    assert.equal((await api(0).post('/v1/collections', { name: 'target', dimension: D })).status, 201);
    assert.equal((await api(0).post('/v1/aliases', { alias: 'al', collection: 'target' })).status, 201);
    await until('gone and al on B', async () => (await api(1).get('/v1/indexes/gone')).status === 200 && (await api(1).get('/v1/aliases')).json?.aliases?.length === 1, 10_000);
    const deleted = await api(1).del('/v1/indexes/gone');
    assert.equal(deleted.status, 204, `${deleted.status} ${JSON.stringify(deleted.json)}`);
    const unaliased = await api(1).del('/v1/aliases/al');
    assert.equal(unaliased.status, 204, `${unaliased.status} ${JSON.stringify(unaliased.json)}`);
    await until('gone and al deleted on A', async () => (await api(0).get('/v1/indexes/gone')).status === 404 && (await api(0).get('/v1/aliases')).json?.aliases?.length === 0, 10_000);
    assert.equal((await api(1).del('/v1/indexes/gone')).status, 404);
    assert.equal((await api(1).del('/v1/aliases/al')).status, 404);
  });
});
