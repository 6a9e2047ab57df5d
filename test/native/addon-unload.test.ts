// A process whose main thread never loads the addon: a worker thread loads it, runs
// a FAISS call that starts OpenMP and OpenBLAS threads, and ends. Node then unloads
// the addon with the worker's environment, and with it libgomp and OpenBLAS, whose
// threads were still alive: SIGSEGV at an address in no library, every time (with
// the search lanes off; with them on, the lanes pinned the addon, which hid it).
// The main thread must not load the addon, so this spawns node itself rather than
// using test/support/crash-case.ts, whose child loads the library first.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';

const LIB = path.resolve(__dirname, '..', '..', 'lib');

function workerScript(lanes: number, work: string): string {
  return `
    const faiss = require(${JSON.stringify(LIB)});
    faiss.setInlineSearchBudget(0);
    faiss.setSearchLanes({ threads: ${lanes} });
    const x = new Float32Array(20000 * 32).map((_, i) => Math.sin(i));
    const index = new faiss.IndexFlatL2(32);
    index.add(x).then(() => ${work}).then(() => require('node:worker_threads').parentPort.postMessage('done'));`;
}

function runInWorkers(script: string, workers: number) {
  const main = `
    const { Worker } = require('node:worker_threads');
    (async () => {
      for (let i = 0; i < ${workers}; i++) {
        const worker = new Worker(${JSON.stringify(script)}, { eval: true });
        await new Promise((resolve, reject) => { worker.on('message', resolve); worker.on('error', reject); });
        await worker.terminate();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      console.log('alive');
    })();`;
  return spawnSync(process.execPath, ['-e', main], { encoding: 'utf8', timeout: 60_000 });
}

describe('native: the addon stays loaded while threads it started live', function () {
  this.timeout(120_000);

  const work: Record<string, string> = {
    'a batch search': 'index.search(x.subarray(0, 32 * 64), 4)',
    'a training': 'new faiss.IndexIVFFlat(new faiss.IndexFlatL2(32), 32, 16).train(x)',
    'a range search': 'index.rangeSearch(x.subarray(0, 32 * 64), 0.5)',
  };
  for (const [name, call] of Object.entries(work)) {
    it(`after a worker that ran ${name} (lanes off) ends`, () => {
      const child = runInWorkers(workerScript(0, call), 2);
      assert.equal(child.signal, null, `${child.signal}: ${child.stderr}`);
      assert.equal(child.status, 0, child.stderr);
      assert.equal(child.stdout, 'alive\n');
    });
  }
});
