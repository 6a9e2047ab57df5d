// Every index type builds the same index on every replica (docs/cluster.md,
// what is guaranteed): created, trained and added to through different nodes,
// each node's own copy (an export answers the node's copy) is the same FAISS
// file, and every node answers the same queries with the same labels and
// distances. An IVF with an HNSW coarse quantizer builds that graph in its train,
// on several threads unless a cluster node caps it (native/quantizer_graph_adds.h);
// k-means, PQ, SQ, transforms and IVF adds give the same bytes on any thread count.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { randomVectors, rng } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import type { ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 16;
const BITS = 64;
const rowsOf = (v: Float32Array): number[][] => Array.from({ length: v.length / D }, (_, i) => [...v.subarray(i * D, (i + 1) * D)]);
const codesOf = (n: number, seed: number): string[] => {
  const next = rng(seed);
  return Array.from({ length: n }, () => Buffer.from(Array.from({ length: BITS / 8 }, () => Math.floor(next() * 256))).toString('base64'));
};
const trainRows = rowsOf(randomVectors(10_000, D, 1));
const addedRows = rowsOf(randomVectors(1_000, D, 2));
const queries = rowsOf(randomVectors(100, D, 3));
const trainCodes = codesOf(10_000, 4);
const addedCodes = codesOf(1_000, 5);
const queryCodes = codesOf(100, 6);
/** Adds in batches of 250, past the 100 vectors below which FAISS links a batch's graph vertices on one thread. */
const batches = <T>(all: T[]): T[][] => Array.from({ length: Math.ceil(all.length / 250) }, (_, i) => all.slice(i * 250, (i + 1) * 250));

type Api = ReturnType<typeof client>;

interface Case {
  factory: string;
  binary?: boolean;
  /** Training rows (OPQ's training is slow). */
  train?: number;
  search?: object;
}
const cases: Case[] = [
  { factory: 'IVF256_HNSW32,Flat', search: { nprobe: 4 } },
  { factory: 'IVF256_HNSW16,PQ4np', search: { nprobe: 4 } },
  { factory: 'PCAR8,IVF256_HNSW16,SQ8', search: { nprobe: 4 } },
  { factory: 'BIVF256_HNSW16', binary: true, search: { nprobe: 4 } },
  { factory: 'IVF64,PQ4x4fsr', search: { nprobe: 4 } },
  { factory: 'OPQ4_16,IVF32,PQ4x4np', train: 1_000, search: { nprobe: 4 } },
  { factory: 'IVF64,Flat,RFlat', search: { nprobe: 4 } },
  { factory: 'LSHrt' },
  { factory: 'HNSW16,SQ8', search: { efSearch: 8 } },
  { factory: 'BHNSW16', binary: true },
];

describe('cluster: every index type is the same index on every replica', function () {
  this.timeout(300_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let api: Api[] = [];
  before(async () => {
    let keys: TenantKeys;
    ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B', 'C']));
    api = nodes.map((n) => client(n.url, keys.write));
  });
  after(() => stopCluster(nats, nodes));

  /** A node's read once it has applied the log through `version` (a 503 while it is behind is retried). */
  async function readThrough(n: Api, route: string, body: object | undefined, version: number) {
    const headers = { 'X-Min-Sequence': String(version) };
    for (let tries = 1; ; tries++) {
      const r = body === undefined ? await n.get(route, { headers }) : await n.post(route, body, { headers });
      if (r.status === 503 && tries < 12) continue;
      assert.equal(r.status, 200, r.json ? JSON.stringify(r.json) : r.bytes.toString());
      return r;
    }
  }

  cases.forEach((c, i) => {
    it(`${c.factory}: created through one node, trained through another, added to through all three; the same file and answers on every node`, async () => {
      const name = `t${i}`;
      const rows = c.binary ? { train: trainCodes, added: addedCodes, queries: queryCodes, field: 'codes' } : { train: trainRows, added: addedRows, queries, field: 'vectors' };
      const created = await api[i % 3].post('/v1/indexes', { name, dimension: c.binary ? BITS : D, factory: c.factory });
      assert.equal(created.status, 201, JSON.stringify(created.json));
      let version = Number(created.headers.get('x-index-version') ?? 0);
      const note = (r: { status: number; json: unknown; headers: Headers }) => {
        assert.equal(r.status, 200, JSON.stringify(r.json));
        version = Math.max(version, Number(r.headers.get('x-index-version')));
      };
      note(await api[(i + 1) % 3].post(`/v1/indexes/${name}/train`, { [rows.field]: rows.train.slice(0, c.train ?? rows.train.length) }));
      for (const [j, batch] of batches(rows.added as unknown[]).entries()) note(await api[(i + j) % 3].post(`/v1/indexes/${name}/add`, { [rows.field]: batch }));

      const files = await Promise.all(api.map(async (n) => (await readThrough(n, `/v1/indexes/${name}/export`, undefined, version)).bytes));
      const found = await Promise.all(api.map(async (n) => (await readThrough(n, `/v1/indexes/${name}/search`, { [rows.field]: rows.queries, k: 10, ...c.search }, version)).json));
      for (let k = 1; k < 3; k++) {
        assert.deepEqual(found[k], found[0], `node ${nodes[k].node} answers otherwise than node ${nodes[0].node}`);
        const [mine, theirs] = [files[k], files[0]].map((b) => createHash('sha256').update(b).digest('hex'));
        assert.equal(mine, theirs, `node ${nodes[k].node}'s copy is another file than node ${nodes[0].node}'s`);
      }
    });
  });

  it('a collection over IVF256_HNSW32,Flat: trained through one node, upserted through all three; the same hits on every node', async () => {
    const created = await api[0].post('/v1/collections', { name: 'c', dimension: D, factory: 'IVF256_HNSW32,Flat' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    let version = 0;
    const note = (r: { status: number; json: unknown; headers: Headers }) => {
      assert.equal(r.status, 200, JSON.stringify(r.json));
      version = Math.max(version, Number(r.headers.get('x-index-version')));
    };
    note(await api[1].post('/v1/collections/c/train', { vectors: trainRows }));
    const points = addedRows.map((vector, j) => ({ id: `p${j}`, vector }));
    for (const [j, batch] of batches(points).entries()) note(await api[j % 3].put('/v1/collections/c/points', { json: { points: batch } }));
    const found = await Promise.all(api.map(async (n) => (await readThrough(n, '/v1/collections/c/search', { vectors: queries, k: 10, nprobe: 4, withPayload: false }, version)).json));
    for (let k = 1; k < 3; k++) assert.deepEqual(found[k], found[0], `node ${nodes[k].node} answers otherwise than node ${nodes[0].node}`);
  });
});
