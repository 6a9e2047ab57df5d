// Every search, range search and index construction is held to the per-call
// memory limit (setMemoryLimits) before it allocates, and an allocation the
// process cannot make is ERR_RESOURCE_LIMIT, never an abort. Each case runs in a
// process of its own with its resident memory bounded, so that memory exhaustion
// shows as such (the cases took 1.7 to 9.3 GB, or aborted, before).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as faiss from '../../lib';
import { brokenPromise, runCase, type CaseOptions } from '../support/crash-case';
import { PYTHON, sameRange } from '../support/oracle';
import { call, client, makeTenant, startServer, type ServerProcess } from '../support/server';

const MAX_RSS = 640 * 2 ** 20;

async function expectCode(body: string, code: string | undefined, options: CaseOptions = {}): Promise<unknown> {
  const outcome = await runCase(body, { maxRssBytes: MAX_RSS, timeoutMs: 60_000, ...options });
  const broken = brokenPromise(outcome, MAX_RSS);
  assert.equal(broken, undefined, broken);
  if (code === undefined) assert.equal(outcome.status, 'value', `${outcome.code}: ${outcome.message}`);
  else {
    assert.equal(outcome.code, code, `${outcome.status}: ${outcome.message}`);
    if (code === 'ERR_RESOURCE_LIMIT') assert.match(outcome.message!, /perCallBytes|could not allocate/);
  }
  return outcome.value;
}

const flat = (d: number, n: number) => `
  const index = new faiss.IndexFlatL2(${d});
  await index.add(Float32Array.from({ length: ${n * d} }, (_, i) => Math.sin(i * 0.7)));`;
const hnsw = `
  const index = new faiss.IndexHNSWFlat(4, 16);
  await index.add(Float32Array.from({ length: 50 * 4 }, (_, i) => Math.cos(i)));`;

describe('native: the per-call memory limit', function () {
  this.timeout(120_000);

  it('defaults to 1 GiB, can be set, and refuses values out of range or of the wrong kind', () => {
    const before = faiss.getMemoryLimits();
    try {
      faiss.setMemoryLimits({ perCallBytes: 2 ** 30 });
      assert.deepEqual(faiss.getMemoryLimits(), { perCallBytes: 2 ** 30 });
      faiss.setMemoryLimits({ perCallBytes: 5 * 2 ** 20 });
      assert.equal(faiss.getMemoryLimits().perCallBytes, 5 * 2 ** 20);
      for (const bad of [{ perCallBytes: 1000 }, { perCallBytes: 2 ** 51 }, { perCallBytes: 2 ** 20 + 0.5 }, { perBytes: 1 }, null, 5]) {
        assert.throws(() => faiss.setMemoryLimits(bad as never), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT', JSON.stringify(bad));
      }
    } finally {
      faiss.setMemoryLimits(before);
    }
  });

  it('search nq=256, k=2^20 (3 GiB of results; peaked at 9.3 GB): ERR_RESOURCE_LIMIT before allocating', async () => {
    await expectCode(`${flat(4, 100)} await index.search(new Float32Array(256 * 4), 2 ** 20);`, 'ERR_RESOURCE_LIMIT');
  });

  it('a refused search says what it would allocate: its results and its temporary buffers', async () => {
    const before = faiss.getMemoryLimits();
    const index = new faiss.IndexFlatL2(4);
    try {
      await index.add(new Float32Array(100 * 4).fill(1));
      faiss.setMemoryLimits({ perCallBytes: 8 * 2 ** 20 });
      await assert.rejects(index.search(new Float32Array(200 * 4), 5000), (e: faiss.FaissError) => {
        assert.equal(e.code, 'ERR_RESOURCE_LIMIT');
        assert.match(e.message, /^search would allocate [\d.]+ MiB \(results 11\.4 MiB, temporary buffers [\d.]+ [KM]iB\), above the per-call memory limit \(perCallBytes\) of 8\.0 MiB$/);
        return true;
      });
      await index.search(new Float32Array(200 * 4), 10); // within the limit: answered
    } finally {
      faiss.setMemoryLimits(before);
      index.dispose();
    }
  });

  it('search k=10000 with 3,000 queries (360 MB) under a 256 MiB limit, as the service sets it: ERR_RESOURCE_LIMIT', async () => {
    await expectCode(
      `faiss.setMemoryLimits({ perCallBytes: 256 * 2 ** 20 }); ${flat(4, 100)}
       await index.search(new Float32Array(3000 * 4), 10000);`,
      'ERR_RESOURCE_LIMIT',
    );
  });

  it('a search within the limit still answers in full', async () => {
    const value = await expectCode(
      `faiss.setMemoryLimits({ perCallBytes: 8 * 2 ** 20 }); ${flat(4, 100)}
       const r = await index.search(new Float32Array(300 * 4), 100);
       return [r.labels.length, r.labels.filter((l) => l < 0n).length];`,
      undefined,
    );
    assert.deepEqual(value, [30000, 0]);
  });

  it('efSearch 2^27 per call on a 50-vector HNSW (took +991 MB): ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`${hnsw} await index.search(new Float32Array(4), 1, { efSearch: 2 ** 27 });`, 'ERR_RESOURCE_LIMIT');
  });

  it('efSearch 2^30 set as the property, then a search: ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`${hnsw} index.efSearch = 2 ** 30; await index.search(new Float32Array(4 * 10), 5);`, 'ERR_RESOURCE_LIMIT');
  });

  it('efConstruction 2^30, then an add: ERR_RESOURCE_LIMIT', async () => {
    await expectCode(`${hnsw} index.efConstruction = 2 ** 30; await index.add(new Float32Array(4 * 10));`, 'ERR_RESOURCE_LIMIT');
  });

  it('nprobe 2^30 on an IVF index: FAISS clamps it to nlist, and the search answers', async () => {
    const value = await expectCode(
      `const index = faiss.indexFactory(4, 'IVF4,Flat');
       const x = Float32Array.from({ length: 400 * 4 }, (_, i) => Math.sin(i));
       await index.train(x); await index.add(x);
       const r = await index.search(x.subarray(0, 1000 * 4), 1, { nprobe: 2 ** 30 });
       return Array.from(r.labels.subarray(0, 5), String);`,
      undefined,
    );
    assert.deepEqual(value, ['0', '1', '2', '3', '4']);
  });

  it('an unbounded rangeSearch radius on 50k vectors (every vector matches every query): ERR_RESOURCE_LIMIT, memory bounded', async () => {
    await expectCode(
      `faiss.setMemoryLimits({ perCallBytes: 64 * 2 ** 20 }); ${flat(16, 50000)}
       await index.rangeSearch(Float32Array.from({ length: 2000 * 16 }, (_, i) => Math.cos(i)), 1e30);`,
      'ERR_RESOURCE_LIMIT',
      { maxRssBytes: 400 * 2 ** 20 },
    );
  });

  it('a range search run in blocks under a small limit answers what one FAISS call answers (python3-faiss)', async () => {
    const d = 8;
    const x = Float32Array.from({ length: 3000 * d }, (_, i) => Math.sin(i * 0.37));
    const q = Float32Array.from({ length: 60 * d }, (_, i) => Math.cos(i * 0.11));
    const before = faiss.getMemoryLimits();
    const index = new faiss.IndexFlatL2(d);
    await index.add(x);
    let r: faiss.RangeSearchResult;
    try {
      // (5 MiB - the 4 MiB BLAS block - lims and norms) / 24 bytes: about 43,000
      // results, 14 queries of up to 3,000 each a block.
      faiss.setMemoryLimits({ perCallBytes: 5 * 2 ** 20 });
      r = await index.rangeSearch(q, 2.0);
    } finally {
      faiss.setMemoryLimits(before);
    }
    const script = `
import faiss, numpy as np, json, sys
d = ${d}
x = np.sin(np.arange(3000 * d) * 0.37).astype('float32').reshape(-1, d)
q = np.cos(np.arange(60 * d) * 0.11).astype('float32').reshape(-1, d)
index = faiss.IndexFlatL2(d); index.add(x)
lims, D, I = index.range_search(q, 2.0)
print(json.dumps({'lims': lims.tolist(), 'labels': I.tolist(), 'distances': D.tolist()}))
`;
    const want = JSON.parse(execFileSync(PYTHON, ['-c', script], { encoding: 'utf8' }));
    assert.ok(want.lims[60] > 30_000, `the case must need several blocks (${want.lims[60]} results)`);
    // Blocks may order a query's results otherwise; results at the radius itself are
    // ties the two FAISS builds' rounding may decide either way.
    const diff = sameRange({ lims: Array.from(r.lims, Number), labels: Array.from(r.labels, Number), distances: r.distances }, want, 2.0, true);
    assert.equal(diff, null, diff ?? '');
  });

  it('under an address-space limit, results and temporary buffers the process cannot allocate are ERR_RESOURCE_LIMIT, not an abort', async () => {
    const body = `
      faiss.setMemoryLimits({ perCallBytes: 2 ** 40 }); // the estimates let everything through
      const codes = [];
      ${flat(4, 100)}
      try { await index.search(new Float32Array(256 * 4), 2 ** 20); codes.push('answered'); } catch (e) { codes.push(e.code); }
      const h = new faiss.IndexHNSWFlat(4, 16);
      await h.add(new Float32Array(200).map(Math.random));
      try { await h.search(new Float32Array(4 * 8), 1, { efSearch: 2 ** 28 }); codes.push('answered'); } catch (e) { codes.push(e.code); }
      return codes;`;
    const outcome = await runCase(body, { maxRssBytes: MAX_RSS, timeoutMs: 60_000, addressSpaceBytes: 3 * 10 ** 9 });
    const broken = brokenPromise(outcome, MAX_RSS);
    assert.equal(broken, undefined, broken);
    assert.deepEqual(outcome.value, ['ERR_RESOURCE_LIMIT', 'ERR_RESOURCE_LIMIT']);
  });

  it('reconstructN past the limit (its answer is an ArrayBuffer, whose failed allocation aborts): ERR_RESOURCE_LIMIT; within it, the vectors', async () => {
    await expectCode(`faiss.setMemoryLimits({ perCallBytes: 2 ** 20 }); ${flat(64, 5000)} await index.reconstructN(0, 5000);`, 'ERR_RESOURCE_LIMIT');
    const n = await expectCode(`faiss.setMemoryLimits({ perCallBytes: 2 ** 20 }); ${flat(64, 5000)} return (await index.reconstructN(0, 1000)).length;`, undefined);
    assert.equal(n, 1000 * 64);
  });

  it('construction: IVF and PQ tables over the limit are refused before FAISS allocates them', async () => {
    await expectCode(`return faiss.indexFactory(128, 'IVF16000000,Flat').typeName;`, 'ERR_RESOURCE_LIMIT');
    await expectCode(`return new faiss.IndexPQ(65536, 65536, 16).typeName;`, 'ERR_RESOURCE_LIMIT');
  });

  it('setNumThreads has a ceiling (4096 hung the process under an address-space limit): ERR_RESOURCE_LIMIT', async () => {
    assert.throws(() => faiss.setNumThreads(4096), (e: faiss.FaissError) => e.code === 'ERR_RESOURCE_LIMIT' && /at most \d+ threads/.test(e.message));
    assert.throws(() => faiss.setNumThreads(2 ** 31), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT');
    faiss.setNumThreads(2);
    assert.equal(faiss.getNumThreads(), 2);
    faiss.setNumThreads(0);
  });

  describe('over HTTP: --max-request-memory', () => {
    let server: ServerProcess;
    before(async () => {
      server = await startServer();
    });
    after(async () => {
      await server?.stop();
    });
    const rssOf = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

    it('k=10000 with 3,000 binary query rows (was 500 and +1.6 GB): 422 ERR_RESOURCE_LIMIT naming the flag, and the server stays small and healthy', async () => {
      const keys = await makeTenant(server, 'budget');
      const api = client(server.url, keys.write);
      assert.equal((await api.post('/v1/indexes', { name: 'f', dimension: 4, type: 'IndexFlatL2' })).status, 201);
      assert.equal((await api.post('/v1/indexes/f/add', { vectors: Array.from({ length: 100 }, (_, i) => [i, 0, 0, 1]) })).status, 200);
      const rows = Buffer.from(new Float32Array(3000 * 4).fill(0.5).buffer);
      const r = await call(server.url, 'POST', '/v1/indexes/f/search?k=10000', { key: keys.read, body: rows });
      assert.equal(r.status, 422, JSON.stringify(r.json));
      assert.equal(r.json.error.code, 'ERR_RESOURCE_LIMIT');
      assert.match(r.json.error.message, /--max-request-memory/);
      assert.match(r.json.error.message, /256\.0 MiB/);
      assert.ok(rssOf(server.proc.pid!) < 400 * 2 ** 20, `server RSS ${rssOf(server.proc.pid!)}`);
      const ok = await api.post('/v1/indexes/f/search', { vectors: [[1, 0, 0, 1]], k: 2 });
      assert.equal(ok.status, 200);
      assert.deepEqual(ok.json.labels, [[1, 0]]);
      assert.equal((await call(server.url, 'GET', '/healthz')).status, 200);
    });

    it('factory strings: over the limit 422 ERR_RESOURCE_LIMIT, outside the allow-list 422 ERR_UNSUPPORTED, sizes out of bounds 400', async () => {
      const keys = await makeTenant(server, 'factories');
      const api = client(server.url, keys.write);
      const cases: [string, number, number, string][] = [
        ['IVF16000000,Flat', 128, 422, 'ERR_RESOURCE_LIMIT'],
        ['IVF100000,Flat', 1024, 422, 'ERR_RESOURCE_LIMIT'],
        ['NSG32,Flat', 8, 422, 'ERR_UNSUPPORTED'],
        ['IVF4,PQ2+2', 8, 422, 'ERR_UNSUPPORTED'],
        ['IVF2000000000,Flat', 8, 400, 'ERR_INVALID_ARGUMENT'],
        ['HNSW100000,Flat', 8, 400, 'ERR_INVALID_ARGUMENT'],
      ];
      for (const [factory, dimension, status, code] of cases) {
        const r = await api.post('/v1/indexes', { name: 'x', dimension, factory });
        assert.equal(r.status, status, `${factory}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.error.code, code, factory);
      }
      assert.deepEqual((await api.get('/v1/indexes')).json.indexes, []);
    });
  });
});
