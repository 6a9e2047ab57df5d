// faiss-proxy/client needs no FAISS: the parity suite's remote half runs in a
// process where loading any native addon throws.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

describe('client without the native addon', function () {
  this.timeout(180_000);

  it('the remote parity suite passes with native addons disabled', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const out = execFileSync(
      process.execPath,
      ['-r', path.join(root, 'test', 'support', 'no-native.js'), path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--timeout', '120000', path.join(__dirname, 'parity.test.js')],
      { env: { ...process.env, PARITY_BACKENDS: 'remote' }, encoding: 'utf8' },
    );
    assert.match(out, /parity suite: remote/);
    assert.doesNotMatch(out, /parity suite: embedded/);
    assert.match(out, /\d+ passing/);
    assert.doesNotMatch(out, /failing/);
  });

  it('the remote collections (the contract suite and the remote-only tests) run with native addons disabled', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const files = ['collections-contract.test.js', 'collections-remote.test.js'].map((f) => path.join(__dirname, f));
    const out = execFileSync(
      process.execPath,
      ['-r', path.join(root, 'test', 'support', 'no-native.js'), path.join(root, 'node_modules', 'mocha', 'bin', 'mocha.js'), '--timeout', '120000', ...files],
      { encoding: 'utf8' },
    );
    assert.match(out, /collections contract: remote/);
    assert.match(out, /client: remote collections/);
    assert.match(out, /\d+ passing/);
    assert.doesNotMatch(out, /failing/);
  });

  it('the client entry point loads no native code', () => {
    const root = path.resolve(__dirname, '..', '..', '..');
    const out = execFileSync(
      process.execPath,
      ['-r', path.join(root, 'test', 'support', 'no-native.js'), '-e', `const c = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'client'))}); console.log(typeof c.connect, typeof c.FaissError)`],
      { encoding: 'utf8' },
    );
    assert.equal(out.trim(), 'function function');
  });
});
