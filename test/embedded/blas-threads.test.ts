// OpenBLAS's threads must not spin after a matrix product (lib/native.ts,
// quietOpenBlasThreads): by default they burn a core for ~0.1 s after each one.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { randomVectors } from '../support/data';

/** CPU time (clock ticks) used so far by every thread of this process. */
function processTicks(): number {
  let ticks = 0;
  for (const task of fs.readdirSync('/proc/self/task')) {
    try {
      const stat = fs.readFileSync(`/proc/self/task/${task}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      ticks += Number(fields[11]) + Number(fields[12]); // utime, stime
    } catch {
      // the thread ended meanwhile
    }
  }
  return ticks;
}

describe('OpenBLAS threads', function () {
  this.timeout(60_000);

  it('sleep right after a batch search instead of spinning for a tenth of a second', async () => {
    assert.equal(process.env.OPENBLAS_THREAD_TIMEOUT, '4');
    const d = 64;
    const index = new faiss.IndexFlatL2(d);
    await index.add(randomVectors(50_000, d, 81));
    // The quietest of three tries: a spinning OpenBLAS thread spins after every
    // product (each try ~10-15 ticks at 100 Hz of the 30), while another thread's
    // stray work (a GC, the shared machine's tick accounting) lands in one try at most.
    // FAISS's BLAS products (500 queries >= FAISS's threshold of 20), not the
    // addon's own batch kernel, which multiplies in registers.
    const tries: number[] = [];
    for (let t = 0; t < 3; t++) {
      faiss.setKernels({ flatBatch: false });
      try {
        await index.search(randomVectors(500, d, 82 + t), 10);
      } finally {
        faiss.setKernels({ flatBatch: true });
      }
      const before = processTicks();
      await new Promise((resolve) => setTimeout(resolve, 300));
      tries.push(processTicks() - before);
    }
    // An idle process uses 0-2.
    assert.ok(Math.min(...tries) < 8, `the process used ${tries.join(', ')} clock ticks of CPU in the 300 ms after each of three batch searches`);
    index.dispose();
  });

  it('a value the user set is left as it is', () => {
    const out = execFileSync(process.execPath, ['-e', `require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'lib'))}); console.log(process.env.OPENBLAS_THREAD_TIMEOUT)`], {
      env: { ...process.env, OPENBLAS_THREAD_TIMEOUT: '20' },
      encoding: 'utf8',
    });
    assert.equal(out.trim(), '20');
  });
});
