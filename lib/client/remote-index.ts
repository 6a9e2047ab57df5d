// An index on a faiss-proxy server with the embedded Index's methods, results and
// errors: both implement IndexContract, whose header lists what necessarily
// differs (ntotal / isTrained / typeName as of this client's last call, nprobe
// and efSearch sent with every search, dispose, ...). The index is created on
// the server by its first use (remote-base.ts). Arguments are checked here, with
// the embedded API's rules (lib/limits.ts), before anything is sent.
import type { IndexContract } from '../contract';
import { FaissError } from '../errors';
import { invalidParameterError } from '../is';
import { IDSelector } from '../selectors';
import { directMapTypeArg, idArg, kArg, positionArg, radiusArg } from '../limits';
import type { DirectMapType, Ids, RangeSearchResult, SearchAndReconstructResult, SearchParams, SearchResult, Vectors } from '../types';
import { toIds, toMatrix, toNewIds } from '../vectors';
import {
  filteredQueryBody,
  HEADER,
  idsBody,
  jsonId,
  MAX_RECONSTRUCT_IDS,
  readRangeSearchAnswer,
  readSearchAnswer,
  readVectorsAnswer,
  selectorPart,
  vectorsBody,
  vectorsWithIdsBody,
} from '../wire';
import { answerBytes, RemoteIndexBase, type IndexDescription, type RemoteContext, type RemoteIndexInfo } from './remote-base';
import { hashBytes } from './results-cache';
import { keyOf } from './remote-collection';
import type { WriteOptions } from '../collections/types';

export type { IndexDescription, RemoteContext, RemoteIndexInfo } from './remote-base';

export class RemoteIndex extends RemoteIndexBase implements IndexContract {
  readonly metricType: number;
  // Tells a float index from a binary one (RemoteIndexBinary) without running the caller's code.
  readonly #float = true;

  /** @internal Built by the classes of connect(); `existing` attaches to a server index. */
  constructor(ctx: RemoteContext, d: number, description: IndexDescription, name?: string, existing?: RemoteIndexInfo) {
    super(ctx, d, description, name, existing);
    this.metricType = description.metric;
  }

  /**
   * @internal `v` as a float index of a connection, by a brand check (runs none of
   * the caller's code, false for a Proxy), as the embedded Index.nativeOf: a
   * foreign object or a binary index is ERR_INVALID_ARGUMENT, a disposed index ERR_DISPOSED.
   */
  static check(v: unknown, name: string, alive = true): RemoteIndex {
    if (typeof v !== 'object' || v === null || !(#float in v)) throw invalidParameterError(name, 'an index of this connection', v);
    return RemoteIndexBase.checkAny(v, name, alive) as RemoteIndex;
  }

  get isTrained(): boolean {
    const self = live(this);
    return self.knownIsTrained ?? !/IVF|PQ|SQ[0-9]|PCA|OPQ/.test(self.description.factory);
  }

  /**
   * `o.idempotencyKey`: the write's key (else a new one), so that sending the same
   * write again, from another process too, applies it once (see the service's
   * Idempotency-Key: the index remembers its last 10,000 keys).
   */
  async train(x: Vectors, o?: WriteOptions): Promise<void> {
    live(this);
    const idempotencyKey = keyOf(o);
    const m = toMatrix(x, this.d);
    await this.mutate('train', { bytes: vectorsBody(m), query: this.trainQuery(), idempotencyKey });
  }

  /** `o.idempotencyKey`: as for train. */
  async add(x: Vectors, o?: WriteOptions): Promise<void> {
    live(this);
    const idempotencyKey = keyOf(o);
    const m = toMatrix(x, this.d);
    await this.mutate('add', { bytes: vectorsBody(m), idempotencyKey });
  }

  /** `o.idempotencyKey`: as for train. */
  async addWithIds(x: Vectors, ids: Ids, o?: WriteOptions): Promise<void> {
    live(this);
    const idempotencyKey = keyOf(o);
    const m = toMatrix(x, this.d);
    const i = toNewIds(ids, 'ids', m.length / this.d);
    await this.mutate('add', { bytes: vectorsWithIdsBody(m, i), query: { ids: true }, idempotencyKey });
  }

  async search(x: Vectors, k: number, params?: SearchParams): Promise<SearchResult> {
    live(this);
    const q = toMatrix(x, this.d);
    kArg(k);
    const { sel, ...p } = this.params(params);
    await this.ensure();
    // A filter travels as the filter part after the query rows (lib/wire.ts); the
    // cache compares the whole body, filter included.
    const filter = sel && selectorPart(sel);
    const query = filter ? filteredQueryBody(q, filter) : vectorsBody(q);
    const cache = this.cache;
    const key = `${this.name}\u0000${k}\u0000${p.nprobe}\u0000${p.efSearch}\u0000${filter?.length ?? ''}\u0000${hashBytes(query)}`;
    const cached = cache?.get(key, query, this.version);
    if (cached) return { distances: cached.distances.slice(), labels: cached.labels.slice() };
    const r = await this.request({
      method: 'POST',
      op: '/search',
      bytes: query,
      binary: true,
      query: { k, ...p, ...(filter ? { filterBytes: filter.length } : {}) },
    });
    const result = readSearchAnswer(answerBytes(r), q.length / this.d, k);
    this.noteVersion(r.headers);
    cache?.set(key, query, this.version, { distances: result.distances.slice(), labels: result.labels.slice() });
    return result;
  }

  async rangeSearch(x: Vectors, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    live(this);
    const q = toMatrix(x, this.d);
    radiusArg(radius);
    const { sel, ...p } = this.params(params);
    const filter = sel && selectorPart(sel);
    const r = await this.request({
      method: 'POST',
      op: '/range_search',
      bytes: filter ? filteredQueryBody(q, filter) : vectorsBody(q),
      binary: true,
      query: { radius, ...p, ...(filter ? { filterBytes: filter.length } : {}) },
    });
    return readRangeSearchAnswer(answerBytes(r), q.length / this.d, Number(r.headers.get(HEADER.total)));
  }

  async removeIds(ids: Ids | IDSelector): Promise<number> {
    live(this);
    if (IDSelector.isSelector(ids)) {
      // The filter part alone is the body; the server resolves it to the ids it removes (and logs).
      const filter = selectorPart(ids);
      const r = await this.mutate('remove', { bytes: filter, query: { filterBytes: filter.length } });
      return r.removed as number;
    }
    const i = toIds(ids);
    if (i.length === 0) return 0;
    const r = await this.mutate('remove', { bytes: idsBody(i) });
    return r.removed as number;
  }

  /** The labels of a search, as Python's Index.assign. */
  async assign(x: Vectors, k: number, params?: SearchParams): Promise<BigInt64Array> {
    return (await this.search(x, k, params)).labels;
  }

  /**
   * A search, then the vectors of the labels it found (reconstruct by id, in
   * chunks); NaN rows where a slot has no result, as embedded. Two requests: a
   * label removed between them is ERR_NOT_FOUND.
   */
  async searchAndReconstruct(x: Vectors, k: number, params?: SearchParams): Promise<SearchAndReconstructResult> {
    const result = await this.search(x, k, params);
    const ids = [...new Set(Array.from(result.labels).filter((l) => l >= 0n))];
    const found = new Map<bigint, Float32Array>();
    for (let from = 0; from < ids.length; from += MAX_RECONSTRUCT_IDS) {
      const chunk = ids.slice(from, from + MAX_RECONSTRUCT_IDS);
      const rows = await this.#reconstructIds(chunk);
      chunk.forEach((id, i) => found.set(id, rows.subarray(i * this.d, (i + 1) * this.d)));
    }
    const vectors = new Float32Array(result.labels.length * this.d).fill(NaN);
    result.labels.forEach((l, i) => {
      const v = found.get(l);
      if (v) vectors.set(v, i * this.d);
    });
    return { ...result, vectors };
  }

  async reconstruct(id: number | bigint): Promise<Float32Array> {
    live(this);
    return this.#reconstructIds([idArg(id)]);
  }

  async reconstructN(i0: number, n: number): Promise<Float32Array> {
    live(this);
    positionArg(i0, 'i0');
    positionArg(n, 'n');
    // Chunk by chunk, each checked by the server before the next: n past ntotal
    // fails at its first missing id, without allocating for all n first.
    const chunks: Float32Array[] = [];
    for (let from = 0; from < n; from += MAX_RECONSTRUCT_IDS) {
      const count = Math.min(MAX_RECONSTRUCT_IDS, n - from);
      chunks.push(await this.#reconstructIds(Array.from({ length: count }, (_, i) => i0 + from + i)));
    }
    if (chunks.length === 1) return chunks[0];
    const out = new Float32Array(n * this.d);
    chunks.forEach((c, i) => out.set(c, i * MAX_RECONSTRUCT_IDS * this.d));
    return out;
  }

  async reset(): Promise<void> {
    live(this);
    await this.mutate('reset', {});
  }

  async mergeFrom(_other: IndexContract, _addId?: number): Promise<void> {
    live(this);
    throw new FaissError('mergeFrom is not available on a remote index: export one index and add its vectors to the other', 'ERR_UNSUPPORTED');
  }

  /**
   * The server builds an IVF index's direct map itself the first time reconstruct
   * needs it; this checks the argument and that the index exists, as the embedded
   * call would, and leaves the building to the server.
   */
  async makeDirectMap(type: DirectMapType = 'array'): Promise<void> {
    live(this);
    directMapTypeArg(type);
    await this.ensure();
  }

  async extractAll(): Promise<{ ids: BigInt64Array; vectors: Float32Array }> {
    live(this);
    throw new FaissError('extractAll is not available on a remote index: serializeIndex exports it as a FAISS index file', 'ERR_UNSUPPORTED');
  }

  async #reconstructIds(ids: (number | bigint)[]): Promise<Float32Array> {
    const r = await this.request({ method: 'POST', op: '/reconstruct', json: { ids: ids.map(jsonId) }, binary: true });
    return readVectorsAnswer(answerBytes(r), ids.length, this.d);
  }
}

// `this` as methods see it, brand-checked as the embedded Index does: a method
// called on a foreign object (RemoteIndex.prototype.search.call({})) throws a
// FaissError, not a TypeError from a private field.
const live = (self: unknown): RemoteIndex => RemoteIndex.check(self, 'this');
