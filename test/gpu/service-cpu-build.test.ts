// The service's GPU options where there is no GPU to use: device gpu is a clear 4xx
// (the server has no --gpu, and this addon no CUDA), serve --gpu refuses to start in
// the CPU build, and the options and create bodies are checked.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { FaissError } from '../../lib';
import { connect } from '../../lib/client';
import { loadConfig } from '../../service/config';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';
import { requireCpuBuild } from './support';

const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');

describe('service GPU options: config', () => {
  it('--gpu takes CUDA device numbers, comma-separated, each once; --gpu-memory bytes', () => {
    assert.deepEqual(loadConfig([], {}).gpu, []);
    assert.equal(loadConfig([], {}).gpuMemory, 0);
    assert.deepEqual(loadConfig(['--gpu', '0']).gpu, [0]);
    assert.deepEqual(loadConfig(['--gpu', '1, 0'], {}).gpu, [1, 0]);
    assert.deepEqual(loadConfig([], { FAISS_PROXY_GPU: '0,1' }).gpu, [0, 1]);
    assert.equal(loadConfig(['--gpu-memory', '1073741824'], {}).gpuMemory, 2 ** 30);
    for (const bad of ['a', '0,0', '-1', '0;1', '1.5', '0,', '99999']) {
      assert.throws(() => loadConfig(['--gpu', bad], {}), /gpu/, bad);
    }
    assert.throws(() => loadConfig(['--gpu-memory', '-5'], {}), /gpu memory/);
  });

  it('--gpu is refused with --cluster: replicas hold the same index, and a GPU computes otherwise', () => {
    assert.throws(() => loadConfig(['--gpu', '0', '--cluster', 'nats://127.0.0.1:4222'], {}), /--gpu \(FAISS_PROXY_GPU\) cannot be used with --cluster/);
    assert.throws(() => loadConfig([], { FAISS_PROXY_GPU: '0', FAISS_PROXY_CLUSTER: 'nats://127.0.0.1:4222' }), /cannot be used with --cluster/);
  });
});

describe('service GPU options in the CPU build', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let keys: { write: string };

  before(async function () {
    requireCpuBuild(this, 'service GPU options in the CPU build');
    s = await startServer();
    keys = await makeTenant(s, 'gpu');
  });
  after(async () => {
    await s?.stop();
  });

  it('serve --gpu 0 does not start: the addon was built without CUDA, and it says how to build with it', () => {
    const r = spawnSync(process.execPath, [CLI, 'serve', '--port', '0', '--data-dir', s.dataDir + '-gpu', '--gpu', '0'], { encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0, r.stdout);
    assert.match(r.stderr + r.stdout, /built without CUDA/);
    assert.match(r.stderr + r.stdout, /npm run build:native-gpu/);
  });

  it('creating an index with device gpu or gpu:<n> is 422 ERR_UNSUPPORTED saying why; nothing is created', async () => {
    const api = client(s.url, keys.write);
    for (const device of ['gpu', 'gpu:0', 'gpu:3']) {
      const r = await api.post('/v1/indexes', { name: `g-${device.replace(':', '')}`, dimension: 8, type: 'IndexFlatL2', device });
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'ERR_UNSUPPORTED');
      assert.match(r.json.error.message, /this server has no GPU .*built without CUDA.*npm run build:native-gpu/);
      assert.equal((await api.get(`/v1/indexes/g-${device.replace(':', '')}`)).status, 404);
    }
  });

  it('a device that is none of cpu, gpu, gpu:<n> is 400; device cpu is the default, and every index says its device', async () => {
    const api = client(s.url, keys.write);
    for (const device of ['tpu', 'gpu:', 'gpu:-1', 'GPU', 'gpu:1:2', 7, null, ['gpu']]) {
      const r = await api.post('/v1/indexes', { name: 'bad', dimension: 8, type: 'IndexFlatL2', device });
      assert.equal(r.status, 400, `${JSON.stringify(device)}: ${JSON.stringify(r.json)}`);
    }
    const created = await api.post('/v1/indexes', { name: 'oncpu', dimension: 8, type: 'IndexFlatL2', device: 'cpu' });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    assert.equal(created.json.device, 'cpu');
    const plain = await api.post('/v1/indexes', { name: 'plain', dimension: 8, type: 'IndexFlatL2' });
    assert.equal(plain.json.device, 'cpu');
    const overview = await client(s.url, s.adminKey).get('/v1/admin/overview');
    assert.deepEqual(overview.json.gpus, []);
    assert.ok(overview.json.indexes.every((i: { device: string }) => i.device === 'cpu'));
  });

  it('the remote client sends options.device, checks it, and gets the server refusal as a FaissError', async () => {
    const api = connect({ url: s.url, apiKey: keys.write });
    const onGpu = new api.IndexFlatL2(8, { name: 'remote-gpu', device: 'gpu' });
    await assert.rejects(onGpu.add(new Float32Array(8)), (e) => e instanceof FaissError && e.code === 'ERR_UNSUPPORTED' && /no GPU/.test(e.message));
    assert.throws(() => new api.IndexFlatL2(8, { device: 'tpu' as never }), (e) => e instanceof FaissError && e.code === 'ERR_INVALID_ARGUMENT' && /options\.device/.test(e.message));
    const onCpu = new api.IndexFlatL2(8, { name: 'remote-cpu', device: 'cpu' });
    await onCpu.add(new Float32Array(8));
    assert.equal(onCpu.ntotal, 1);
  });

  it('/metrics has no GPU series without --gpu', async () => {
    const r = await client(s.url, s.adminKey).get('/metrics');
    assert.equal(r.status, 200);
    assert.doesNotMatch(r.bytes.toString(), /faiss_proxy_gpu_\w+\{/);
  });
});
