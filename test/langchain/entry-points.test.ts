// @langchain/core is an optional peer dependency: only faiss-proxy/langchain
// loads it, and a remote store loads no native code (as faiss-proxy/client).
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

const root = path.resolve(__dirname, '..', '..', '..');
const run = (script: string, preload: string[] = []): string =>
  execFileSync(process.execPath, [...preload.flatMap((p) => ['-r', p]), '-e', script], { cwd: root, encoding: 'utf8' }).trim();

const LANGCHAIN_LOADED = `Object.keys(require.cache).filter((f) => f.includes('@langchain')).length`;

describe('faiss-proxy/langchain entry point', function () {
  this.timeout(60_000);

  for (const entry of ['faiss-proxy', 'faiss-proxy/client']) {
    it(`${entry} does not load @langchain/core`, () => {
      assert.equal(run(`require(${JSON.stringify(entry)}); console.log(${LANGCHAIN_LOADED})`), '0');
    });
  }

  it('faiss-proxy/langchain exports FaissProxyStore, a LangChain VectorStore', () => {
    const out = run(
      `const { FaissProxyStore, PAGE_CONTENT_KEY } = require('faiss-proxy/langchain');
       const { VectorStore } = require('@langchain/core/vectorstores');
       console.log(FaissProxyStore.prototype instanceof VectorStore, PAGE_CONTENT_KEY, require.resolve('faiss-proxy/langchain').endsWith(${JSON.stringify(path.join('dist', 'lib', 'langchain', 'index.js'))}))`,
    );
    assert.equal(out, 'true _pageContent true');
  });

  it('a remote store loads no native code', () => {
    const out = run(
      `const { FaissProxyStore } = require('faiss-proxy/langchain');
       const { FakeEmbeddings } = require('@langchain/core/utils/testing');
       const store = new FaissProxyStore(new FakeEmbeddings(), { collection: 'c', url: 'http://127.0.0.1:9', apiKey: 'k' });
       store.getCollection().then((c) => console.log(typeof c.search, c.name));`,
      [path.join(root, 'test', 'support', 'no-native.js')],
    );
    assert.equal(out, 'function c');
  });
});
