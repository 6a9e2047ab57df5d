// FaissProxyStore: a LangChain.js VectorStore over one faiss-proxy collection, in
// this process (openCollections) or on a server (connect), through the
// CollectionsApi both give. Documents are points: a string id, the embedding, and
// the metadata as the payload (page content under PAGE_CONTENT_KEY).
import type { DocumentInterface } from '@langchain/core/documents';
import { Document } from '@langchain/core/documents';
import type { EmbeddingsInterface } from '@langchain/core/embeddings';
import { maximalMarginalRelevance } from '@langchain/core/utils/math';
import { VectorStore, type MaxMarginalRelevanceSearchOptions } from '@langchain/core/vectorstores';
import { pointIdArg, vectorArg } from '../collections/input';
import { isFloat32Array } from '../brands';
import type { Collection, CollectionSpec, Filter, Payload, PointInput } from '../collections/types';
import { FaissError } from '../errors';
import { invalidParameterError, isObject } from '../is';
import { documentOf, payloadOf } from './documents';
import { checkOptions, openApi, type FaissProxyStoreOptions, type OpenedApi } from './options';
import { readFaissStoreDirectory } from './faiss-store-directory';

/**
 * Points per upsert call: a batch is stored all or nothing. 256 vectors of 1,536
 * floats with full 64 KiB payloads stay well inside the server's default 64 MiB
 * request body (--body-limit).
 */
const UPSERT_BATCH = 256;

const hasCode = (e: unknown, code: string): boolean => isObject(e) && e.code === code;

export interface AddOptions {
  /** One string id per document (UTF-8, 1 to 256 bytes); an existing id is replaced. Default: new UUIDs. */
  ids?: string[];
}

/** What delete() takes: ids, or a filter (one of the two). */
export interface DeleteParams {
  ids?: string[];
  filter?: Filter;
}

export class FaissProxyStore extends VectorStore {
  /** The collection filter language (Qdrant's shape) on metadata keys. */
  declare FilterType: Filter;

  private readonly options: FaissProxyStoreOptions;
  private opened: Promise<OpenedApi> | undefined;

  _vectorstoreType(): string {
    return 'faiss-proxy';
  }

  constructor(embeddings: EmbeddingsInterface, options: FaissProxyStoreOptions) {
    const checked = checkOptions(options);
    // Only the collection name goes to LangChain's Serializable (never the API key).
    super(embeddings, { collection: checked.collection });
    this.options = checked;
  }

  /** The collection's handle, for what LangChain's API does not cover (payload indexes, count, scroll, train). */
  async getCollection(): Promise<Collection> {
    const { api } = await this.api();
    return api.collection(this.options.collection);
  }

  /**
   * The collection's handle, the collection created first when missing, with this
   * store's factory, metric and payload indexes and this dimension (an add does
   * this itself): for a factory that needs training before the first add.
   */
  async ensureCollection(dimension: number): Promise<Collection> {
    const { api } = await this.api();
    const { collection: name, factory, metric, payloadIndexes } = this.options;
    const spec: CollectionSpec = { name, dimension };
    if (factory !== undefined) spec.factory = factory;
    if (metric !== undefined) spec.metric = metric;
    if (payloadIndexes !== undefined) spec.payloadIndexes = payloadIndexes;
    try {
      return await api.createCollection(spec);
    } catch (e) {
      // It exists (made by an earlier add, or another writer meanwhile): its own dimension holds.
      if (!hasCode(e, 'ERR_COLLECTION_EXISTS')) throw e;
      return api.collection(name);
    }
  }

  /** Closes the embedded collections this store opened (a remote store holds nothing to close). */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = undefined;
    // A store whose opening failed holds nothing.
    const api = await opened?.catch(() => undefined);
    await api?.close();
  }

  async addDocuments(documents: DocumentInterface[], options?: AddOptions): Promise<string[]> {
    const payloads = payloadsOf(documents);
    const ids = idsFor(documents.length, options);
    if (documents.length === 0) return [];
    const vectors = await this.embeddings.embedDocuments(documents.map((d) => d.pageContent));
    return this.upsert(vectors, payloads, ids, 'embeddings');
  }

  async addVectors(vectors: number[][], documents: DocumentInterface[], options?: AddOptions): Promise<string[]> {
    const payloads = payloadsOf(documents);
    const ids = idsFor(documents.length, options);
    return this.upsert(vectors, payloads, ids, 'vectors');
  }

  /**
   * The k nearest documents that pass the filter, each with the collection's score:
   * FAISS's own distance, as LangChain's FaissStore returns it (squared L2 for
   * metric "l2": smaller is nearer; the inner product for "ip": larger is nearer).
   */
  async similaritySearchVectorWithScore(query: number[], k: number, filter?: Filter): Promise<[Document, number][]> {
    const collection = await this.getCollection();
    const hits = await collection.search(query, k, { filter, withPayload: true });
    return hits.map((hit) => [documentOf(hit), hit.score]);
  }

  /** Maximal marginal relevance among the fetchK nearest documents that pass the filter. */
  async maxMarginalRelevanceSearch(query: string, options: MaxMarginalRelevanceSearchOptions<Filter>): Promise<Document[]> {
    if (!isObject(options)) throw invalidParameterError('options', 'an object with k', options);
    const { k, fetchK = 20, lambda = 0.5, filter } = options;
    const embedded = await this.embeddings.embedQuery(query);
    const collection = await this.getCollection();
    const hits = await collection.search(embedded, Math.max(k, fetchK), { filter, withPayload: true, withVector: true });
    const chosen = maximalMarginalRelevance(embedded, hits.map((hit) => Array.from(hit.vector!)), lambda, k);
    return chosen.map((i) => documentOf(hits[i]));
  }

  /** Deletes the documents of these ids (those that exist), or those the filter matches. */
  async delete(params?: DeleteParams): Promise<void> {
    if (!isObject(params)) throw invalidParameterError('delete params', '{ ids } or { filter }', params);
    const { ids, filter } = params as DeleteParams;
    if ((ids === undefined) === (filter === undefined)) {
      throw new FaissError('delete() takes { ids } or { filter }: exactly one of the two', 'ERR_INVALID_ARGUMENT');
    }
    const collection = await this.getCollection();
    await collection.delete(ids ?? { filter: filter! });
  }

  static async fromTexts(texts: string[], metadatas: object[] | object, embeddings: EmbeddingsInterface, options: FaissProxyStoreOptions): Promise<FaissProxyStore> {
    if (!Array.isArray(texts)) throw invalidParameterError('texts', 'an array of strings', texts);
    if (Array.isArray(metadatas) && metadatas.length !== texts.length) {
      throw new FaissError(`fromTexts: ${texts.length} texts but ${metadatas.length} metadatas`, 'ERR_INVALID_ARGUMENT');
    }
    const docs = texts.map(
      (pageContent, i) => new Document({ pageContent, metadata: (Array.isArray(metadatas) ? metadatas[i] : metadatas) as Record<string, unknown> }),
    );
    return this.fromDocuments(docs, embeddings, options);
  }

  static async fromDocuments(docs: DocumentInterface[], embeddings: EmbeddingsInterface, options: FaissProxyStoreOptions): Promise<FaissProxyStore> {
    const store = new this(embeddings, options);
    return store.closedOnFailure(() => store.addDocuments(docs));
  }

  /** A store on a collection that exists (ERR_COLLECTION_NOT_FOUND otherwise). */
  static async fromExistingCollection(embeddings: EmbeddingsInterface, options: FaissProxyStoreOptions): Promise<FaissProxyStore> {
    const store = new this(embeddings, options);
    return store.closedOnFailure(async () => (await store.getCollection()).info());
  }

  /**
   * Moves what LangChain's FaissStore saved (`await faissStore.save(directory)`:
   * faiss.index and docstore.json), or Python LangChain's FAISS (`save_local(directory)`:
   * index.faiss and index.pkl, read without running it), into the collection: each document with its id,
   * metadata and page content, and the vector FAISS holds for it (read back from the
   * index, so nothing is embedded again). The collection takes the index's metric.
   */
  static async fromFaissStoreDirectory(directory: string, embeddings: EmbeddingsInterface, options: FaissProxyStoreOptions): Promise<FaissProxyStore> {
    const saved = await readFaissStoreDirectory(directory, UPSERT_BATCH);
    try {
      if (options?.metric !== undefined && options.metric !== saved.metric) {
        throw new FaissError(`${directory} holds an index of metric "${saved.metric}", not the "${options.metric}" of options.metric`, 'ERR_INVALID_ARGUMENT');
      }
      const store = new this(embeddings, { ...options, metric: saved.metric });
      return await store.closedOnFailure(async () => {
        for await (const batch of saved.batches()) await store.upsert(batch.vectors, batch.documents.map((d, i) => payloadOf(d, `${directory} document ${batch.ids[i]}`)), batch.ids, 'vectors');
      });
    } finally {
      saved.dispose();
    }
  }

  private api(): Promise<OpenedApi> {
    this.opened ??= openApi(this.options).catch((e: unknown) => {
      this.opened = undefined;
      throw e;
    });
    return this.opened;
  }

  private async closedOnFailure(work: () => Promise<unknown>): Promise<this> {
    try {
      await work();
      return this;
    } catch (e) {
      await this.close().catch(() => {});
      throw e;
    }
  }

  private async upsert(vectors: readonly (Float32Array | readonly number[])[], payloads: Payload[], ids: string[], what: string): Promise<string[]> {
    if (!Array.isArray(vectors)) throw invalidParameterError(what, 'an array of vectors', vectors);
    if (vectors.length !== payloads.length) {
      throw new FaissError(`${vectors.length} ${what} for ${payloads.length} documents: give one per document`, 'ERR_INVALID_ARGUMENT');
    }
    if (vectors.length === 0) return [];
    const checked = vectorsOf(vectors, what);
    const collection = await this.getCollection();
    for (let start = 0; start < vectors.length; start += UPSERT_BATCH) {
      const points: PointInput[] = [];
      for (let i = start; i < Math.min(start + UPSERT_BATCH, vectors.length); i++) points.push({ id: ids[i], vector: checked[i], payload: payloads[i] });
      await this.upsertCreating(collection, points);
    }
    return ids;
  }

  /** Upserts, creating the collection on the first add (its dimension taken from the first vector). */
  private async upsertCreating(collection: Collection, points: PointInput[]): Promise<void> {
    try {
      await collection.upsert(points);
      return;
    } catch (e) {
      if (!hasCode(e, 'ERR_COLLECTION_NOT_FOUND')) throw e;
    }
    await this.ensureCollection(points[0].vector.length);
    await collection.upsert(points);
  }
}

/**
 * The vectors of one call, checked before anything is stored (so the errors name
 * the caller's argument, and input the collection would refuse creates none):
 * finite numbers, all of the first one's dimension (the collection checks it is its own).
 */
function vectorsOf(vectors: readonly unknown[], what: string): Float32Array[] {
  const first = vectors[0];
  const d = Array.isArray(first) || isFloat32Array(first) ? first.length : 0;
  // Array.from, not map: a sparse array's holes are read (and refused), not skipped.
  return Array.from(vectors, (v, i) => {
    if ((Array.isArray(v) || isFloat32Array(v)) && v.length !== d) {
      throw new FaissError(`${what}[${i}] has ${v.length} values but ${what}[0] has ${d}: the vectors of one call have one dimension`, 'ERR_DIMENSION');
    }
    return vectorArg(v, d, `${what}[${i}]`);
  });
}

function payloadsOf(documents: DocumentInterface[]): Payload[] {
  if (!Array.isArray(documents)) throw invalidParameterError('documents', 'an array of Documents', documents);
  return Array.from(documents, (doc, i) => payloadOf(doc, `documents[${i}]`));
}

function idsFor(n: number, options: AddOptions | undefined): string[] {
  const ids = options?.ids;
  if (ids === undefined) return Array.from({ length: n }, () => globalThis.crypto.randomUUID());
  if (!Array.isArray(ids) || ids.length !== n) throw invalidParameterError('options.ids', `an array of ${n} string ids (one per document)`, ids);
  return Array.from(ids, (id, i) => pointIdArg(id, `options.ids[${i}]`));
}
