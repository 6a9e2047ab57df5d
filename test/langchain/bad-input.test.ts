// Bad input to FaissProxyStore: each call fails with a FaissError and its code,
// and stores nothing. (What reaches the collection is checked by the collection's
// own validators, which have their hostile-input tables; these are the cases the
// store itself meets first.)
import { strict as assert } from 'node:assert';
import { Document } from '@langchain/core/documents';
import { FaissProxyStore } from '../../lib/langchain';
import { DIMENSION, HashEmbeddings } from './support';

class WrongCount extends HashEmbeddings {
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return (await super.embedDocuments(texts)).slice(1);
  }
}

class NotFinite extends HashEmbeddings {
  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map(() => new Array(DIMENSION).fill(Number.NaN));
  }
}

const doc = new Document({ pageContent: 'a document', metadata: { source: 'x' } });
const vector = HashEmbeddings.vector('a document');

type Call = (store: FaissProxyStore) => Promise<unknown>;
const CASES: [string, string, Call][] = [
  ['documents not an array', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments(null as never)],
  ['a null document', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([doc, null as never])],
  ['a pageContent that is not a string', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([{ pageContent: 5, metadata: {} } as never])],
  ['metadata that is an array', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([{ pageContent: 'x', metadata: [1] } as never])],
  ['metadata holding NaN', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([new Document({ pageContent: 'x', metadata: { n: Number.NaN } })])],
  ['metadata holding a function', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([new Document({ pageContent: 'x', metadata: { f: () => 1 } })])],
  ['a payload over the limit', 'ERR_PAYLOAD_TOO_LARGE', (s) => s.addDocuments([new Document({ pageContent: 'x'.repeat(70_000) })])],
  ['a hole in the documents', 'ERR_INVALID_ARGUMENT', (s) => s.addVectors([vector, vector], [doc, ,] as never)],
  ['a hole in the ids', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([doc, doc], { ids: ['a', ,] as never })],
  ['a hole in the vectors', 'ERR_INVALID_ARGUMENT', (s) => s.addVectors([vector, ,] as never, [doc, doc])],
  ['ids that are not an array', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([doc], { ids: 'a' as never })],
  ['an id that is not a string', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([doc], { ids: [5 as never] })],
  ['an empty id', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([doc], { ids: [''] })],
  ['an id over 256 bytes', 'ERR_INVALID_ARGUMENT', (s) => s.addDocuments([doc], { ids: ['é'.repeat(129)] })],
  ['vectors not an array', 'ERR_INVALID_ARGUMENT', (s) => s.addVectors('x' as never, [doc])],
  ['more vectors than documents', 'ERR_INVALID_ARGUMENT', (s) => s.addVectors([vector, vector], [doc])],
  ['a vector of strings', 'ERR_INVALID_ARGUMENT', (s) => s.addVectors([vector.map(String) as never], [doc])],
  ['a vector of another dimension', 'ERR_DIMENSION', (s) => s.addVectors([[1, 2, 3]], [doc])],
  ['k of 0', 'ERR_INVALID_ARGUMENT', (s) => s.similaritySearchVectorWithScore(vector, 0)],
  ['k not an integer', 'ERR_INVALID_ARGUMENT', (s) => s.similaritySearchVectorWithScore(vector, 1.5)],
  ['a query of another dimension', 'ERR_DIMENSION', (s) => s.similaritySearchVectorWithScore([1, 2], 1)],
  ['an unknown filter operator', 'ERR_INVALID_FILTER', (s) => s.similaritySearch('a', 1, { must: [{ key: 'source', match: { like: 'x' } }] } as never)],
  ['a range on a word', 'ERR_INVALID_FILTER', (s) => s.similaritySearch('a', 1, { must: [{ key: 'year', range: { gt: 'yesterday' } }] })],
  ['a filter that is a string', 'ERR_INVALID_FILTER', (s) => s.similaritySearch('a', 1, 'source = x' as never)],
  ['MMR options that are not an object', 'ERR_INVALID_ARGUMENT', (s) => s.maxMarginalRelevanceSearch('a', null as never)],
  ['delete with no argument', 'ERR_INVALID_ARGUMENT', (s) => s.delete()],
  ['delete with ids that are a string', 'ERR_INVALID_ARGUMENT', (s) => s.delete({ ids: 'a' as never })],
  ['delete with a bad filter', 'ERR_INVALID_FILTER', (s) => s.delete({ filter: { must: [{ key: '' }] } as never })],
  ['fromTexts with fewer metadatas than texts', 'ERR_INVALID_ARGUMENT', () => FaissProxyStore.fromTexts(['a', 'b'], [{}], new HashEmbeddings(), { collection: 'c' })],
];

/** Embeddings that answer wrongly: the store they feed creates no collection. */
const BAD_EMBEDDINGS: [string, HashEmbeddings][] = [
  ['embeddings giving one vector too few', new WrongCount()],
  ['embeddings giving NaN', new NotFinite()],
];

describe('FaissProxyStore bad input', () => {
  for (const [what, embeddings] of BAD_EMBEDDINGS) {
    it(`${what}: ERR_INVALID_ARGUMENT, nothing stored`, async () => {
      const fresh = new FaissProxyStore(embeddings, { collection: 'c' });
      try {
        await assert.rejects(fresh.addDocuments([doc, doc]), (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT');
        await assert.rejects((await fresh.getCollection()).count(), (e: { code?: string }) => e.code === 'ERR_COLLECTION_NOT_FOUND');
      } finally {
        await fresh.close();
      }
    });
  }


  let store: FaissProxyStore;
  before(async () => {
    store = await FaissProxyStore.fromDocuments([doc], new HashEmbeddings(), { collection: 'bad-input' });
  });
  after(() => store.close());

  it('a bad document past the first batch of 256 is named as the caller wrote it, and no batch is stored', async () => {
    const many = Array.from({ length: 300 }, (_, i) => new Document({ pageContent: `chunk ${i}`, metadata: { i } }));
    const vectors = many.map((d) => HashEmbeddings.vector(d.pageContent));
    const cases: [string, () => Promise<unknown>, RegExp][] = [
      ['a Date in metadata', () => store.addDocuments(many.map((d, i) => (i === 280 ? new Document({ pageContent: 'x', metadata: { when: new Date(0) } }) : d))), /documents\[280\]\.metadata\.when/],
      ['an id over 256 bytes', () => store.addDocuments(many, { ids: many.map((_, i) => (i === 290 ? 'x'.repeat(257) : `id-${i}`)) }), /options\.ids\[290\]/],
      ['a NaN in a vector', () => store.addVectors(vectors.map((v, i) => (i === 270 ? [Number.NaN, ...v.slice(1)] : v)), many), /vectors\[270\]\[0\]/],
      ['a vector of another length', () => store.addVectors(vectors.map((v, i) => (i === 260 ? v.slice(1) : v)), many), /vectors\[260\] has 63 values/],
    ];
    for (const [what, call, message] of cases) {
      await assert.rejects(call(), (e: { code?: string; message: string }) => {
        assert.match(e.message, message, what);
        return true;
      });
      assert.equal(await (await store.getCollection()).count(), 1, what);
    }
  });

  for (const [what, code, call] of CASES) {
    it(`${what}: ${code}, nothing stored`, async () => {
      await assert.rejects(call(store), (e: { code?: string; name?: string }) => {
        assert.equal(e.name, 'FaissError', String(e));
        assert.equal(e.code, code, String(e));
        return true;
      });
      const collection = await store.getCollection();
      assert.equal(await collection.count(), 1);
      assert.deepEqual((await collection.get(['nothing'])).length, 0);
    });
  }
});
