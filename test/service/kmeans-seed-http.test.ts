// kmeansSeed over HTTP (POST /v1/indexes/{name}/train's kmeansSeed) and in the
// remote client: the same code as embedded (set index.kmeansSeed, then train)
// trains python3-faiss's centroids for that seed, and the seed is logged with the
// training, so a server killed without a snapshot replays its log into the same
// index. Bad seeds are 400, a seed on an index without a k-means 422. A cluster's
// replicas and shards: test/cluster/kmeans-seed.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as embedded from '../../lib';
import { connect } from '../../lib/client';
import { CLUSTER_D as d, clusterCodes, clusterVectors } from '../support/kmeans-clusters';
import { PYTHON } from '../support/oracle';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const x = clusterVectors(1500, 5);
const codes = clusterCodes(x, 32);
const bytesOf = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** The same calls embedded and remote: the index's seed set (undefined: left as it is), trained; its FAISS file. */
async function trainedFile<I extends { kmeansSeed: number | undefined; train(x: never): Promise<void> }>(
  index: I,
  seed: number | undefined,
  rows: Float32Array | Uint8Array,
  serialize: (index: I) => Promise<Uint8Array>,
): Promise<Buffer> {
  if (seed !== undefined) index.kmeansSeed = seed;
  await index.train(rows as never);
  return Buffer.from(await serialize(index));
}

describe('kmeansSeed over HTTP and in the remote client', function () {
  this.timeout(60_000);
  let server: ServerProcess;
  let keys: { write: string };
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'kmeans-seed-http-'));
  before(async () => {
    server = await startServer();
    keys = await makeTenant(server, 'acme');
  });
  after(async () => {
    await server?.stop('SIGKILL');
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("trains python3-faiss's centroids for the seed (remote client, JSON, binary IVF), and a restart replaying the log trains them again", async () => {
    const api = connect({ url: server.url, apiKey: keys.write });
    const http = client(server.url, keys.write);
    // nlist 4: FAISS samples 1,024 of the 1,500 points, with the seed; nlist 8: all of them.
    const remoteIvf4 = (name: string) => api.indexFactory(d, 'IVF4,Flat', api.METRIC_L2, { name });
    const remoteCodes = new api.IndexBinaryIVF(new api.IndexBinaryFlat(32), 32, 4, { name: 'codes' });
    const exported: Record<string, Buffer> = {
      seeded: await trainedFile(remoteIvf4('seeded'), 99, x, api.serializeIndex),
      unseeded: await trainedFile(remoteIvf4('unseeded'), undefined, x, api.serializeIndex),
      codes: await trainedFile(remoteCodes, 99, codes, api.serializeIndexBinary),
    };
    assert.equal((await http.post('/v1/indexes', { name: 'json', dimension: d, factory: 'IVF8,Flat' })).status, 201);
    const byJson = await http.post('/v1/indexes/json/train', { vectors: Array.from({ length: 1500 }, (_, i) => [...x.subarray(i * d, (i + 1) * d)]), kmeansSeed: -5 });
    assert.equal(byJson.status, 200, JSON.stringify(byJson.json));
    exported.json = (await http.get('/v1/indexes/json/export')).bytes;

    // The one-line switch: the embedded module, the same calls, the same FAISS files.
    const ivf4 = embedded.indexFactory(d, 'IVF4,Flat');
    const ivfCodes = new embedded.IndexBinaryIVF(new embedded.IndexBinaryFlat(32), 32, 4);
    assert.ok(exported.seeded.equals(await trainedFile(ivf4, 99, x, embedded.serializeIndex)), 'remote seed 99: the embedded index file');
    assert.ok(exported.codes.equals(await trainedFile(ivfCodes, 99, codes, embedded.serializeIndexBinary)), 'remote binary seed 99: the embedded index file');
    ivf4.dispose();
    ivfCodes.dispose();
    assert.ok(!exported.seeded.equals(exported.unseeded), 'seed 99 is not the default');

    // python3-faiss: the centroids of each file, and its own training with the same seed.
    fs.writeFileSync(path.join(work, 'x.f32'), bytesOf(x));
    fs.writeFileSync(path.join(work, 'codes.u8'), bytesOf(codes));
    for (const [name, bytes] of Object.entries(exported)) fs.writeFileSync(path.join(work, `${name}.index`), bytes);
    const cases = { seeded: [4, 99], unseeded: [4, null], json: [8, -5] };
    fs.writeFileSync(path.join(work, 'cases.json'), JSON.stringify(cases));
    const script = `
import faiss, numpy as np, json, sys
w = sys.argv[1]
x = np.fromfile(w + '/x.f32', dtype='float32').reshape(-1, ${d})
faiss.omp_set_num_threads(2)
for name, (nlist, seed) in json.load(open(w + '/cases.json')).items():
    ours = faiss.read_index(w + '/%s.index' % name)  # held: the quantizer is freed with its index
    ours.quantizer.reconstruct_n(0, nlist).astype('float32').tofile(w + '/%s.ours' % name)
    made = faiss.index_factory(${d}, 'IVF%d,Flat' % nlist)  # held, as ours
    index = faiss.downcast_index(made)
    if seed is not None: index.cp.seed = seed
    index.train(x)
    index.quantizer.reconstruct_n(0, nlist).astype('float32').tofile(w + '/%s.py' % name)
b = faiss.IndexBinaryIVF(faiss.IndexBinaryFlat(32), 32, 4)
b.cp.seed = 99
b.train(np.fromfile(w + '/codes.u8', dtype='uint8').reshape(-1, 4))
faiss.serialize_index_binary(b).tofile(w + '/codes.py')
`;
    execFileSync(PYTHON, ['-c', script, work], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 60_000 });
    for (const name of Object.keys(cases)) {
      assert.ok(fs.readFileSync(path.join(work, `${name}.ours`)).equals(fs.readFileSync(path.join(work, `${name}.py`))), `${name}: python3-faiss's centroids, bit for bit`);
    }
    assert.ok(exported.codes.equals(fs.readFileSync(path.join(work, 'codes.py'))), "binary IVF seed 99: python3-faiss's index, byte for byte");

    // Killed: no snapshot, so the restarted server replays each log, seed and all.
    await server.stop('SIGKILL');
    server = await startServer({ dataDir: server.dataDir, adminKey: server.adminKey });
    const again = client(server.url, keys.write);
    for (const name of Object.keys(exported)) {
      const info = await again.get(`/v1/indexes/${name}`);
      assert.ok(info.json.logBytes > 0, `${name}: loaded by replaying its log (${info.json.logBytes} bytes)`);
      assert.ok((await again.get(`/v1/indexes/${name}/export`)).bytes.equals(exported[name]), `${name}: the same index after the replay`);
    }
  });

  it('refuses a bad seed (400), a seed on an index without a k-means (422), and the same Idempotency-Key with another seed', async () => {
    const http = client(server.url, keys.write);
    const rows = [[1, 2, 3, 4, 5, 6, 7, 8], [8, 7, 6, 5, 4, 3, 2, 1]];
    const binaryRows = bytesOf(new Float32Array(rows.flat()));
    assert.equal((await http.post('/v1/indexes', { name: 'flat', dimension: d, factory: 'Flat' })).status, 201);
    assert.equal((await http.post('/v1/indexes', { name: 'ivf', dimension: d, factory: 'IVF2,Flat' })).status, 201);
    const cases: [string, () => ReturnType<typeof http.post>, number, string][] = [
      ['a seed on a flat index (JSON)', () => http.post('/v1/indexes/flat/train', { vectors: rows, kmeansSeed: 7 }), 422, 'ERR_UNSUPPORTED'],
      ['a seed on a flat index (binary)', () => http.post('/v1/indexes/flat/train?kmeansSeed=7', undefined, { body: binaryRows }), 422, 'ERR_UNSUPPORTED'],
      ...[2 ** 31, -(2 ** 31) - 1, 1.5, '7', null].map((seed): [string, () => ReturnType<typeof http.post>, number, string] => [
        `kmeansSeed ${JSON.stringify(seed)} (JSON)`, () => http.post('/v1/indexes/ivf/train', { vectors: rows, kmeansSeed: seed }), 400, 'ERR_VALIDATION',
      ]),
      ...['2147483648', '-2147483649', '1.5', 'seven', '', '7&kmeansSeed=8'].map((seed): [string, () => ReturnType<typeof http.post>, number, string] => [
        `?kmeansSeed=${seed} (binary)`, () => http.post(`/v1/indexes/ivf/train?kmeansSeed=${seed}`, undefined, { body: binaryRows }), 400, 'ERR_VALIDATION',
      ]),
      ['?kmeansSeed with a JSON body', () => http.post('/v1/indexes/ivf/train?kmeansSeed=7', { vectors: rows }), 400, 'ERR_VALIDATION'],
    ];
    for (const [what, run, status, code] of cases) {
      const r = await run();
      assert.equal(r.status, status, `${what}: ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, code, what);
    }
    assert.equal((await http.get('/v1/indexes/ivf')).json.isTrained, false, 'nothing refused trained it');
    // The remote client: its setter takes any seed (as nprobe's), the train is refused by the server.
    const flat = await connect({ url: server.url, apiKey: keys.write }).openIndex('flat');
    flat.kmeansSeed = 7;
    await assert.rejects(flat.train(new Float32Array(rows.flat())), (e: embedded.FaissError) => e.code === 'ERR_UNSUPPORTED');

    // The seed is part of the request an Idempotency-Key stands for.
    const keyed = (seed: number) => http.post(`/v1/indexes/ivf/train?kmeansSeed=${seed}`, undefined, { body: binaryRows, headers: { 'Idempotency-Key': 'train-once' } });
    assert.equal((await keyed(-(2 ** 31))).status, 200);
    assert.equal((await keyed(-(2 ** 31))).status, 200, 'a retry');
    const other = await keyed(8);
    assert.equal(other.status, 422);
    assert.equal(other.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
  });
});
