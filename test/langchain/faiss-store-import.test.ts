// Moving from LangChain's FaissStore: a directory as FaissStore.save() leaves it
// (faiss.index written by FAISS's write_index, as faiss-node does, here by
// python3-faiss; docstore.json written with FaissStore.save's own expression),
// read by readIndex and imported by FaissProxyStore.fromFaissStoreDirectory.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Document } from '@langchain/core/documents';
import { METRIC_INNER_PRODUCT, METRIC_L2, readIndex } from '../../lib';
import { FaissProxyStore } from '../../lib/langchain';
import { PYTHON } from '../support/oracle';
import { DIMENSION, HashEmbeddings, nearest } from './support';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'faiss_store_index.py');

/** Saves these documents as FaissStore.save(dir) does: label i holds ids[i]'s vector. */
function saveAsFaissStore(dir: string, docs: Document[], ids: string[], metric: 'l2' | 'ip' = 'l2'): Float32Array {
  fs.mkdirSync(dir, { recursive: true });
  const vectors = Float32Array.from(docs.flatMap((d) => HashEmbeddings.vector(d.pageContent)));
  const raw = path.join(dir, 'vectors.f32');
  fs.writeFileSync(raw, Buffer.from(vectors.buffer));
  execFileSync(PYTHON, [SCRIPT, raw, String(DIMENSION), metric, path.join(dir, 'faiss.index')], { stdio: ['ignore', 'ignore', 'inherit'] });
  fs.rmSync(raw);
  // FaissStore keeps its documents in a SynchronousInMemoryDocstore (a Map from id
  // to Document) and its mapping as { [label]: id }; save() writes exactly this.
  // The docstore's insertion order here is not the label order: the mapping decides.
  const docstore = new Map(ids.map((id, i) => [id, docs[i]] as const).reverse());
  const mapping: Record<number, string> = {};
  ids.forEach((id, label) => (mapping[label] = id));
  fs.writeFileSync(path.join(dir, 'docstore.json'), JSON.stringify([Array.from(docstore.entries()), mapping]));
  return vectors;
}

const TOPICS = ['ocean waves', 'mountain snow', 'desert sand', 'forest trees', 'city lights'];
/** 300 documents: more than one upsert batch (256). */
const DOCS = Array.from({ length: 300 }, (_, i) => new Document({ pageContent: `note ${i} about ${TOPICS[i % 5]} and item${i}`, metadata: { topic: TOPICS[i % 5], n: i } }));
const IDS = DOCS.map((_, i) => `doc-${(i * 7919) % 1000}`);

describe('moving from LangChain\'s FaissStore', () => {
  let root: string;
  let saved: string;
  let vectors: Float32Array;
  const embeddings = new HashEmbeddings();
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-faissstore-'));
    saved = path.join(root, 'saved');
    vectors = saveAsFaissStore(saved, DOCS, IDS);
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('readIndex reads the faiss.index FaissStore saves: the same vectors, and the same neighbours', async () => {
    const index = await readIndex(path.join(saved, 'faiss.index'));
    try {
      assert.deepEqual([index.d, index.ntotal, index.metricType], [DIMENSION, DOCS.length, METRIC_L2]);
      assert.deepEqual(await index.reconstructN(0, DOCS.length), vectors);
      const query = 'desert sand item42';
      const { labels } = await index.search(Float32Array.from(HashEmbeddings.vector(query)), 3);
      assert.deepEqual(Array.from(labels, (l) => DOCS[Number(l)].pageContent), nearest(DOCS, query, 3).map((w) => w.text));
    } finally {
      index.dispose();
    }
  });

  it('fromFaissStoreDirectory moves every document with its id, metadata, page content and vector, embedding nothing again', async () => {
    class QueriesOnly extends HashEmbeddings {
      async embedDocuments(): Promise<number[][]> {
        throw new Error('the import must take the vectors from faiss.index, not embed the documents again');
      }
    }
    const store = await FaissProxyStore.fromFaissStoreDirectory(saved, new QueriesOnly(), { collection: 'moved' });
    try {
      const collection = await store.getCollection();
      assert.equal(await collection.count(), DOCS.length);
      assert.deepEqual((await collection.info()).metric, 'l2');
      for (const i of [0, 1, 137, 256, 299]) {
        const [[doc, score]] = await store.similaritySearchVectorWithScore(Array.from(vectors.subarray(i * DIMENSION, (i + 1) * DIMENSION)), 1);
        assert.equal(doc.id, IDS[i]);
        assert.equal(doc.pageContent, DOCS[i].pageContent);
        assert.deepEqual(doc.metadata, DOCS[i].metadata);
        assert.equal(score, 0);
      }
      const [point] = await collection.get([IDS[42]], { withVector: true });
      assert.deepEqual(point.vector, vectors.subarray(42 * DIMENSION, 43 * DIMENSION));
      const filter = { must: [{ key: 'topic', match: { value: 'forest trees' } }] };
      const got = await store.asRetriever({ k: 3, filter }).invoke('ocean waves item45');
      assert.deepEqual(got.map((d) => d.pageContent), nearest(DOCS, 'ocean waves item45', 3, (d) => d.metadata.topic === 'forest trees').map((w) => w.text));
    } finally {
      await store.close();
    }
  });

  it('an inner-product index becomes an "ip" collection; asking for another metric is refused', async () => {
    const dir = path.join(root, 'ip');
    saveAsFaissStore(dir, DOCS.slice(0, 10), IDS.slice(0, 10), 'ip');
    const store = await FaissProxyStore.fromFaissStoreDirectory(dir, embeddings, { collection: 'ip' });
    try {
      assert.equal((await (await store.getCollection()).info()).metric, 'ip');
    } finally {
      await store.close();
    }
    const index = await readIndex(path.join(dir, 'faiss.index'));
    assert.equal(index.metricType, METRIC_INNER_PRODUCT);
    index.dispose();
    await assert.rejects(FaissProxyStore.fromFaissStoreDirectory(dir, embeddings, { collection: 'ip', metric: 'l2' }), (e: { code?: string }) => e.code === 'ERR_INVALID_ARGUMENT');
  });

  it('imports into a directory store that a later store reopens', async () => {
    const where = path.join(root, 'collections');
    const store = await FaissProxyStore.fromFaissStoreDirectory(saved, embeddings, { collection: 'moved', path: where });
    await store.close();
    const reopened = await FaissProxyStore.fromExistingCollection(embeddings, { collection: 'moved', path: where });
    try {
      const query = 'mountain snow item7';
      assert.deepEqual((await reopened.similaritySearch(query, 2)).map((d) => d.pageContent), nearest(DOCS, query, 2).map((w) => w.text));
    } finally {
      await reopened.close();
    }
  });

  describe('a directory that is not what FaissStore saves is refused, and nothing is stored', () => {
    const damaged: [string, (docstore: [unknown[], Record<string, unknown>]) => unknown, RegExp][] = [
      ['a label with no document id', ([entries, mapping]) => (delete mapping['3'], [entries, mapping]), /label 3 maps to no document/],
      ['a label past the index', ([entries, mapping]) => [entries, { ...mapping, 10: IDS[0] }], /label "10"/],
      ['a label that is not a number', ([entries, mapping]) => [entries, { ...mapping, x: IDS[0] }], /label "x"/],
      ['an id the docstore does not hold', ([entries, mapping]) => [entries, { ...mapping, 2: 'nowhere' }], /document "nowhere"/],
      ['a document without pageContent', ([entries, mapping]) => [entries.map((e, i) => (i === 0 ? [(e as unknown[])[0], { metadata: {} }] : e)), mapping], /no string pageContent/],
      ['another shape', ([entries]) => ({ entries }), /expected \[\[\.\.\.entries\]/],
    ];
    for (const [what, damage, message] of damaged) {
      it(what, async () => {
        const dir = path.join(root, `damaged-${what.replace(/\W+/g, '-')}`);
        saveAsFaissStore(dir, DOCS.slice(0, 10), IDS.slice(0, 10));
        const file = path.join(dir, 'docstore.json');
        fs.writeFileSync(file, JSON.stringify(damage(JSON.parse(fs.readFileSync(file, 'utf8')))));
        const where = path.join(dir, 'collections');
        await assert.rejects(
          FaissProxyStore.fromFaissStoreDirectory(dir, embeddings, { collection: 'c', path: where }),
          (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_ARGUMENT' && message.test(e.message) && e.message.includes('docstore.json'),
        );
        await assert.rejects(FaissProxyStore.fromExistingCollection(embeddings, { collection: 'c', path: where }), (e: { code?: string }) => e.code === 'ERR_COLLECTION_NOT_FOUND');
      });
    }

    it('docstore.json that is not JSON', async () => {
      const dir = path.join(root, 'not-json');
      saveAsFaissStore(dir, DOCS.slice(0, 2), IDS.slice(0, 2));
      fs.writeFileSync(path.join(dir, 'docstore.json'), '[[["a", {"pageContent": ');
      await assert.rejects(FaissProxyStore.fromFaissStoreDirectory(dir, embeddings, { collection: 'c' }), (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /not JSON/.test(e.message));
    });

    it('a directory without docstore.json', async () => {
      const dir = fs.mkdtempSync(path.join(root, 'empty-'));
      await assert.rejects(FaissProxyStore.fromFaissStoreDirectory(dir, embeddings, { collection: 'c' }), (e: { code?: string; message: string }) => e.code === 'ERR_IO' && e.message.includes('docstore.json'));
    });
  });
});
