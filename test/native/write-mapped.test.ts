// writeIndex replaces a file by renaming a new one over it: an index memory-mapped
// from the old file keeps answering from the old file's pages. Before, FAISS
// truncated the file in place and rewrote it, and the mapped index's next search
// died of SIGBUS (issue 24).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { IndexFlatL2, IndexIVFFlat, readIndex, writeIndex } from '../../lib';
import { brokenPromise, runCase } from '../support/crash-case';
import { randomVectors } from '../support/data';

describe('writeIndex over a memory-mapped file', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(() => (dir = fs.mkdtempSync(path.join(os.tmpdir(), 'write-mapped-'))));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the mapped index still answers, as before, after the path is rewritten with a smaller index', async () => {
    const file = path.join(dir, 'ivf.index');
    const o = await runCase(`
      const d = 16, x = new Float32Array(4000 * d).map((_, i) => Math.sin(i * 12.9898) * 0.5 + 0.5);
      const ivf = new faiss.IndexIVFFlat(new faiss.IndexFlatL2(d), d, 8);
      await ivf.train(x);
      await ivf.add(x);
      ivf.nprobe = 8;
      await faiss.writeIndex(ivf, ${JSON.stringify(file)});
      const mapped = await faiss.readIndex(${JSON.stringify(file)}, { mmap: true });
      mapped.nprobe = 8;
      const before = [...(await mapped.search(x.subarray(0, 5 * d), 3)).labels].join();
      const small = new faiss.IndexFlatL2(d);
      await small.add(x.subarray(0, d));
      await faiss.writeIndex(small, ${JSON.stringify(file)});
      const after = [...(await mapped.search(x.subarray(0, 5 * d), 3)).labels].join();
      return [before, after];`);
    assert.equal(brokenPromise(o), undefined);
    const [before, after] = o.value as [string, string];
    assert.equal(after, before);
  });

  it('the new file is complete and leaves no temporary file behind', async () => {
    const d = 8;
    const file = path.join(dir, 'x.index');
    fs.writeFileSync(file, 'old contents');
    const ivf = new IndexIVFFlat(new IndexFlatL2(d), d, 2);
    await ivf.train(randomVectors(200, d, 1));
    await ivf.add(randomVectors(50, d, 2));
    await writeIndex(ivf, file);
    assert.deepEqual(fs.readdirSync(dir), ['x.index']);
    const back = await readIndex(file);
    assert.equal(back.ntotal, 50);
    back.dispose();
    ivf.dispose();
  });

  it('a path in a missing directory is ERR_IO and creates nothing', async () => {
    const ix = new IndexFlatL2(4);
    await assert.rejects(writeIndex(ix, path.join(dir, 'missing', 'x.index')), (e: { code?: string }) => e.code === 'ERR_IO');
    assert.deepEqual(fs.readdirSync(dir), []);
    ix.dispose();
  });
});
