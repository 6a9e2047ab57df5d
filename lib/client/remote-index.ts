// An index on a faiss-proxy server with the embedded Index's methods, results and
// errors. Differences, all documented: ntotal / isTrained / typeName are as of
// this client's last call (refresh() asks the server); nprobe and efSearch set
// here are sent with every search rather than stored on the server; the index
// is created on the server by its first use.
import { METRIC_L2 } from '../constants';
import { FaissError } from '../errors';
import { integerIn, invalidParameterError, isFiniteNumber } from '../is';
import { kArg, searchParams, tunableArg } from '../search-limits';
import type { DirectMapType, Ids, RangeSearchResult, SearchParams, SearchResult, Vectors } from '../types';
import { toIds, toMatrix, toNewIds } from '../vectors';
import { hashBytes, type ResultsCache } from './results-cache';
import { newIdempotencyKey, type Transport } from './transport';

export interface RemoteIndexInfo {
  name: string;
  dimension: number;
  type: string;
  factory: string;
  metric: 'L2' | 'IP';
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

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A typed view of part of a response, copied only when it is not aligned. */
function slice<T extends Float32Array | BigInt64Array | BigUint64Array>(
  Type: { new (b: ArrayBuffer, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number },
  buf: ArrayBuffer,
  offset: number,
  count: number,
): T {
  if (offset % Type.BYTES_PER_ELEMENT === 0) return new Type(buf, offset, count);
  const out = new Type(count);
  new Uint8Array(out.buffer).set(new Uint8Array(buf, offset, count * Type.BYTES_PER_ELEMENT));
  return out;
}

export class RemoteIndex {
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

  get ntotal(): number {
    this.#alive();
    return this.#info.ntotal ?? 0;
  }
  get isTrained(): boolean {
    this.#alive();
    return this.#info.isTrained ?? !/IVF|PQ|SQ[0-9]|PCA|OPQ/.test(this.description.factory);
  }
  get typeName(): string {
    return this.#info.type ?? 'unknown';
  }
  get bytes(): number {
    return this.#info.bytes ?? 0;
  }
  get version(): number {
    return this.#info.version ?? 0;
  }
  get disposed(): boolean {
    return this.#disposed;
  }
  /** Sent with every search of this client (IVF indexes). */
  get nprobe(): number | undefined {
    return this.#nprobe;
  }
  set nprobe(v: number) {
    this.#nprobe = v === undefined ? undefined : tunableArg(v, 'nprobe');
  }
  /** Sent with every search of this client (HNSW indexes). */
  get efSearch(): number | undefined {
    return this.#efSearch;
  }
  set efSearch(v: number) {
    this.#efSearch = v === undefined ? undefined : tunableArg(v, 'efSearch');
  }
  get efConstruction(): number | undefined {
    return undefined;
  }
  set efConstruction(_v: number) {
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
    const m = toMatrix(x, this.d);
    await this.#mutate('train', { bytes: bytesOf(m) });
  }

  async add(x: Vectors): Promise<void> {
    const m = toMatrix(x, this.d);
    await this.#mutate('add', { bytes: bytesOf(m) });
  }

  async addWithIds(x: Vectors, ids: Ids): Promise<void> {
    const m = toMatrix(x, this.d);
    const i = toNewIds(ids, 'ids', m.length / this.d);
    const body = new Uint8Array(m.byteLength + i.byteLength);
    body.set(bytesOf(m), 0);
    body.set(bytesOf(i), m.byteLength);
    await this.#mutate('add', { bytes: body, query: { ids: true } });
  }

  async search(x: Vectors, k: number, params?: SearchParams): Promise<SearchResult> {
    const q = toMatrix(x, this.d);
    kArg(k);
    const p = this.#params(params);
    await this.ensure();
    const query = bytesOf(q);
    const cache = this.#ctx.cache;
    const key = `${this.name}\u0000${k}\u0000${p.nprobe}\u0000${p.efSearch}\u0000${hashBytes(query)}`;
    const cached = cache?.get(key, query, this.version);
    if (cached) return { distances: cached.distances.slice(), labels: cached.labels.slice() };
    const r = await this.#ctx.transport.request({ method: 'POST', path: this.#path('/search'), bytes: query, binary: true, query: { k, ...p } });
    const nq = q.length / this.d;
    const result = { distances: slice(Float32Array, r.bytes!, 0, nq * k), labels: slice(BigInt64Array, r.bytes!, nq * k * 4, nq * k) };
    this.#noteVersion(r.headers);
    cache?.set(key, query, this.version, { distances: result.distances.slice(), labels: result.labels.slice() });
    return result;
  }

  async rangeSearch(x: Vectors, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    const q = toMatrix(x, this.d);
    if (!isFiniteNumber(radius)) throw invalidParameterError('radius', 'a finite number', radius);
    await this.ensure();
    const r = await this.#ctx.transport.request({
      method: 'POST',
      path: this.#path('/range_search'),
      bytes: bytesOf(q),
      binary: true,
      query: { radius, ...this.#params(params) },
    });
    const nq = q.length / this.d;
    const total = Number(r.headers.get('x-faiss-total'));
    const lims = slice(BigUint64Array, r.bytes!, 0, nq + 1);
    const distances = slice(Float32Array, r.bytes!, (nq + 1) * 8, total);
    const labels = slice(BigInt64Array, r.bytes!, (nq + 1) * 8 + total * 4, total);
    return { lims, distances, labels };
  }

  async removeIds(ids: Ids): Promise<number> {
    const i = toIds(ids);
    if (i.length === 0) return 0;
    const r = await this.#mutate('remove', { bytes: bytesOf(i) });
    return r.removed as number;
  }

  async reconstruct(id: number | bigint): Promise<Float32Array> {
    if (typeof id !== 'bigint') integerIn(id, 'id', -(2 ** 53), 2 ** 53);
    return this.#reconstructIds([id]);
  }

  async reconstructN(i0: number, n: number): Promise<Float32Array> {
    integerIn(i0, 'i0', 0, 2 ** 53);
    integerIn(n, 'n', 0, 2 ** 53);
    if (n === 0) return new Float32Array(0);
    return this.#reconstructIds(Array.from({ length: n }, (_, i) => i0 + i));
  }

  async reset(): Promise<void> {
    await this.#mutate('reset', {});
  }

  async mergeFrom(_other: unknown): Promise<void> {
    throw new FaissError('mergeFrom is not available on a remote index: export one index and add its vectors to the other', 'ERR_UNSUPPORTED');
  }

  /**
   * The server builds an IVF index's direct map itself the first time reconstruct
   * needs it; this checks the argument and that the index exists, as the embedded
   * call would, and leaves the building to the server.
   */
  async makeDirectMap(type: DirectMapType = 'array'): Promise<void> {
    if (type !== 'array' && type !== 'hashtable') throw invalidParameterError('type', '"array" or "hashtable"', type);
    await this.ensure();
  }

  /** FAISS's serialized bytes of the index (GET /export). */
  async serialize(): Promise<Uint8Array> {
    await this.ensure();
    const r = await this.#ctx.transport.request({ method: 'GET', path: this.#path('/export'), binary: true });
    return new Uint8Array(r.bytes!);
  }

  /** Detaches this object; an index created without a name is also deleted from the server. */
  dispose(): void {
    if (this.#disposed) return;
    this.#disposed = true;
    if (this.#anonymous && this.#created) void this.#created.then(() => this.drop()).catch(() => undefined);
  }

  /** Deletes the index from the server. */
  async drop(): Promise<void> {
    await this.#ctx.transport.request({ method: 'DELETE', path: this.#path(''), idempotencyKey: newIdempotencyKey() }).catch((e) => {
      if (!(e instanceof FaissError && e.code === 'ERR_NOT_FOUND')) throw e;
    });
  }

  /** @internal Creates the index on the server on first use. */
  ensure(): Promise<void> {
    this.#alive();
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
    const body = { name: this.name, dimension: this.d, factory: this.description.factory, metric: this.description.metric === METRIC_L2 ? 'L2' : 'IP' };
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
    // JSON ids: numbers while exact, else decimal strings (the service takes both).
    const json = ids.map((id) => (Number.isSafeInteger(Number(id)) ? Number(id) : String(id)));
    const r = await this.#ctx.transport.request({ method: 'POST', path: this.#path('/reconstruct'), json: { ids: json }, binary: true });
    return slice(Float32Array, r.bytes!, 0, ids.length * this.d);
  }

  #params(params: SearchParams | undefined): SearchParams {
    const given = searchParams(params);
    return { nprobe: given.nprobe ?? this.#nprobe, efSearch: given.efSearch ?? this.#efSearch };
  }

  #noteVersion(headers: Headers): void {
    const v = headers.get('x-index-version');
    if (v !== null) this.#info.version = Number(v);
  }

  #path(suffix: string): string {
    return `/v1/indexes/${encodeURIComponent(this.name)}${suffix}`;
  }

  #alive(): void {
    if (this.#disposed) throw new FaissError('This index has been disposed; it cannot be used any more', 'ERR_DISPOSED');
  }
}
