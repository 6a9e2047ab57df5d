// Nothing acknowledged is ever lost: concurrent clients add (then remove) while
// the server is killed with SIGKILL at random moments; after each restart every
// acknowledged add is there and exact, every acknowledged removal stays removed,
// ntotal matches, and the index answers searches.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';
import { rng } from '../support/data';

const d = 8;
const CLIENTS = 6;
const BATCH = 20;
const KILLS = 6;

/** The vector stored under an id: derived from it, so checking needs no bookkeeping. */
function vectorOf(id: number): number[] {
  const next = rng(id * 31 + 7);
  return Array.from({ length: d }, () => Math.fround(next()));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('service: crash safety (SIGKILL at random moments)', function () {
  this.timeout(300_000);
  let s: ServerProcess;
  let keys: { write: string };
  const random = rng(2026);
  // Small logs so snapshots (and crashes during them) happen during the test.
  const args = ['--snapshot-log-bytes', '30000'];

  before(async () => {
    s = await startServer({ args });
    keys = await makeTenant(s, 'crash');
    const api = client(s.url, keys.write);
    assert.equal((await api.post('/v1/indexes', { name: 'mapped', dimension: d, type: 'IndexFlatL2', params: { idMap: true } })).status, 201);
    assert.equal((await api.post('/v1/indexes', { name: 'graph', dimension: d, type: 'IndexHNSWFlat', params: { M: 8 } })).status, 201);
  });
  after(async () => {
    await s?.stop('SIGKILL');
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  async function restart(): Promise<void> {
    await s.stop('SIGKILL');
    s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey, args });
  }

  /** Runs `work` from CLIENTS concurrent loops until the server is killed at a random moment. */
  async function underFire(work: (c: number, step: number) => Promise<void>): Promise<void> {
    let stop = false;
    const loops = Array.from({ length: CLIENTS }, async (_, c) => {
      for (let step = 0; !stop; step++) {
        try {
          await work(c, step);
        } catch {
          return; // the server died under this request: not acknowledged
        }
      }
    });
    await sleep(150 + random() * 500);
    stop = true;
    await restart();
    await Promise.all(loops);
  }

  it(`adds: every acknowledged vector survives ${KILLS} kills, exactly; batches are all or nothing`, async () => {
    const acked = new Set<number>();
    const attempted: number[][] = [];
    for (let round = 0; round < KILLS; round++) {
      const api = client(s.url, keys.write);
      await underFire(async (c, step) => {
        const first = ((round * CLIENTS + c) * 10_000 + step) * BATCH;
        const ids = Array.from({ length: BATCH }, (_, i) => first + i);
        attempted.push(ids);
        const r = await api.post('/v1/indexes/mapped/add', { vectors: ids.map(vectorOf), ids });
        if (r.status !== 200) throw new Error(`add ${r.status}`);
        ids.forEach((id) => acked.add(id));
      });
    }
    assert.ok(acked.size >= 5 * BATCH, `only ${acked.size} vectors were acknowledged`);
    console.log(`      ${acked.size} vectors acknowledged in ${attempted.length} batches`);
    const api = client(s.url, keys.write);
    // Every acknowledged vector, exact.
    const ackedIds = [...acked];
    for (let i = 0; i < ackedIds.length; i += 1000) {
      const chunk = ackedIds.slice(i, i + 1000);
      const r = await api.post('/v1/indexes/mapped/reconstruct', { ids: chunk });
      assert.equal(r.status, 200, JSON.stringify(r.json));
      chunk.forEach((id, j) => assert.deepEqual(r.json.vectors[j], Array.from(new Float32Array(vectorOf(id)))));
    }
    // Unacknowledged batches: all in or all out; ntotal counts exactly what is there.
    let present = acked.size;
    for (const ids of attempted) {
      if (acked.has(ids[0])) continue;
      const found = await Promise.all(ids.map(async (id) => (await api.post('/v1/indexes/mapped/reconstruct', { ids: [id] })).status === 200));
      assert.ok(found.every((f) => f === found[0]), `batch starting at ${ids[0]} is torn`);
      if (found[0]) present += ids.length;
    }
    const described = await api.get('/v1/indexes/mapped');
    assert.equal(described.json.ntotal, present);
    const probe = ackedIds[ackedIds.length >> 1];
    const hit = await api.post('/v1/indexes/mapped/search', { vectors: [vectorOf(probe)], k: 1 });
    assert.equal(hit.json.labels[0][0], probe);
    assert.equal(hit.json.distances[0][0], 0);
  });

  it(`removals: every acknowledged removal stays removed across ${KILLS} kills (native remove and HNSW)`, async () => {
    const api0 = client(s.url, keys.write);
    // The HNSW index gets its vectors from one client, so its positional ids are known.
    const graphIds = Array.from({ length: 2000 }, (_, i) => i);
    assert.equal((await api0.post('/v1/indexes/graph/add', { vectors: graphIds.map(vectorOf) })).status, 200);
    const mappedBefore = (await api0.get('/v1/indexes/mapped')).json.ntotal as number;
    const listed = new Set<number>();
    const removedMapped = new Set<number>();
    const removedGraph = new Set<number>();
    const tried = new Set<number>();
    for (let round = 0; round < KILLS; round++) {
      const api = client(s.url, keys.write);
      await underFire(async (c, step) => {
        const id = (round * CLIENTS + c) * 50 + step;
        if (id >= 2000) {
          await sleep(5);
          return;
        }
        tried.add(id);
        const graph = await api.post('/v1/indexes/graph/remove', { ids: [id] });
        if (graph.status !== 200) throw new Error(`remove ${graph.status}`);
        removedGraph.add(id);
        // In "mapped", remove an id that exists (the first batch of round 0, client 0).
        const mappedId = id % BATCH;
        if (!listed.has(mappedId)) {
          listed.add(mappedId);
          const r = await api.post('/v1/indexes/mapped/remove', { ids: [mappedId] });
          if (r.status !== 200) throw new Error(`remove ${r.status}`);
          removedMapped.add(mappedId);
        }
      });
    }
    assert.ok(removedGraph.size >= 10, `only ${removedGraph.size} removals were acknowledged`);
    const api = client(s.url, keys.write);
    for (const id of removedGraph) {
      const r = await api.post('/v1/indexes/graph/search', { vectors: [vectorOf(id)], k: 5 });
      assert.ok(!r.json.labels[0].includes(id), `removed id ${id} came back`);
    }
    for (const id of removedMapped) {
      assert.equal((await api.post('/v1/indexes/mapped/reconstruct', { ids: [id] })).status, 404, `removed id ${id} is still there`);
    }
    const graph = (await api.get('/v1/indexes/graph')).json.ntotal as number;
    // Removals whose answer was lost may or may not have happened; acknowledged ones did.
    assert.ok(graph <= 2000 - removedGraph.size && graph >= 2000 - tried.size, `graph ntotal ${graph}`);
    const mapped = (await api.get('/v1/indexes/mapped')).json.ntotal as number;
    assert.ok(mapped <= mappedBefore - removedMapped.size && mapped >= mappedBefore - listed.size, `mapped ntotal ${mapped}`);
    // A vector never removed is still found.
    const kept = graphIds.find((id) => !tried.has(id))!;
    const r = await api.post('/v1/indexes/graph/search', { vectors: [vectorOf(kept)], k: 1, efSearch: 64 });
    assert.equal(r.json.labels[0][0], kept);
  });
});
