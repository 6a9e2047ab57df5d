// Binary indexes over HTTP, black-box against a real server process: created by
// type or factory, codes as base64 rows in JSON or raw bytes, integer Hamming
// distances back in both answer formats, the same answers as the embedded
// library on the same codes, and every acknowledged write still there after the
// server is killed (SIGKILL: only the log and snapshots survive) and restarted.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as faiss from '../../lib';
import { readBinarySearchAnswer, readBinaryRangeSearchAnswer, selectorPart } from '../../lib/wire';
import { rng } from '../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const d = 64;
const codeSize = d / 8;
const I = (name: string, op?: string): string => `/v1/indexes/${name}${op ? `/${op}` : ''}`;

function randomCodes(n: number, seed: number): Uint8Array {
  const next = rng(seed);
  return Uint8Array.from({ length: n * codeSize }, () => Math.floor(next() * 256));
}
const base64Rows = (x: Uint8Array): string[] =>
  Array.from({ length: x.length / codeSize }, (_, i) => Buffer.from(x.subarray(i * codeSize, (i + 1) * codeSize)).toString('base64'));
const rows = (flat: ArrayLike<number | bigint>, k: number): number[][] =>
  Array.from({ length: flat.length / k }, (_, i) => Array.from({ length: k }, (_, j) => Number(flat[i * k + j])));

describe('service: binary indexes', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  let key: string;
  const xb = randomCodes(300, 1);
  const more = randomCodes(50, 2);
  const xq = randomCodes(4, 3);
  const api = () => client(s.url, key);

  before(async () => {
    s = await startServer();
    key = (await makeTenant(s, 'bits')).write;
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  async function embedded(x: Uint8Array, k: number): Promise<faiss.BinarySearchResult> {
    const flat = new faiss.IndexBinaryFlat(d);
    await flat.add(x);
    return flat.search(xq, k);
  }

  it('creates binary indexes by type and by factory, described with a Hamming metric', async () => {
    const flat = await api().post('/v1/indexes', { name: 'bflat', dimension: d, type: 'IndexBinaryFlat' });
    assert.equal(flat.status, 201, JSON.stringify(flat.json));
    assert.deepEqual([flat.json.type, flat.json.factory, flat.json.metric, flat.json.dimension], ['IndexBinaryFlat', 'BFlat', 'Hamming', d]);
    const ivf = await api().post('/v1/indexes', { name: 'bivf', dimension: d, factory: 'BIVF4', params: { nprobe: 4 } });
    assert.equal(ivf.status, 201, JSON.stringify(ivf.json));
    assert.deepEqual([ivf.json.type, ivf.json.isTrained, ivf.json.nprobe], ['IndexBinaryIVF', false, 4]);
    const hnsw = await api().post('/v1/indexes', { name: 'bhnsw', dimension: d, type: 'IndexBinaryHNSW', params: { M: 8 } });
    assert.equal(hnsw.json.type, 'IndexBinaryHNSW');
  });

  it('adds base64 codes in JSON and raw bytes; searches answer exact Hamming k-NN in JSON and binary', async () => {
    const added = await api().post(I('bflat', 'add'), { codes: base64Rows(xb) });
    assert.equal(added.status, 200, JSON.stringify(added.json));
    assert.deepEqual([added.json.added, added.json.firstId, added.json.ntotal], [300, 0, 300]);
    const raw = await api().post(I('bflat', 'add'), undefined, { body: more });
    assert.deepEqual([raw.status, raw.json.firstId], [200, 300]);
    const all = new Uint8Array([...xb, ...more]);
    const want = await embedded(all, 5);

    const json = await api().post(I('bflat', 'search'), { codes: base64Rows(xq), k: 5 });
    assert.equal(json.status, 200, JSON.stringify(json.json));
    assert.deepEqual(json.json.distances, rows(want.distances, 5));
    assert.deepEqual(json.json.labels, rows(want.labels, 5));
    assert.ok(json.json.distances.flat().every(Number.isInteger));

    const bin = await api().post(`${I('bflat', 'search')}?k=5`, undefined, { body: xq, headers: { Accept: 'application/octet-stream' } });
    assert.equal(bin.status, 200);
    assert.deepEqual(readBinarySearchAnswer(new Uint8Array(bin.bytes), 4, 5), want);

    const radius = want.distances[2] + 1;
    const range = await api().post(`${I('bflat', 'range_search')}?radius=${radius}`, undefined, { body: xq, headers: { Accept: 'application/octet-stream' } });
    const got = readBinaryRangeSearchAnswer(new Uint8Array(range.bytes), 4, Number(range.headers.get('X-Faiss-Total')));
    const flat = new faiss.IndexBinaryFlat(d);
    await flat.add(all);
    assert.deepEqual(got, await flat.rangeSearch(xq, radius));

    const codes = await api().post(I('bflat', 'reconstruct'), { ids: [0, 301] });
    assert.deepEqual(codes.json.codes, [base64Rows(xb)[0], base64Rows(more)[1]]);
  });

  it('a binary IVF trains, adds with ids, searches with nprobe, and removes by id', async () => {
    assert.equal((await api().post(I('bivf', 'train'), { codes: base64Rows(xb) })).status, 200);
    const ids = Array.from({ length: 300 }, (_, i) => 1000 + i);
    assert.equal((await api().post(I('bivf', 'add'), { codes: base64Rows(xb), ids })).status, 200);
    const r = await api().post(I('bivf', 'search'), { codes: base64Rows(xq), k: 3, nprobe: 4 });
    const want = await embedded(xb, 3);
    assert.deepEqual(r.json.distances, rows(want.distances, 3), 'nprobe = nlist: exhaustive');
    const removed = await api().post(I('bivf', 'remove'), { ids: [r.json.labels[0][0], 7] });
    assert.deepEqual([removed.json.removed, removed.json.ntotal], [1, 299]);
    const again = await api().post(I('bivf', 'search'), { codes: base64Rows(xq), k: 3, nprobe: 4 });
    assert.ok(!again.json.labels.flat().includes(r.json.labels[0][0]));
  });

  it('a binary HNSW searches with efSearch; it refuses removal (it would renumber)', async () => {
    assert.equal((await api().post(I('bhnsw', 'add'), { codes: base64Rows(xb) })).status, 200);
    const r = await api().post(I('bhnsw', 'search'), { codes: base64Rows(xq), k: 3, efSearch: 64 });
    assert.equal(r.status, 200);
    assert.equal(r.json.labels.length, 4);
    const refused = await api().post(I('bhnsw', 'remove'), { ids: [1] });
    assert.deepEqual([refused.status, refused.json.error.code], [422, 'ERR_UNSUPPORTED']);
  });

  it('a filtered search or range search of a binary index is 422 ERR_UNSUPPORTED in both wire formats (FAISS 1.7.3 binary indexes take no selector)', async () => {
    const json = await api().post(I('bflat', 'search'), { codes: base64Rows(xq), k: 3, filter: { not: { ids: [1] } } });
    assert.deepEqual([json.status, json.json.error.code], [422, 'ERR_UNSUPPORTED'], JSON.stringify(json.json));
    const range = await api().post(I('bflat', 'range_search'), { codes: base64Rows(xq), radius: 20, filter: { idRange: [0, 10] } });
    assert.deepEqual([range.status, range.json.error.code], [422, 'ERR_UNSUPPORTED'], JSON.stringify(range.json));
    const part = selectorPart(new faiss.IDSelectorRange(0, 10));
    const body = new Uint8Array([...xq, ...part]);
    const bin = await api().post(`${I('bflat', 'search')}?k=3&filterBytes=${part.length}`, undefined, { body });
    assert.deepEqual([bin.status, bin.json.error.code], [422, 'ERR_UNSUPPORTED'], JSON.stringify(bin.json));
    // The rows before the filter part are still checked as codes: a malformed part is the request's error first.
    const bad = await api().post(`${I('bflat', 'search')}?k=3&filterBytes=8`, undefined, { body: new Uint8Array([...xq, 9, 0, 0, 0, 0, 0, 0, 0]) });
    assert.equal(bad.status, 400, JSON.stringify(bad.json));
  });

  it('exports a file python can read as a binary index, and imports one', async () => {
    const exported = await api().get(I('bflat', 'export'));
    const copy = await faiss.deserializeIndexBinary(exported.bytes);
    assert.deepEqual([copy.typeName, copy.ntotal], ['IndexBinaryFlat', 350]);
    const imported = await api().put(I('bcopy', 'import'), { body: exported.bytes });
    assert.equal(imported.status, 201, JSON.stringify(imported.json));
    assert.deepEqual([imported.json.type, imported.json.metric, imported.json.ntotal], ['IndexBinaryFlat', 'Hamming', 350]);
    const r = await api().post(I('bcopy', 'search'), { codes: base64Rows(xq), k: 5 });
    assert.deepEqual(r.json.labels, rows((await embedded(new Uint8Array([...xb, ...more]), 5)).labels, 5));
  });

  it('acknowledged writes survive SIGKILL and a restart (log replay, then snapshot)', async () => {
    const before = await api().post(I('bivf', 'search'), { codes: base64Rows(xq), k: 4, nprobe: 4 });
    const flatBefore = await api().post(I('bflat', 'search'), { codes: base64Rows(xq), k: 4 });
    // One more acknowledged add, in the raw format with ids, right before the kill.
    const withIds = Buffer.concat([Buffer.from(more.subarray(0, 2 * codeSize)), Buffer.from(new BigInt64Array([5000n, 5001n]).buffer)]);
    assert.equal((await api().post(`${I('bivf', 'add')}?ids=true`, undefined, { body: withIds })).status, 200);
    assert.equal(await s.stop('SIGKILL'), null);
    s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey });
    const info = await api().get(I('bivf'));
    assert.deepEqual([info.json.type, info.json.ntotal, info.json.isTrained], ['IndexBinaryIVF', 301, true]);
    const flatAfter = await api().post(I('bflat', 'search'), { codes: base64Rows(xq), k: 4 });
    assert.deepEqual(flatAfter.json, flatBefore.json);
    const found = await api().post(I('bivf', 'search'), { codes: base64Rows(more.subarray(0, 2 * codeSize)), k: 1, nprobe: 4 });
    assert.deepEqual(found.json.labels, [[5000], [5001]]);
    assert.deepEqual(found.json.distances, [[0], [0]]);
    const after = await api().post(I('bivf', 'search'), { codes: base64Rows(xq), k: 4, nprobe: 4 });
    // The two new codes may be nearer some queries; the rest of the answer is the one from before.
    for (let q = 0; q < 4; q++) {
      const kept = after.json.labels[q].filter((l: number) => l < 5000);
      assert.deepEqual(kept, before.json.labels[q].slice(0, kept.length));
    }
    // Then a clean shutdown snapshots, and the next start reads the snapshot.
    assert.equal(await s.stop('SIGTERM'), 0);
    s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey });
    assert.deepEqual((await api().post(I('bflat', 'search'), { codes: base64Rows(xq), k: 4 })).json, flatBefore.json);
    assert.equal((await api().get(I('bivf'))).json.ntotal, 301);
  });
});
