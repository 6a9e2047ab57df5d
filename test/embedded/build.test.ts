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

  // The node-gyp build is the one `npm install` of the packed package makes: the test
  // command builds it in a fresh project (scripts/pack-check.sh); a developer's
  // `npm ci` also builds it inside the clone (build/Release).
  it('the node-gyp build (binding.gyp) loads and searches', function () {
    const root = path.resolve(__dirname, '..', '..', '..');
    const candidates = [
      path.join(root, 'test-artifacts', 'pack-check', 'project', 'node_modules', 'faiss-proxy', 'build', 'Release', 'faiss_node.node'),
      path.join(root, 'build', 'Release', 'faiss_node.node'),
    ];
    const gypAddon = candidates.find((p) => fs.existsSync(p));
    if (!gypAddon) {
      if (process.env.FAISS_PROXY_CI) assert.fail(`no node-gyp build: looked in ${candidates.join(', ')} (scripts/pack-check.sh builds the first)`);
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
