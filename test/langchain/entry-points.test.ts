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

  it('an ES module imports it and chains its retriever with @langchain/core\'s ESM build', () => {
    const script = `
      import { FaissProxyStore } from 'faiss-proxy/langchain';
      import { Document } from '@langchain/core/documents';
      import { FakeEmbeddings } from '@langchain/core/utils/testing';
      import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
      const docs = [new Document({ pageContent: 'kept', metadata: { s: 'b' } }), new Document({ pageContent: 'filtered out', metadata: { s: 'a' } })];
      const store = await FaissProxyStore.fromDocuments(docs, new FakeEmbeddings(), { collection: 'esm' });
      const retriever = store.asRetriever({ k: 2, filter: { must: [{ key: 's', match: { value: 'b' } }] } });
      const chain = RunnableSequence.from([retriever, RunnableLambda.from((found) => found.map((d) => d.pageContent).join(','))]);
      console.log(await chain.invoke('anything'));
      await store.close();`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8' }).trim();
    assert.equal(out, 'kept');
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
