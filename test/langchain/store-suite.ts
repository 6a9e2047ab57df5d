// The FaissProxyStore behaviours every backend must show, in the flow a LangChain
// user writes: split, embed, store, retrieve with a filter. Run embedded (in
// memory, on disk) and remote by the test files beside this one.
import { strict as assert } from 'node:assert';
import { Document } from '@langchain/core/documents';
import { FaissProxyStore, PAGE_CONTENT_KEY, type FaissProxyStoreOptions } from '../../lib/langchain';
import { chunks, HashEmbeddings, nearest } from './support';

export interface SuiteBackend {
  /** Options for a store on this collection. */
  options(collection: string): FaissProxyStoreOptions;
  /** Whether two stores made with the same options see the same collections (not so in memory). */
  shared: boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

async function rejectsWithCode(p: Promise<unknown>, code: string): Promise<Error> {
  let error: unknown;
  await p.then(
    () => assert.fail(`expected ${code}, but it resolved`),
    (e: unknown) => (error = e),
  );
  assert.equal((error as { code?: string }).code, code, `expected ${code}, got: ${String(error)}`);
  return error as Error;
}

export function storeSuite(backend: () => SuiteBackend): void {
  const embeddings = new HashEmbeddings();
  const opened: FaissProxyStore[] = [];
  let serial = 0;
  const nextName = () => `lc-${process.pid}-${++serial}`;
  const track = (store: FaissProxyStore) => (opened.push(store), store);
  const newStore = (collection: string) => track(new FaissProxyStore(embeddings, backend().options(collection)));

  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
  });

  it('split, embed, store, and retrieve with a filter through asRetriever', async () => {
    const docs = await chunks();
    const store = track(await FaissProxyStore.fromDocuments(docs, embeddings, backend().options(nextName())));
    for (const [source, query] of [
      ['blog', 'Berlin museums'],
      ['wiki', 'Berlin museums'],
      ['wiki', 'the capital of Italy'],
    ]) {
      const retriever = store.asRetriever({ k: 2, filter: { must: [{ key: 'source', match: { value: source } }] } });
      const got = await retriever.invoke(query);
      const want = nearest(docs, query, 2, (d) => d.metadata.source === source);
      assert.deepEqual(got.map((d) => d.pageContent), want.map((w) => w.text), `${source}: ${query}`);
      for (const doc of got) {
        const original = docs.find((d) => d.pageContent === doc.pageContent)!;
        assert.deepEqual(doc.metadata, original.metadata, 'the metadata comes back as stored (the splitter\'s loc included)');
        assert.match(doc.id!, UUID);
      }
    }
  });

  it('similaritySearchWithScore gives FAISS\'s squared L2 distance, nearest first', async () => {
    const docs = await chunks();
    const store = track(await FaissProxyStore.fromDocuments(docs, embeddings, backend().options(nextName())));
    const query = 'the capital of Spain';
    const got = await store.similaritySearchWithScore(query, 4);
    const want = nearest(docs, query, 4);
    assert.deepEqual(got.map(([d]) => d.pageContent), want.map((w) => w.text));
    got.forEach(([, score], i) => assert.ok(Math.abs(score - want[i].distance) < 1e-5, `score ${score} vs ${want[i].distance}`));
  });

  it('filters on metadata keys as the user wrote them: ranges, nested keys, must_not', async () => {
    const docs = await chunks();
    const store = track(await FaissProxyStore.fromDocuments(docs, embeddings, backend().options(nextName())));
    const query = 'Rome';
    const cases: [object, (d: Document) => boolean][] = [
      [{ must: [{ key: 'year', range: { gte: 2022 } }] }, (d) => d.metadata.year >= 2022],
      [{ must: [{ key: 'loc.lines.from', range: { gte: 4 } }] }, (d) => d.metadata.loc.lines.from >= 4],
      [{ must_not: [{ key: 'source', match: { value: 'wiki' } }] }, (d) => d.metadata.source !== 'wiki'],
    ];
    for (const [filter, keep] of cases) {
      const got = await store.similaritySearch(query, 3, filter);
      const want = nearest(docs, query, 3, keep);
      assert.ok(want.length > 0);
      assert.deepEqual(got.map((d) => d.pageContent), want.map((w) => w.text), JSON.stringify(filter));
    }
  });

  it('addVectors with ids: an id given again replaces its document; delete by ids and by filter', async () => {
    const store = newStore(nextName());
    const v = (text: string) => HashEmbeddings.vector(text);
    const doc = (text: string, source: string) => new Document({ pageContent: text, metadata: { source } });
    const ids = await store.addVectors([v('red apple'), v('green pear'), v('yellow banana')], [doc('red apple', 'a'), doc('green pear', 'b'), doc('yellow banana', 'b')], { ids: ['apple', 'pear', 'banana'] });
    assert.deepEqual(ids, ['apple', 'pear', 'banana']);
    await store.addVectors([v('blue plum')], [doc('blue plum', 'a')], { ids: ['pear'] });
    const collection = await store.getCollection();
    assert.equal(await collection.count(), 3);
    const [[top, score]] = await store.similaritySearchVectorWithScore(v('blue plum'), 1);
    assert.equal(top.id, 'pear');
    assert.equal(top.pageContent, 'blue plum');
    assert.deepEqual(top.metadata, { source: 'a' });
    assert.ok(Math.abs(score) < 1e-6);

    await store.delete({ ids: ['apple'] });
    assert.deepEqual((await store.similaritySearch('red apple', 5)).map((d) => d.id).sort(), ['banana', 'pear']);
    await store.delete({ filter: { must: [{ key: 'source', match: { value: 'b' } }] } });
    assert.deepEqual((await store.similaritySearch('red apple', 5)).map((d) => d.id), ['pear']);
    await rejectsWithCode(store.delete({}), 'ERR_INVALID_ARGUMENT');
    await rejectsWithCode(store.delete({ ids: ['pear'], filter: {} }), 'ERR_INVALID_ARGUMENT');
  });

  it('addDocuments returns generated UUIDs, or the ids given, and the documents come back with them', async () => {
    const store = newStore(nextName());
    const generated = await store.addDocuments([new Document({ pageContent: 'one fish' }), new Document({ pageContent: 'two fish' })]);
    assert.equal(generated.length, 2);
    generated.forEach((id) => assert.match(id, UUID));
    assert.notEqual(generated[0], generated[1]);
    const given = await store.addDocuments([new Document({ pageContent: 'red fish' })], { ids: ['red'] });
    assert.deepEqual(given, ['red']);
    const [top] = await store.similaritySearch('one fish', 1);
    assert.equal(top.id, generated[0]);
    await rejectsWithCode(store.addDocuments([new Document({ pageContent: 'x' })], { ids: ['a', 'b'] }), 'ERR_INVALID_ARGUMENT');
  });

  it(`refuses a metadata key named ${PAGE_CONTENT_KEY} and stores nothing of the batch`, async () => {
    const store = newStore(nextName());
    await store.addDocuments([new Document({ pageContent: 'kept', metadata: { source: 'a' } })]);
    const error = await rejectsWithCode(
      store.addDocuments([new Document({ pageContent: 'fine' }), new Document({ pageContent: 'clash', metadata: { [PAGE_CONTENT_KEY]: 'mine' } })]),
      'ERR_INVALID_ARGUMENT',
    );
    assert.match(error.message, /documents\[1\]\.metadata.*_pageContent.*reserves/);
    assert.equal(await (await store.getCollection()).count(), 1);
  });

  it('fromTexts takes one metadata object per text, or one for all', async () => {
    const each = track(await FaissProxyStore.fromTexts(['alpha beta', 'gamma delta'], [{ n: 1 }, { n: 2 }], embeddings, backend().options(nextName())));
    assert.deepEqual((await each.similaritySearch('gamma', 1, { must: [{ key: 'n', match: { value: 2 } }] })).map((d) => d.pageContent), ['gamma delta']);
    const all = track(await FaissProxyStore.fromTexts(['alpha beta', 'gamma delta'], { tag: 'x' }, embeddings, backend().options(nextName())));
    assert.deepEqual((await all.similaritySearch('alpha', 2)).map((d) => d.metadata), [{ tag: 'x' }, { tag: 'x' }]);
  });

  it('fromExistingCollection refuses a collection that does not exist, and a search there says so', async () => {
    const name = nextName();
    await rejectsWithCode(FaissProxyStore.fromExistingCollection(embeddings, backend().options(name)), 'ERR_COLLECTION_NOT_FOUND');
    await rejectsWithCode(newStore(name).similaritySearch('anything', 1), 'ERR_COLLECTION_NOT_FOUND');
    if (!backend().shared) return;
    const docs = await chunks();
    track(await FaissProxyStore.fromDocuments(docs, embeddings, backend().options(name)));
    const existing = track(await FaissProxyStore.fromExistingCollection(embeddings, backend().options(name)));
    assert.deepEqual((await existing.similaritySearch('Madrid', 1)).map((d) => d.pageContent), nearest(docs, 'Madrid', 1).map((w) => w.text));
  });

  it('maxMarginalRelevanceSearch keeps the filter, and with lambda 1 is the similarity order', async () => {
    const docs = await chunks();
    const store = track(await FaissProxyStore.fromDocuments(docs, embeddings, backend().options(nextName())));
    const filter = { must: [{ key: 'source', match: { value: 'wiki' } }] };
    const got = await store.maxMarginalRelevanceSearch('capital Paris', { k: 3, fetchK: 10, lambda: 1, filter });
    assert.deepEqual(got.map((d) => d.pageContent), nearest(docs, 'capital Paris', 3, (d) => d.metadata.source === 'wiki').map((w) => w.text));
    const diverse = await store.asRetriever({ k: 2, searchType: 'mmr', filter, searchKwargs: { fetchK: 10, lambda: 0.3 } }).invoke('capital Paris');
    assert.equal(diverse.length, 2);
    diverse.forEach((d) => assert.equal(d.metadata.source, 'wiki'));
  });

  it('the collection is created with the first vector\'s dimension: another length then fails with ERR_DIMENSION', async () => {
    const store = newStore(nextName());
    await store.addVectors([[1, 0, 0]], [new Document({ pageContent: 'three' })]);
    const info = await (await store.getCollection()).info();
    assert.equal(info.dimension, 3);
    assert.equal(info.metric, 'l2');
    await rejectsWithCode(store.addVectors([[1, 0]], [new Document({ pageContent: 'two' })]), 'ERR_DIMENSION');
    await rejectsWithCode(store.similaritySearchVectorWithScore([1, 0], 1), 'ERR_DIMENSION');
  });
}
