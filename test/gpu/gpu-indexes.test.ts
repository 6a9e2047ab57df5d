// GPU indexes against the CPU's, on a machine with a GPU and the addon's CUDA build
// (scripts/gpu-check.sh runs them there); skipped elsewhere, saying why.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { runCase } from '../support/crash-case';
import { randomVectors } from '../support/data';
import { requireGpu } from './support';

const d = 32;
const xb = randomVectors(5000, d, 1601);
const xq = randomVectors(100, d, 1602);
const k = 10;

const coded = (code: string) => (e: unknown) => {
  assert.ok(e instanceof faiss.FaissError, String(e));
  assert.equal(e.code, code, e.message);
  return true;
};

/** Same labels for each query, ties aside (slots whose distances differ by less than `tol` may swap), distances within `tol`. */
function assertSameAnswers(gpu: faiss.SearchResult, cpu: faiss.SearchResult, nq: number, tol: number): void {
  for (let q = 0; q < nq; q++) {
    for (let j = 0; j < k; j++) {
      const at = q * k + j;
      const scale = Math.max(1, Math.abs(cpu.distances[at]));
      assert.ok(Math.abs(gpu.distances[at] - cpu.distances[at]) <= tol * scale, `query ${q} slot ${j}: ${gpu.distances[at]} vs ${cpu.distances[at]}`);
      if (gpu.labels[at] !== cpu.labels[at]) {
        // A tie: the CPU's label is at the same distance elsewhere in the GPU's row.
        const row = Array.from(gpu.labels.subarray(q * k, (q + 1) * k));
        const tie = Math.abs(cpu.distances[at] - gpu.distances[at]) <= tol * scale && (row.includes(cpu.labels[at]) || j === k - 1);
        assert.ok(tie, `query ${q} slot ${j}: label ${gpu.labels[at]} vs ${cpu.labels[at]}`);
      }
    }
  }
}

function recallAt10(result: faiss.SearchResult, truth: faiss.SearchResult, nq: number): number {
  let hits = 0;
  for (let q = 0; q < nq; q++) {
    const want = new Set(Array.from(truth.labels.subarray(q * k, (q + 1) * k)));
    for (const l of result.labels.subarray(q * k, (q + 1) * k)) if (want.has(l)) hits++;
  }
  return hits / (nq * k);
}

describe('GPU indexes (on a GPU)', function () {
  this.timeout(300_000);
  let gpus = 0;
  let res: faiss.StandardGpuResources;
  let exact: faiss.SearchResult;

  before(async function () {
    gpus = requireGpu(this, 'GPU indexes (on a GPU)');
    res = new faiss.StandardGpuResources();
    const cpu = new faiss.IndexFlatL2(d);
    await cpu.add(xb);
    exact = await cpu.search(xq, k);
    cpu.dispose();
  });

  for (const [name, make, cpuMake] of [
    ['GpuIndexFlatL2', () => new faiss.GpuIndexFlatL2(res, d), () => new faiss.IndexFlatL2(d)],
    ['GpuIndexFlatIP', () => new faiss.GpuIndexFlatIP(res, d), () => new faiss.IndexFlatIP(d)],
  ] as const) {
    it(`${name} answers as the CPU's flat index: the same labels, distances within 1e-4`, async () => {
      const gpu = make();
      const cpu = cpuMake();
      assert.equal(gpu.typeName, name);
      assert.ok(gpu instanceof faiss.GpuIndexFlat);
      assert.equal(gpu.device, 0);
      assert.equal(cpu.device, undefined);
      await gpu.add(xb);
      await cpu.add(xb);
      assert.equal(gpu.ntotal, xb.length / d);
      assertSameAnswers(await gpu.search(xq, k), await cpu.search(xq, k), xq.length / d, 1e-4);
      gpu.dispose();
      cpu.dispose();
    });
  }

  it('indexCpuToGpu of an IVFFlat: recall@10 within 0.01 of the CPU index it copies; nprobe reaches the GPU', async () => {
    const cpu = faiss.indexFactory(d, 'IVF64,Flat');
    await cpu.train(xb);
    await cpu.add(xb);
    cpu.nprobe = 4;
    const gpu = await faiss.indexCpuToGpu(res, 0, cpu);
    assert.equal(gpu.typeName, 'GpuIndexIVFFlat');
    assert.equal(gpu.nprobe, 4, 'the copy carries the CPU index nprobe');
    const nq = xq.length / d;
    const cpuRecall = recallAt10(await cpu.search(xq, k), exact, nq);
    const gpuRecall = recallAt10(await gpu.search(xq, k), exact, nq);
    assert.ok(Math.abs(gpuRecall - cpuRecall) <= 0.01, `GPU ${gpuRecall} vs CPU ${cpuRecall}`);
    gpu.nprobe = 64; // every list: exact
    assert.ok(recallAt10(await gpu.search(xq, k), exact, nq) >= 0.99);
    gpu.dispose();
    cpu.dispose();
  });

  it('GpuIndexIVFPQ and GpuIndexIVFScalarQuantizer train, add and search on the GPU', async () => {
    const nq = xq.length / d;
    for (const index of [
      new faiss.GpuIndexIVFPQ(res, d, 32, 8, 8, faiss.METRIC_L2, { useFloat16LookupTables: true }),
      new faiss.GpuIndexIVFScalarQuantizer(res, d, 32, faiss.ScalarQuantizer.QT_8bit),
      new faiss.GpuIndexIVFFlat(res, d, 32),
    ]) {
      assert.equal(index.isTrained, false);
      await assert.rejects(index.add(xb), coded('ERR_NOT_TRAINED'));
      await index.train(xb);
      await index.add(xb);
      index.nprobe = 32;
      const recall = recallAt10(await index.search(xq, k), exact, nq);
      assert.ok(recall > 0.5, `${index.typeName}: recall@10 ${recall}`);
      index.dispose();
    }
  });

  it('concurrent searches and adds on one GPU index: every answer is right, every add counted', async () => {
    const index = new faiss.GpuIndexFlatL2(res, d);
    await index.add(xb);
    const first = await index.search(xq.subarray(0, d), k);
    const adds = Array.from({ length: 20 }, (_, b) => index.add(randomVectors(50, d, 1700 + b).map((v) => v + 10)));
    // The added vectors are far from the query, so the query's answer never changes.
    const searches = Array.from({ length: 200 }, () => index.search(xq.subarray(0, d), k));
    const answers = await Promise.all(searches);
    await Promise.all(adds);
    for (const a of answers) assert.deepEqual(a.labels, first.labels);
    assert.equal(index.ntotal, xb.length / d + 20 * 50);
    index.dispose();
  });

  it('what FAISS GPU indexes cannot do is ERR_UNSUPPORTED: range search, filtered search, remove', async () => {
    const index = new faiss.GpuIndexFlatL2(res, d);
    await index.add(xb);
    assert.equal(index.filterable, false);
    assert.equal(index.batchable, true);
    await assert.rejects(index.rangeSearch(xq, 1), coded('ERR_UNSUPPORTED'));
    await assert.rejects(index.search(xq, k, { sel: new faiss.IDSelectorRange(0, 10) }), coded('ERR_UNSUPPORTED'));
    await assert.rejects(index.removeIds(BigInt64Array.of(1n)), coded('ERR_UNSUPPORTED'));
    index.dispose();
  });

  it('a device this machine does not have is ERR_NO_SUCH_DEVICE', async () => {
    assert.throws(() => new faiss.GpuIndexFlatL2(res, d, { device: gpus }), coded('ERR_NO_SUCH_DEVICE'));
    await assert.rejects(faiss.indexCpuToGpu(res, gpus, new faiss.IndexFlatL2(d)), coded('ERR_NO_SUCH_DEVICE'));
  });

  it('writeIndex and serializeIndex of a GPU index give the standard CPU file, which reads back to the same answers', async () => {
    const gpu = new faiss.GpuIndexFlatL2(res, d);
    await gpu.add(xb);
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'gpu-')), 'flat.faiss');
    await faiss.writeIndex(gpu, file);
    const fromFile = await faiss.readIndex(file);
    const fromBuffer = await faiss.deserializeIndex(await faiss.serializeIndex(gpu));
    const back = await faiss.indexGpuToCpu(gpu);
    for (const cpu of [fromFile, fromBuffer, back]) {
      assert.equal(cpu.typeName, 'IndexFlatL2');
      assertSameAnswers(await gpu.search(xq, k), await cpu.search(xq, k), xq.length / d, 1e-4);
    }
    await assert.rejects(faiss.indexGpuToCpu(back), coded('ERR_INVALID_ARGUMENT'));
    await assert.rejects(faiss.indexCpuToGpu(res, 0, gpu), coded('ERR_INVALID_ARGUMENT'));
    gpu.dispose();
  });

  it('indexCpuToAllGpus copies to every GPU and answers as the CPU index', async () => {
    const cpu = new faiss.IndexFlatL2(d);
    await cpu.add(xb);
    const all = await faiss.indexCpuToAllGpus(cpu);
    assertSameAnswers(await all.search(xq, k), exact, xq.length / d, 1e-4);
    all.dispose();
    cpu.dispose();
  });

  it('running out of GPU memory is ERR_GPU_OUT_OF_MEMORY, and the process goes on using the GPU', async () => {
    // Room reserved for 2^33 vectors of 1024 floats (32 TiB) fits no GPU.
    const outcome = await runCase(`
      const res = new faiss.StandardGpuResources();
      const cpu = faiss.indexFactory(1024, 'IVF16,Flat');
      await cpu.train(new Float32Array(1024 * 64).map((_, i) => Math.sin(i)));
      let code;
      try { await faiss.indexCpuToGpu(res, 0, cpu, { reserveVecs: 2 ** 33 }); } catch (e) { code = e.code + ': ' + e.message; }
      const after = new faiss.GpuIndexFlatL2(res, 4);
      await after.add(new Float32Array([0, 0, 0, 0, 1, 1, 1, 1]));
      const r = await after.search(new Float32Array([1, 1, 1, 1]), 1);
      return { code, label: Number(r.labels[0]) };
    `, { timeoutMs: 120_000 });
    assert.equal(outcome.status, 'value', `${outcome.status} ${outcome.signal ?? ''} ${outcome.stderr}`);
    const value = outcome.value as { code: string; label: number };
    assert.match(value.code, /^ERR_GPU_OUT_OF_MEMORY: /);
    assert.equal(value.label, 1);
  });

  it('StandardGpuResources: setTempMemory and noTempMemory take effect for later indexes; bad values are refused', async () => {
    const own = new faiss.StandardGpuResources();
    own.setTempMemory(64 * 1024 * 1024);
    own.noTempMemory();
    const index = new faiss.GpuIndexFlatL2(own, d);
    await index.add(xb);
    assertSameAnswers(await index.search(xq, k), exact, xq.length / d, 1e-4);
    assert.throws(() => own.setTempMemory(-1), coded('ERR_INVALID_ARGUMENT'));
    index.dispose();
  });
});
