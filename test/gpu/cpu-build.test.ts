// In the CPU build (this machine's, CI's) getNumGpus() is 0 and every other GPU call
// is ERR_UNSUPPORTED saying the addon was built without CUDA and how to build with it;
// hostile arguments change nothing of that, and crash nothing (each in its own process).
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';
import { runCase } from '../support/crash-case';
import { requireCpuBuild } from './support';

function assertNotBuilt(e: unknown, what: string): true {
  assert.ok(e instanceof faiss.FaissError, `${what}: ${String(e)}`);
  assert.equal(e.code, 'ERR_UNSUPPORTED', what);
  assert.match(e.message, /built without CUDA/, what);
  assert.match(e.message, /npm run build:native-gpu/, what);
  assert.ok(e.message.startsWith(what), `${what}: the message names the call: ${e.message}`);
  return true;
}

// Each GPU entry point, called as a user would, with well-formed arguments where there can be any.
const cpu = () => new faiss.IndexFlatL2(4);
const CALLS: Array<[string, () => unknown]> = [
  ['StandardGpuResources', () => new faiss.StandardGpuResources()],
  ['GpuIndexFlat', () => new faiss.GpuIndexFlat(undefined as never, 4)],
  ['GpuIndexFlat', () => new faiss.GpuIndexFlatL2(undefined as never, 4)],
  ['GpuIndexFlat', () => new faiss.GpuIndexFlatIP(undefined as never, 4, { device: 0 })],
  ['GpuIndexIVFFlat', () => new faiss.GpuIndexIVFFlat(undefined as never, 4, 16)],
  ['GpuIndexIVFPQ', () => new faiss.GpuIndexIVFPQ(undefined as never, 8, 16, 2, 8)],
  ['GpuIndexIVFScalarQuantizer', () => new faiss.GpuIndexIVFScalarQuantizer(undefined as never, 4, 16, faiss.ScalarQuantizer.QT_8bit)],
];
const ASYNC_CALLS: Array<[string, () => Promise<unknown>]> = [
  ['indexCpuToGpu', () => faiss.indexCpuToGpu(undefined as never, 0, cpu())],
  ['indexCpuToAllGpus', () => faiss.indexCpuToAllGpus(cpu())],
  ['indexGpuToCpu', () => faiss.indexGpuToCpu(cpu())],
];

describe('GPU API in the CPU build', function () {
  before(function () {
    requireCpuBuild(this, 'GPU API in the CPU build');
  });

  it('getNumGpus() is 0 and gpuMemory() is empty', () => {
    assert.equal(faiss.buildInfo().gpu, false);
    assert.equal(faiss.getNumGpus(), 0);
    assert.deepEqual(faiss.gpuMemory(), []);
  });

  for (const [what, call] of CALLS) {
    it(`${what} (${call.toString().replace(/^\(\) => /, '').slice(0, 60)}) throws ERR_UNSUPPORTED`, () => {
      assert.throws(call, (e) => assertNotBuilt(e, what));
    });
  }

  for (const [what, call] of ASYNC_CALLS) {
    it(`${what} rejects with ERR_UNSUPPORTED`, async () => {
      await assert.rejects(call(), (e) => assertNotBuilt(e, what));
    });
  }

  it('the error codes of GPU faults are part of ErrorCodes', () => {
    for (const code of ['ERR_GPU_OUT_OF_MEMORY', 'ERR_NO_SUCH_DEVICE', 'ERR_GPU_DRIVER']) assert.ok((faiss.ErrorCodes as readonly string[]).includes(code), code);
  });

  describe('hostile arguments, each in its own process', () => {
    // Getters that throw, Proxies, absurd numbers: the build is checked first, so
    // each is still ERR_UNSUPPORTED; none may crash or hang the process.
    const hostile = [
      'new Proxy({}, { get() { throw new Error("trap") } })',
      '{ get device() { throw new Error("getter") } }',
      '-1',
      '2 ** 60',
      'NaN',
      'Symbol("s")',
      '10n',
    ];
    const calls = (v: string) => [
      `new faiss.GpuIndexFlatL2(${v}, ${v}, ${v})`,
      `new faiss.GpuIndexIVFPQ(${v}, 8, ${v}, ${v}, 8, 1, ${v})`,
      `new faiss.GpuIndexIVFScalarQuantizer(${v}, ${v}, ${v}, ${v}, ${v}, ${v}, ${v})`,
      `await faiss.indexCpuToGpu(${v}, ${v}, ${v}, ${v})`,
      `await faiss.indexCpuToAllGpus(${v}, ${v})`,
      `await faiss.indexGpuToCpu(${v})`,
    ];
    it(`${hostile.length * calls('v').length} calls settle with ERR_UNSUPPORTED`, async function () {
      this.timeout(120_000);
      // One child per value keeps the count of processes (and the time) small; each call in it is separate.
      for (const v of hostile) {
        const each = calls(v);
        const outcome = await runCase(
          `const out = []; for (const f of [${each.map((c) => `async () => { ${c} }`).join(', ')}]) { try { await f(); out.push('no error'); } catch (e) { out.push(e.code + ': ' + e.message); } } return out;`,
        );
        assert.equal(outcome.status, 'value', `${v}: ${outcome.status} ${outcome.signal ?? ''} ${outcome.stderr}`);
        for (const [i, r] of (outcome.value as string[]).entries()) {
          assert.match(r, /^ERR_UNSUPPORTED: .*built without CUDA/, `${each[i]}: ${r}`);
        }
      }
    });
  });
});
