// Searches run on the addon's own threads, the search lanes (native/search_lanes.cc),
// rather than the libuv pool. These tests check that nothing a caller can see
// changes: the same answers and errors as through the pool, every promise settles
// across changes of the settings, the process neither exits under a pending search
// nor stays alive after the last one, a worker thread terminated mid-search takes
// nothing down with it, and long operations on the pool no longer hold searches up.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { Worker } from 'node:worker_threads';
import * as faiss from '../../lib';
import { randomVectors, row } from '../support/data';

const d = 16;
const xb = randomVectors(3000, d, 81);
const xq = randomVectors(64, d, 82);
const LIB = path.resolve(__dirname, '..', '..', 'lib');

/**
 * A script for another process or thread: loads the library with inline searches
 * off, adds n rows of d to a flat index, then runs `then` (with faiss, x and index
 * in scope).
 */
function flatIndexScript(n: number, d: number, then: string): string {
  return `
    const faiss = require(${JSON.stringify(LIB)});
    faiss.setInlineSearchBudget(0);
    const x = new Float32Array(${n} * ${d}).map((_, i) => Math.sin(i));
    const index = new faiss.IndexFlatL2(${d});
    index.add(x).then(async () => {${then}});`;
}

function laneJobs(): number {
  return faiss.poolStats().laneJobs;
}

async function indexes(): Promise<Record<string, faiss.Index>> {
  const flat = new faiss.IndexFlatL2(d);
  await flat.add(xb);
  const hnsw = new faiss.IndexHNSWFlat(d, 16);
  await hnsw.add(xb);
  const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 16);
  await ivf.train(xb);
  await ivf.add(xb);
  return { flat, hnsw, ivf };
}

/**
 * One-query k-NN searches for every query, all in flight together, one batch, and a
 * range search (HNSW has none in FAISS 1.7.3: its error is the answer there).
 */
async function answers(index: faiss.Index): Promise<string> {
  const params = index instanceof faiss.IndexIVFFlat ? { nprobe: 4 } : undefined;
  const singles = await Promise.all(Array.from({ length: 64 }, (_, i) => index.search(row(xq, d, i), 5, params)));
  const batch = await index.search(xq, 5, params);
  const range = await index.rangeSearch(xq.subarray(0, 8 * d), 1.5, params).then(
    (r) => [Array.from(r.lims, String), Array.from(r.distances), Array.from(r.labels, String)],
    (e: faiss.FaissError) => [e.code, e.message],
  );
  return JSON.stringify([singles.map((r) => [Array.from(r.distances), Array.from(r.labels, String)]), [Array.from(batch.distances), Array.from(batch.labels, String)], range]);
}

describe('search lanes', function () {
  this.timeout(120_000);
  const defaults = faiss.getSearchLanes();
  const defaultBudget = faiss.getInlineSearchBudget();
  let built: Record<string, faiss.Index>;
  before(async () => {
    built = await indexes();
    faiss.setInlineSearchBudget(0); // every search goes to the lanes or the pool
  });
  afterEach(() => faiss.setSearchLanes(defaults));
  after(() => faiss.setInlineSearchBudget(defaultBudget));

  it('are on by default, one per core, and say so', () => {
    assert.equal(defaults.threads, faiss.buildInfo().cores);
    assert.equal(defaults.spinMicroseconds, 1000);
  });

  it('give the pool\'s answers bit for bit (k-NN, batch and range; Flat, HNSW, IVF)', async () => {
    for (const [name, index] of Object.entries(built)) {
      faiss.setSearchLanes({ threads: 0 });
      const before = laneJobs();
      const pooled = await answers(index);
      assert.equal(laneJobs(), before, `${name}: with threads 0 nothing runs on the lanes`);
      faiss.setSearchLanes({ threads: 2, spinMicroseconds: 200 });
      const onLanes = await answers(index);
      assert.equal(laneJobs(), before + 66, `${name}: 64 singles, a batch and a range search ran on the lanes`);
      assert.equal(onLanes, pooled, name);
    }
  });

  it('reject with the same classified errors as the pool, among searches that succeed', async () => {
    // FAISS 1.7.3 throws from IndexHNSW::range_search: an error raised on the lane itself.
    const messages: string[] = [];
    for (const threads of [0, 2]) {
      faiss.setSearchLanes({ threads });
      const before = laneJobs();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => (i % 2 ? built.hnsw.rangeSearch(row(xq, d, i), 1) : built.flat.rangeSearch(row(xq, d, i), 1))),
      );
      results.forEach((r, i) => {
        if (i % 2) {
          assert.equal(r.status, 'rejected');
          const e = (r as PromiseRejectedResult).reason as faiss.FaissError;
          assert.ok(e instanceof faiss.FaissError);
          assert.equal(e.code, 'ERR_UNSUPPORTED');
          messages.push(e.message);
        } else assert.equal(r.status, 'fulfilled');
      });
      assert.equal(laneJobs() - before, threads ? 20 : 0);
    }
    assert.equal(new Set(messages).size, 1, messages.join('\n'));
  });

  it('settle every search while the settings change under load', async () => {
    const expected = await built.hnsw.search(xq, 3);
    const settings: Partial<faiss.SearchLanes>[] = [{ threads: 1 }, { threads: 4, spinMicroseconds: 0 }, { threads: 0 }, { threads: 2, spinMicroseconds: 2000 }, { threads: 1 }];
    const inFlight: Promise<void>[] = [];
    for (let round = 0; round < 40; round++) {
      faiss.setSearchLanes(settings[round % settings.length]);
      for (let i = 0; i < 16; i++) {
        const q = (round * 16 + i) % 64;
        inFlight.push(
          built.hnsw.search(row(xq, d, q), 3).then((r) => {
            assert.deepEqual(Array.from(r.labels), Array.from(expected.labels.subarray(q * 3, q * 3 + 3)));
          }),
        );
      }
      if (round % 3 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    await Promise.all(inFlight);
  });

  it('reject bad settings with ERR_INVALID_ARGUMENT and keep the old ones', () => {
    faiss.setSearchLanes({ threads: 3, spinMicroseconds: 10 });
    for (const bad of [null, 3, { threads: -1 }, { threads: 1.5 }, { threads: 2000 }, { spinMicroseconds: -1 }, { spinMicroseconds: 2_000_000 }, { threads: '2' }]) {
      assert.throws(() => faiss.setSearchLanes(bad as never), (e: faiss.FaissError) => e.code === 'ERR_INVALID_ARGUMENT', JSON.stringify(bad));
    }
    assert.deepEqual(faiss.getSearchLanes(), { threads: 3, spinMicroseconds: 10 });
    faiss.setSearchLanes({ spinMicroseconds: 0 });
    assert.deepEqual(faiss.getSearchLanes(), { threads: 3, spinMicroseconds: 0 });
  });

  it('keep the process alive while a search is pending, and let it exit after', () => {
    // Nothing but the search keeps this child's event loop alive: it must print the
    // answer (the lanes hold the loop while a search runs) and then exit by itself.
    const script = flatIndexScript(20_000, 32, `
      index.search(x.subarray(0, 32 * 50), 4).then((r) => console.log('answered', String(r.labels[0]), faiss.poolStats().laneJobs));`);
    const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    assert.match(child.stdout, /^answered 0 1\n$/);
  });

  it('let process.exit() end the process cleanly with searches in flight', () => {
    // process.exit() runs no environment cleanup: the lanes are stopped at exit, so
    // that no search is inside FAISS while its static objects are destroyed.
    const script = flatIndexScript(100_000, 64, `
      for (let i = 0; i < 16; i++) index.search(x.subarray(0, 64 * 200), 4);
      setTimeout(() => process.exit(3), 5);`);
    for (let i = 0; i < 3; i++) {
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(child.signal, null, child.stderr);
      assert.equal(child.status, 3, child.stderr);
    }
  });

  /** A worker thread's script: searches in a loop, saying 'answering' after its third round. */
  const searchingWorker = flatIndexScript(50_000, 32, `
      const { parentPort } = require('node:worker_threads');
      let answered = 0;
      for (;;) {
        await Promise.all(Array.from({ length: 8 }, (_, i) => index.search(x.subarray(i * 32, i * 32 + 32 * 20), 4)));
        if (++answered === 3) parentPort.postMessage('answering');
      }`);

  it('survive a worker thread terminated with searches in flight', async () => {
    const script = searchingWorker;
    for (let i = 0; i < 3; i++) {
      const worker = new Worker(script, { eval: true });
      await new Promise<void>((resolve, reject) => {
        worker.on('message', (m) => m === 'answering' && resolve());
        worker.on('error', reject);
      });
      await worker.terminate();
    }
    // This thread's searches are untouched.
    const r = await built.flat.search(row(xq, d, 0), 1);
    assert.equal(r.labels.length, 1);
  });

  it('survive worker threads terminated mid-search in a process whose main thread never loads the addon', () => {
    // Three ways this aborted or crashed the process: node-addon-api throwing an
    // uncatchable C++ exception for a call made as the worker stopped (with the
    // lanes on or off), and Node unloading the addon with the last worker that
    // loaded it while threads that outlive workers still ran its code: the lanes,
    // and (lanes off) OpenMP's and OpenBLAS's (test/native/addon-unload.test.ts).
    for (const threads of [2, 0]) {
      const script = `
        const { Worker } = require('node:worker_threads');
        const script = ${JSON.stringify(searchingWorker.replace('faiss.setInlineSearchBudget(0);', `faiss.setInlineSearchBudget(0); faiss.setSearchLanes({ threads: ${threads} });`))};
        (async () => {
          for (let i = 0; i < 12; i++) {
            const worker = new Worker(script, { eval: true });
            await new Promise((resolve, reject) => {
              worker.on('message', (m) => m === 'answering' && resolve());
              worker.on('error', reject);
            });
            await worker.terminate();
          }
          console.log('done');
        })();`;
      const child = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(child.signal, null, `threads ${threads}: ${child.stderr}`);
      assert.equal(child.status, 0, `threads ${threads}: ${child.stderr}`);
      assert.equal(child.stdout, 'done\n');
    }
  });

  it('are not held up by long operations on the libuv pool', async () => {
    // More trainings than the pool has threads (4 by default): through the pool, a
    // search queued after them waits for one to finish; on the lanes it does not.
    const train = randomVectors(40_000, 32, 83);
    const order: string[] = [];
    const trainings = Array.from({ length: 6 }, async () => {
      const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(32), 32, 256);
      await ivf.train(train);
      order.push('train');
    });
    const search = built.flat.search(row(xq, d, 1), 1).then(() => order.push('search'));
    await Promise.all([...trainings, search]);
    assert.equal(order[0], 'search', order.join(' '));
  });
});
