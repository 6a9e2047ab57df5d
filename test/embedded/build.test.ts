// How the addon was built and linked: FAISS 1.7.3, OpenBLAS (not the reference
// BLAS), and the node-gyp build of the same sources (and its index sandbox) working too.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as faiss from '../../lib';

describe('build', () => {
  it('links FAISS 1.7.3', () => {
    assert.equal(faiss.buildInfo().faissVersion, '1.7.3');
  });

  it('uses OpenBLAS, not the reference BLAS', () => {
    void faiss.getNumThreads(); // the addon is loaded
    const maps = fs.readFileSync('/proc/self/maps', 'utf8');
    assert.match(maps, /libopenblas/);
    assert.doesNotMatch(maps, /\/blas\/libblas\.so/);
  });

  it('the node-gyp build (binding.gyp) loads and searches', function () {
    const gypAddon = path.resolve(__dirname, '..', '..', '..', 'build', 'Release', 'faiss_node.node');
    if (!fs.existsSync(gypAddon)) {
      if (process.env.FAISS_PROXY_CI) assert.fail(`${gypAddon} was not built`);
      this.skip();
    }
    const script = `
      const f = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'lib'))});
      const i = new f.IndexFlatL2(2);
      i.add(new Float32Array([0, 0, 5, 5])).then(() => i.search(new Float32Array([4, 4]), 1))
        .then(async (r) => {
          const copy = await f.deserializeIndex(await f.serializeIndex(i)); // through build/Release/faiss-proxy-sandbox
          console.log(String(r.labels[0]), require('fs').readFileSync('/proc/self/maps', 'utf8').includes(${JSON.stringify(gypAddon)}), copy.ntotal);
        });`;
    const out = execFileSync(process.execPath, ['-e', script], {
      env: { ...process.env, FAISS_PROXY_ADDON: gypAddon },
      encoding: 'utf8',
    });
    assert.equal(out.trim(), '1 true 2');
  });
});
