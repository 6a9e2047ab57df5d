// The service with GPUs (serve --gpu 0), on a machine with a GPU and the addon's CUDA
// build (scripts/gpu-check.sh runs it there); skipped elsewhere, saying why.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { randomVectors, row } from '../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';
import { requireGpu } from './support';

const d = 16;
const xb = randomVectors(2000, d, 1801);
const xq = randomVectors(8, d, 1802);
const rows = (x: Float32Array): number[][] => Array.from({ length: x.length / d }, (_, i) => Array.from(row(x, d, i)));

describe('service with a GPU (serve --gpu 0)', function () {
  this.timeout(180_000);
  let s: ServerProcess;
  let keys: { write: string };

  before(async function () {
    requireGpu(this, 'service with a GPU (serve --gpu 0)');
    s = await startServer({ args: ['--gpu', '0'] });
    keys = await makeTenant(s, 'g');
  });
  after(async () => {
    await s?.stop();
  });

  it('an index created with device gpu lives on GPU 0, answers as the CPU does, survives a restart, and exports a CPU FAISS file', async () => {
    let api = client(s.url, keys.write);
    const created = await api.post('/v1/indexes', { name: 'flat', dimension: d, type: 'IndexFlatL2', device: 'gpu' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.device, 'gpu:0');
    assert.equal(created.json.type, 'GpuIndexFlatL2');
    assert.equal((await api.post('/v1/indexes/flat/add', { vectors: rows(xb) })).status, 200);
    const cpu = new faiss.IndexFlatL2(d);
    await cpu.add(xb);
    const want = await cpu.search(xq, 5);
    const before = await api.post('/v1/indexes/flat/search', { vectors: rows(xq), k: 5 });
    assert.equal(before.status, 200, JSON.stringify(before.json));
    assert.deepEqual(before.json.labels.flat(), Array.from(want.labels, Number));

    await s.stop();
    s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey, args: ['--gpu', '0'] });
    api = client(s.url, keys.write);
    const after = await api.post('/v1/indexes/flat/search', { vectors: rows(xq), k: 5 });
    assert.deepEqual(after.json.labels, before.json.labels);
    const described = await api.get('/v1/indexes/flat');
    assert.equal(described.json.device, 'gpu:0');
    assert.equal(described.json.type, 'GpuIndexFlatL2');
    assert.equal(described.json.ntotal, 2000);

    const exported = await api.get('/v1/indexes/flat/export');
    const file = await faiss.deserializeIndex(exported.bytes);
    assert.equal(file.typeName, 'IndexFlatL2');
    assert.deepEqual(Array.from((await file.search(xq, 5)).labels, Number), before.json.labels.flat());

    const removed = await api.post('/v1/indexes/flat/remove', { ids: [0] });
    assert.equal(removed.status, 422);
    assert.equal(removed.json.error.code, 'ERR_UNSUPPORTED');
    const range = await api.post('/v1/indexes/flat/range_search', { vectors: rows(xq), radius: 1 });
    assert.equal(range.status, 422);
    assert.equal((await api.post('/v1/indexes', { name: 'hnsw', dimension: d, type: 'IndexHNSWFlat', device: 'gpu' })).status, 422);
    assert.equal((await api.post('/v1/indexes', { name: 'far', dimension: d, type: 'IndexFlatL2', device: 'gpu:7' })).json.error.code, 'ERR_NO_SUCH_DEVICE');
  });

  it('concurrent searches of a GPU IVF index are batched, and /metrics counts GPU 0 searches and memory', async () => {
    const api = client(s.url, keys.write);
    assert.equal((await api.post('/v1/indexes', { name: 'ivf', dimension: d, type: 'IndexIVFFlat', params: { nlist: 16, nprobe: 4 }, device: 'gpu:0' })).status, 201);
    assert.equal((await api.post('/v1/indexes/ivf/train', { vectors: rows(xb) })).status, 200);
    assert.equal((await api.post('/v1/indexes/ivf/add', { vectors: rows(xb) })).status, 200);
    const admin = client(s.url, s.adminKey);
    const stats = async () => {
      const text = (await admin.get('/metrics')).bytes.toString();
      const read = (name: string) => Number(new RegExp(`^${name}(\\{device="0"\\})? (\\S+)$`, 'm').exec(text)?.[2] ?? NaN);
      return { searches: read('faiss_proxy_search_requests_total'), batches: read('faiss_proxy_search_batches_total'), gpu: read('faiss_proxy_gpu_searches_total'), bytes: read('faiss_proxy_gpu_index_bytes') };
    };
    const start = await stats();
    await Promise.all(Array.from({ length: 64 }, (_, i) => api.post('/v1/indexes/ivf/search', { vectors: [Array.from(row(xq, d, i % 8))], k: 5 })));
    const end = await stats();
    assert.equal(end.searches - start.searches, 64);
    assert.ok(end.batches - start.batches < 64, `${end.batches - start.batches} FAISS calls for 64 concurrent searches`);
    assert.ok(end.gpu - start.gpu >= 64);
    assert.ok(end.bytes > 0);
  });

  it('--gpu-memory: past the budget the least recently used index on the GPU is evicted, and loads back on use', async () => {
    const t = await startServer({ args: ['--gpu', '0', '--gpu-memory', String(150 * 1024)] });
    try {
      const k = await makeTenant(t, 'b');
      const api = client(t.url, k.write);
      for (const name of ['a', 'b']) {
        assert.equal((await api.post('/v1/indexes', { name, dimension: d, type: 'IndexFlatL2', device: 'gpu' })).status, 201);
        assert.equal((await api.post(`/v1/indexes/${name}/add`, { vectors: rows(xb) })).status, 200); // 128 KiB each
      }
      let a = (await api.get('/v1/indexes')).json.indexes.find((i: { name: string }) => i.name === 'a');
      for (let i = 0; i < 50 && a.loaded; i++) {
        await new Promise((r) => setTimeout(r, 100));
        a = (await api.get('/v1/indexes')).json.indexes.find((x: { name: string }) => x.name === 'a');
      }
      assert.equal(a.loaded, false, 'a, the least recently used, was evicted');
      const again = await api.post('/v1/indexes/a/search', { vectors: rows(xq), k: 5 });
      assert.equal(again.status, 200);
    } finally {
      await t.stop();
    }
  });
});
