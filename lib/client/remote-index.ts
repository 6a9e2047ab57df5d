// An index on a faiss-proxy server with the embedded Index's methods, results and
// errors: both implement IndexContract, whose header lists what necessarily
// differs (ntotal / isTrained / typeName as of this client's last call, nprobe
// and efSearch sent with every search, dispose, ...). The index is created on
// the server by its first use. Arguments are checked here, with the embedded
// API's rules (lib/limits.ts), before anything is sent.
import { metricNameOf, type MetricType } from '../constants';
import type { IndexContract } from '../contract';
import { FaissError } from '../errors';
import { invalidParameterError } from '../is';
import { IDSelector } from '../selectors';
import { directMapTypeArg, disposedError, idArg, kArg, positionArg, radiusArg, searchParams, tunableArg } from '../limits';
import type { DirectMapType, Ids, RangeSearchResult, SearchAndReconstructResult, SearchParams, SearchResult, Vectors } from '../types';
import { toIds, toMatrix, toNewIds } from '../vectors';
import {
  HEADER,
  idsBody,
  jsonId,
  MAX_RECONSTRUCT_IDS,
  readRangeSearchAnswer,
  readSearchAnswer,
  readVectorsAnswer,
  vectorsBody,
  vectorsWithIdsBody,
  filteredQueryBody,
  selectorPart,
} from '../wire';
import { hashBytes, type ResultsCache } from './results-cache';
import { newIdempotencyKey, type Transport } from './transport';

export interface RemoteIndexInfo {
  name: string;
  dimension: number;
  type: string;
  factory: string;
  /** "L2", "IP", "L1", ... (lib/constants.ts, metricNameOf). */
  metric: string;
  ntotal: number;
  isTrained: boolean;
  bytes: number;
  version: number;
}

/** How the server builds the index: a FAISS factory string and a metric. */
export interface IndexDescription {
  factory: string;
  metric: number;
}

export interface RemoteContext {
  transport: Transport;
  cache?: ResultsCache<SearchResult>;
}

const answerBytes = (r: { bytes?: ArrayBuffer }): Uint8Array => new Uint8Array(r.bytes ?? new ArrayBuffer(0));

export class RemoteIndex implements IndexContract {
  readonly d: number;
  readonly metricType: number;
  /** The index's name on the server. */
  readonly name: string;
  readonly description: IndexDescription;
  #info: Partial<RemoteIndexInfo> = {};
  #created: Promise<void> | undefined;
  #disposed = false;
  readonly #anonymous: boolean;
  readonly #ctx: RemoteContext;
  #nprobe: number | undefined;
  #efSearch: number | undefined;

  /** @internal Built by the classes of connect(); `existing` attaches to a server index. */
  constructor(ctx: RemoteContext, d: number, description: IndexDescription, name?: string, existing?: RemoteIndexInfo) {
    this.#ctx = ctx;
    this.d = d;
    this.description = description;
    this.metricType = description.metric;
    this.#anonymous = name === undefined;
    this.name = name ?? `idx-${newIdempotencyKey()}`;
    if (existing) {
      this.#info = existing;
      this.#created = Promise.resolve();
    }
  }

  /**
   * @internal `v` as an index of a connection, by a brand check (`#ctx in v`, which
   * runs none of the caller's code and is false for a Proxy), as the embedded
   * Index.nativeOf: a foreign object is ERR_INVALID_ARGUMENT, a disposed index ERR_DISPOSED.
   */
  static check(v: unknown, name: string, alive = true): RemoteIndex {
    if (typeof v !== 'object' || v === null || !(#ctx in v)) throw invalidParameterError(name, 'an index of this connection', v);
    const index = v as RemoteIndex;
    if (alive && index.#disposed) throw disposedError();
    return index;
  }

  get ntotal(): number {
    live(this);
    return this.#info.ntotal ?? 0;
  }
  get isTrained(): boolean {
    live(this);
    return this.#info.isTrained ?? !/IVF|PQ|SQ[0-9]|PCA|OPQ/.test(this.description.factory);
  }
  get typeName(): string {
    return known(this).#info.type ?? 'unknown';
  }
  get bytes(): number {
    live(this);
    return this.#info.bytes ?? 0;
  }
  get version(): number {
    live(this);
    return this.#info.version ?? 0;
  }
  get disposed(): boolean {
    return known(this).#disposed;
  }
  /** Sent with every search of this client (IVF indexes). */
  get nprobe(): number | undefined {
    live(this);
    return this.#nprobe;
  }
  set nprobe(v: number) {
    live(this);
    this.#nprobe = tunableArg(v, 'nprobe');
  }
  /** Sent with every search of this client (HNSW indexes). */
  get efSearch(): number | undefined {
    live(this);
    return this.#efSearch;
  }
  set efSearch(v: number) {
    live(this);
    this.#efSearch = tunableArg(v, 'efSearch');
  }
  get efConstruction(): number | undefined {
    live(this);
    return undefined;
  }
  set efConstruction(_v: number) {
    live(this);
    throw new FaissError('efConstruction is set when the index is created (params.efConstruction); the remote index cannot change it', 'ERR_UNSUPPORTED');
  }

  /** Asks the server for the index's current state. */
  async refresh(): Promise<RemoteIndexInfo> {
    await this.ensure();
    const r = await this.#ctx.transport.request({ method: 'GET', path: this.#path('') });
    this.#info = r.json;
    return r.json;
  }

  async train(x: Vectors): Promise<void> {
    live(this);
    const m = toMatrix(x, this.d);
    await this.#mutate('train', { bytes: vectorsBody(m) });
  }

  async add(x: Vectors): Promise<void> {
    live(this);
    const m = toMatrix(x, this.d);
    await this.#mutate('add', { bytes: vectorsBody(m) });
  }

  async addWithIds(x: Vectors, ids: Ids): Promise<void> {
    live(this);
    const m = toMatrix(x, this.d);
    const i = toNewIds(ids, 'ids', m.length / this.d);
    await this.#mutate('add', { bytes: vectorsWithIdsBody(m, i), query: { ids: true } });
  }

  async search(x: Vectors, k: number, params?: SearchParams): Promise<SearchResult> {
    live(this);
    const q = toMatrix(x, this.d);
    kArg(k);
    const { sel, ...p } = this.#params(params);
    await this.ensure();
    // A filter travels as the filter part after the query rows (lib/wire.ts); the
    // cache compares the whole body, filter included.
    const filter = sel && selectorPart(sel);
    const query = filter ? filteredQueryBody(q, filter) : vectorsBody(q);
    const cache = this.#ctx.cache;
    const key = `${this.name}\u0000${k}\u0000${p.nprobe}\u0000${p.efSearch}\u0000${filter?.length ?? ''}\u0000${hashBytes(query)}`;
    const cached = cache?.get(key, query, this.version);
    if (cached) return { distances: cached.distances.slice(), labels: cached.labels.slice() };
    const r = await this.#ctx.transport.request({
      method: 'POST',
      path: this.#path('/search'),
      bytes: query,
      binary: true,
      query: { k, ...p, ...(filter ? { filterBytes: filter.length } : {}) },
    });
    const result = readSearchAnswer(answerBytes(r), q.length / this.d, k);
    this.#noteVersion(r.headers);
    cache?.set(key, query, this.version, { distances: result.distances.slice(), labels: result.labels.slice() });
    return result;
  }

  async rangeSearch(x: Vectors, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    live(this);
    const q = toMatrix(x, this.d);
    radiusArg(radius);
    const { sel, ...p } = this.#params(params);
    await this.ensure();
    const filter = sel && selectorPart(sel);
    const r = await this.#ctx.transport.request({
      method: 'POST',
      path: this.#path('/range_search'),
      bytes: filter ? filteredQueryBody(q, filter) : vectorsBody(q),
      binary: true,
      query: { radius, ...p, ...(filter ? { filterBytes: filter.length } : {}) },
    });
    return readRangeSearchAnswer(answerBytes(r), q.length / this.d, Number(r.headers.get(HEADER.total)));
  }

  async removeIds(ids: Ids | IDSelector): Promise<number> {
    live(this);
    if (IDSelector.isSelector(ids)) {
      throw new FaissError('removeIds(selector) is not available on a remote index: remove by ids (the service logs every removal by its ids)', 'ERR_UNSUPPORTED');
    }
    const i = toIds(ids);
    if (i.length === 0) return 0;
    const r = await this.#mutate('remove', { bytes: idsBody(i) });
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
    await this.#mutate('reset', {});
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

  /** FAISS's serialized bytes of the index (GET /export). */
  async serialize(): Promise<Uint8Array> {
    await this.ensure();
    const r = await this.#ctx.transport.request({ method: 'GET', path: this.#path('/export'), binary: true });
    return new Uint8Array(r.bytes!);
  }

  /** Detaches this object; an index created without a name is also deleted from the server. */
  dispose(): void {
    known(this);
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#anonymous && this.#created) void this.#created.then(() => this.drop()).catch(() => undefined);
  }

  /** Deletes the index from the server. */
  async drop(): Promise<void> {
    known(this);
    await this.#ctx.transport.request({ method: 'DELETE', path: this.#path(''), idempotencyKey: newIdempotencyKey() }).catch((e) => {
      if (!(e instanceof FaissError && e.code === 'ERR_NOT_FOUND')) throw e;
    });
  }

  /** @internal Creates the index on the server on first use. */
  ensure(): Promise<void> {
    live(this);
    this.#created ??= this.#create().catch((e) => {
      this.#created = undefined;
      throw e;
    });
    return this.#created;
  }

  /** @internal For import: the server already holds this index. */
  attach(info: RemoteIndexInfo): void {
    this.#info = info;
    this.#created = Promise.resolve();
  }

  async #create(): Promise<void> {
    const body = { name: this.name, dimension: this.d, factory: this.description.factory, metric: metricNameOf(this.description.metric as MetricType) };
    try {
      const r = await this.#ctx.transport.request({ method: 'POST', path: '/v1/indexes', json: body });
      this.#info = r.json;
    } catch (e) {
      // A retried create that had succeeded the first time: the index is ours if it matches.
      if (!(e instanceof FaissError && e.code === 'ERR_INDEX_EXISTS')) throw e;
      const r = await this.#ctx.transport.request({ method: 'GET', path: this.#path('') });
      if (r.json.dimension !== this.d) throw e;
      this.#info = r.json;
    }
  }

  async #mutate(op: string, r: { bytes?: Uint8Array; query?: Record<string, boolean> }): Promise<Record<string, unknown>> {
    await this.ensure();
    const res = await this.#ctx.transport.request({
      method: 'POST',
      path: this.#path(`/${op}`),
      bytes: r.bytes,
      query: r.query,
      idempotencyKey: newIdempotencyKey(), // the same for every retry of this call
    });
    this.#ctx.cache?.clear(`${this.name}\u0000`);
    if (typeof res.json?.ntotal === 'number') this.#info.ntotal = res.json.ntotal;
    if (typeof res.json?.isTrained === 'boolean') this.#info.isTrained = res.json.isTrained;
    if (typeof res.json?.type === 'string') this.#info.type = res.json.type;
    this.#noteVersion(res.headers);
    return res.json;
  }

  async #reconstructIds(ids: (number | bigint)[]): Promise<Float32Array> {
    await this.ensure();
    const r = await this.#ctx.transport.request({ method: 'POST', path: this.#path('/reconstruct'), json: { ids: ids.map(jsonId) }, binary: true });
    return readVectorsAnswer(answerBytes(r), ids.length, this.d);
  }

  #params(params: SearchParams | undefined): SearchParams {
    const given = searchParams(params);
    return { nprobe: given.nprobe ?? this.#nprobe, efSearch: given.efSearch ?? this.#efSearch, ...(given.sel ? { sel: given.sel } : {}) };
  }

  #noteVersion(headers: Headers): void {
    const v = headers.get(HEADER.version);
    if (v !== null) this.#info.version = Number(v);
  }

  #path(suffix: string): string {
    return `/v1/indexes/${encodeURIComponent(this.name)}${suffix}`;
  }
}

// `this` as methods see it, brand-checked as the embedded Index does: a method
// called on a foreign object (RemoteIndex.prototype.search.call({})) throws a
// FaissError, not a TypeError from a private field.
const live = (self: unknown): RemoteIndex => RemoteIndex.check(self, 'this');
// For what stays readable after dispose (typeName, disposed).
const known = (self: unknown): RemoteIndex => RemoteIndex.check(self, 'this', false);
