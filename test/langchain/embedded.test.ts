// FaissProxyStore in process: in memory, and persisted in a directory (reopened).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FaissProxyStore } from '../../lib/langchain';
import { storeSuite } from './store-suite';
import { chunks, DIMENSION, HashEmbeddings, nearest } from './support';

describe('FaissProxyStore embedded in memory', () => {
  storeSuite(() => ({ options: (collection) => ({ collection }), shared: false }));
});

describe('FaissProxyStore embedded on disk', () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-langchain-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  storeSuite(() => ({ options: (collection) => ({ collection, path: dir }), shared: true }));

  it('what one store wrote, a store opened later on the same path retrieves', async () => {
    const docs = await chunks();
    const where = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-langchain-reopen-'));
    try {
      const writer = await FaissProxyStore.fromDocuments(docs, new HashEmbeddings(), { collection: 'articles', path: where });
      await writer.close();
      const reader = await FaissProxyStore.fromExistingCollection(new HashEmbeddings(), { collection: 'articles', path: where });
      try {
        const filter = { must: [{ key: 'source', match: { value: 'blog' } }] };
        const got = await reader.asRetriever({ k: 2, filter }).invoke('rainy Berlin');
        assert.deepEqual(got.map((d) => d.pageContent), nearest(docs, 'rainy Berlin', 2, (d) => d.metadata.source === 'blog').map((w) => w.text));
        assert.equal(await (await reader.getCollection()).count(), docs.length);
      } finally {
        await reader.close();
      }
    } finally {
      fs.rmSync(where, { recursive: true, force: true });
    }
  });
});

describe('FaissProxyStore stores on one directory', () => {
  it('share it while open (the directory is locked to one opener), and a store opened after they close reopens it', async () => {
    const where = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-langchain-shared-'));
    const embeddings = new HashEmbeddings();
    try {
      const docs = await chunks();
      const [a, b] = await Promise.all([
        FaissProxyStore.fromDocuments(docs.slice(0, 4), embeddings, { collection: 'a', path: where }),
        FaissProxyStore.fromDocuments(docs.slice(4), embeddings, { collection: 'b', path: where }),
      ]);
      await a.close();
      await a.close();
      assert.equal((await b.similaritySearch('Rome', 1)).length, 1, 'b still works after a closed');
      const c = new FaissProxyStore(embeddings, { collection: 'a', path: where });
      await b.close();
      try {
        assert.deepEqual((await c.similaritySearch('Madrid', 1)).map((d) => d.pageContent), nearest(docs.slice(0, 4), 'Madrid', 1).map((w) => w.text));
        const other = await c.getCollection();
        assert.equal(await other.count(), 4);
      } finally {
        await c.close();
      }
      const d = await FaissProxyStore.fromExistingCollection(embeddings, { collection: 'b', path: where });
      assert.equal(await (await d.getCollection()).count(), docs.length - 4);
      await d.close();
    } finally {
      fs.rmSync(where, { recursive: true, force: true });
    }
  });
});

describe('FaissProxyStore options', () => {
  const embeddings = new HashEmbeddings();
  const cases: [string, unknown, RegExp][] = [
    ['no options', undefined, /options/],
    ['no collection', {}, /options\.collection/],
    ['an empty collection name', { collection: '' }, /options\.collection/],
    ['url and path together', { collection: 'c', url: 'http://127.0.0.1:1', path: '/tmp/x' }, /exclude each other/],
    ['an apiKey without url', { collection: 'c', apiKey: 'k' }, /apiKey is for a remote store/],
    ['an unknown option', { collection: 'c', colection: 'd' }, /Unknown FaissProxyStore option "colection"/],
    ['an unknown metric', { collection: 'c', metric: 'cosine' }, /options\.metric/],
  ];
  for (const [what, options, message] of cases) {
    it(`refuses ${what} with ERR_INVALID_ARGUMENT`, () => {
      assert.throws(() => new FaissProxyStore(embeddings, options as never), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_ARGUMENT' && message.test(e.message));
    });
  }

  it('is the "faiss-proxy" vector store type', () => {
    assert.equal(new FaissProxyStore(embeddings, { collection: 'c' })._vectorstoreType(), 'faiss-proxy');
  });

  it('an IVF collection: ensureCollection creates it, it is trained, then documents are added and retrieved', async () => {
    const store = new FaissProxyStore(embeddings, { collection: 'ivf', factory: 'IVF4,Flat' });
    try {
      const docs = await chunks();
      await assert.rejects(store.addDocuments(docs), (e: { code?: string }) => e.code === 'ERR_NOT_TRAINED');
      const collection = await store.ensureCollection(DIMENSION);
      assert.deepEqual([(await collection.info()).factory, await collection.count()], ['IVF4,Flat', 0]);
      await collection.train(Array.from({ length: 200 }, (_, i) => HashEmbeddings.vector(`training text ${i} word${i % 17}`)));
      await store.addDocuments(docs);
      assert.equal(await (await store.ensureCollection(DIMENSION)).count(), docs.length, 'ensureCollection on an existing collection changes nothing');
      for (const doc of docs) {
        const [[found, score]] = await store.similaritySearchWithScore(doc.pageContent, 1);
        assert.equal(found.pageContent, doc.pageContent);
        assert.ok(Math.abs(score) < 1e-5);
      }
    } finally {
      await store.close();
    }
  });

  it('creates the collection with the factory and metric it is given', async () => {
    const store = new FaissProxyStore(embeddings, { collection: 'hnsw', factory: 'HNSW16', metric: 'ip', payloadIndexes: { source: 'keyword' } });
    try {
      await store.addDocuments((await chunks()).slice(0, 3));
      const info = await (await store.getCollection()).info();
      assert.deepEqual([info.factory, info.metric, info.payloadIndexes], ['HNSW16', 'ip', { source: 'keyword' }]);
      const [[, score]] = await store.similaritySearchWithScore((await chunks())[0].pageContent, 1);
      assert.ok(Math.abs(score - 1) < 1e-5, `an inner product of unit vectors: ${score}`);
    } finally {
      await store.close();
    }
  });
});
