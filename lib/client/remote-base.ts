// What every index on a faiss-proxy server shares, float (RemoteIndex) or binary
// (RemoteIndexBinary): its name and description, the server's state as of this
// client's last call, creation on first use, writes with an Idempotency-Key,
// search settings sent with every search, the k-means seed with every train,
// disposal. The subclasses only shape rows and answers.
import { metricNameOf, type MetricType } from '../constants';
import { FaissError } from '../errors';
import { invalidParameterError } from '../is';
import { disposedError, kmeansSeedArg, searchParams, tunableArg } from '../limits';
import type { SearchParams, SearchResult } from '../types';
import { HEADER } from '../wire';
import type { ResultsCache } from './results-cache';
import { newIdempotencyKey, type Request, type Response, type Transport } from './transport';

export interface RemoteIndexInfo {
  name: string;
  dimension: number;
  type: string;
  factory: string;
  /** "L2", "IP", "L1", ... (lib/constants.ts, metricNameOf); Hamming for binary indexes. */
  metric: string;
  ntotal: number;
  isTrained: boolean;
  bytes: number;
  version: number;
  /** Where it lives on the server when loaded: "cpu" or "gpu:<n>" (servers before GPU indexes: absent). */
  device?: string;
}

/** How the server builds the index: a FAISS factory string and a metric (binary ones: "B..." and none). */
export interface IndexDescription {
  factory: string;
  metric: number;
  /** The server's device for it (RemoteIndexOptions.device); absent: the server's default, the CPU. */
  device?: string;
  /** A cluster's shards for it (RemoteIndexOptions.shards); absent: one whole index. */
  shards?: number;
}

export interface RemoteContext {
  transport: Transport;
  cache?: ResultsCache<SearchResult>;
}

export const answerBytes = (r: { bytes?: ArrayBuffer }): Uint8Array => new Uint8Array(r.bytes ?? new ArrayBuffer(0));

export abstract class RemoteIndexBase {
  readonly d: number;
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
  #kmeansSeed: number | undefined;

  /** @internal Built by the classes of connect(); `existing` attaches to a server index. */
  constructor(ctx: RemoteContext, d: number, description: IndexDescription, name?: string, existing?: RemoteIndexInfo) {
    this.#ctx = ctx;
    this.d = d;
    this.description = description;
    this.#anonymous = name === undefined;
    this.name = name ?? `idx-${newIdempotencyKey()}`;
    if (existing) {
      this.#info = existing;
      this.#created = Promise.resolve();
    }
  }

  /**
   * @internal `v` as an index of a connection, by a brand check (`#ctx in v`, which
   * runs none of the caller's code and is false for a Proxy): a foreign object is
   * ERR_INVALID_ARGUMENT, a disposed index ERR_DISPOSED.
   */
  static checkAny(v: unknown, name: string, alive = true): RemoteIndexBase {
    if (typeof v !== 'object' || v === null || !(#ctx in v)) throw invalidParameterError(name, 'an index of this connection', v);
    const index = v as RemoteIndexBase;
    if (alive && index.#disposed) throw disposedError();
    return index;
  }

  get ntotal(): number {
    live(this);
    return this.#info.ntotal ?? 0;
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
  /** Sent with every train of this client (IVF indexes); unset, the server trains with FAISS's default, 1234. */
  get kmeansSeed(): number | undefined {
    live(this);
    return this.#kmeansSeed;
  }
  set kmeansSeed(v: number) {
    live(this);
    this.#kmeansSeed = kmeansSeedArg(v);
  }

  /** Asks the server for the index's current state. */
  async refresh(): Promise<RemoteIndexInfo> {
    live(this);
    await this.ensure();
    const r = await this.#ctx.transport.request({ method: 'GET', path: this.path('') });
    this.#info = r.json;
    return r.json;
  }

  /** FAISS's serialized bytes of the index (GET /export). */
  async serialize(): Promise<Uint8Array> {
    live(this);
    await this.ensure();
    const r = await this.#ctx.transport.request({ method: 'GET', path: this.path('/export'), binary: true });
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
    await this.#ctx.transport.request({ method: 'DELETE', path: this.path(''), idempotencyKey: newIdempotencyKey() }).catch((e) => {
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

  /** @internal For the subclasses: the server's isTrained as of the last call, if it said. */
  get knownIsTrained(): boolean | undefined {
    return this.#info.isTrained;
  }

  /** @internal For the subclasses. */
  get cache(): ResultsCache<SearchResult> | undefined {
    return this.#ctx.cache;
  }

  /** @internal For the subclasses: the create request's body: the description and the dimension. */
  createBody(): Record<string, unknown> {
    const { factory, metric, device, shards } = this.description;
    return { name: this.name, dimension: this.d, factory, metric: metricNameOf(metric as MetricType), ...(device !== undefined && { device }), ...(shards !== undefined && { shards }) };
  }

  /** @internal For the subclasses: a call on this index (created first). */
  async request(r: Omit<Request, 'path'> & { op: string }): Promise<Response> {
    await this.ensure();
    const { op, ...rest } = r;
    return this.#ctx.transport.request({ ...rest, path: this.path(op) });
  }

  /**
   * @internal For the subclasses: a write, with an Idempotency-Key (the caller's, else a new one) the same for
   * every retry; notes the index's new state.
   */
  async mutate(op: string, r: { bytes?: Uint8Array; query?: Record<string, boolean | number>; idempotencyKey?: string }): Promise<Record<string, unknown>> {
    await this.ensure();
    const res = await this.#ctx.transport.request({
      method: 'POST',
      path: this.path(`/${op}`),
      bytes: r.bytes,
      query: r.query,
      idempotencyKey: r.idempotencyKey ?? newIdempotencyKey(),
    });
    this.#ctx.cache?.clear(`${this.name}\u0000`);
    if (typeof res.json?.ntotal === 'number') this.#info.ntotal = res.json.ntotal;
    if (typeof res.json?.isTrained === 'boolean') this.#info.isTrained = res.json.isTrained;
    if (typeof res.json?.type === 'string') this.#info.type = res.json.type;
    this.noteVersion(res.headers);
    return res.json;
  }

  /** @internal For the subclasses: the call's search settings (its selector too), completed by this client's own. */
  params(params: SearchParams | undefined): SearchParams {
    const given = searchParams(params);
    return { nprobe: given.nprobe ?? this.#nprobe, efSearch: given.efSearch ?? this.#efSearch, ...(given.sel ? { sel: given.sel } : {}) };
  }

  /** @internal For the subclasses: a train's query string, this client's k-means seed if set. */
  trainQuery(): Record<string, number> | undefined {
    return this.#kmeansSeed !== undefined ? { kmeansSeed: this.#kmeansSeed } : undefined;
  }

  /** @internal For the subclasses. */
  noteVersion(headers: Headers): void {
    const v = headers.get(HEADER.version);
    if (v !== null) this.#info.version = Number(v);
  }

  /** @internal For the subclasses. */
  path(suffix: string): string {
    return `/v1/indexes/${encodeURIComponent(this.name)}${suffix}`;
  }

  async #create(): Promise<void> {
    try {
      const r = await this.#ctx.transport.request({ method: 'POST', path: '/v1/indexes', json: this.createBody() });
      this.#info = r.json;
    } catch (e) {
      // A retried create that had succeeded the first time: the index is ours if it matches.
      if (!(e instanceof FaissError && e.code === 'ERR_INDEX_EXISTS')) throw e;
      const r = await this.#ctx.transport.request({ method: 'GET', path: this.path('') });
      if (r.json.dimension !== this.d) throw e;
      this.#info = r.json;
    }
  }
}

// `this` as methods see it, brand-checked: a method called on a foreign object
// (RemoteIndex.prototype.search.call({})) throws a FaissError, not a TypeError
// from a private field.
const live = (self: unknown): RemoteIndexBase => RemoteIndexBase.checkAny(self, 'this');
// For what stays readable after dispose (typeName, disposed).
const known = (self: unknown): RemoteIndexBase => RemoteIndexBase.checkAny(self, 'this', false);
