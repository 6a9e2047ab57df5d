// The collections of a faiss-proxy server (/v1/collections, /v1/aliases) behind
// the same `CollectionsApi` the embedded `openCollections()` gives
// (lib/collections/types.ts), so that a user moves from one to the other by
// changing the line that makes it. Vectors travel as JSON number arrays and come
// back as Float32Arrays; the server's error codes come back as the same
// FaissError codes (transport.ts). Every write carries an Idempotency-Key, the
// caller's or a new one, the same for every retry of the call.
import type {
  AliasInfo,
  Collection,
  CollectionInfo,
  CollectionsApi,
  CollectionSpec,
  Filter,
  Hit,
  PayloadFieldType,
  Point,
  PointInput,
  ReadOptions,
  ScrollOptions,
  SearchOptions,
  WriteOptions,
} from '../collections/types';
import { isFloat32Array } from '../brands';
import { FaissError } from '../errors';
import { invalidParameterError, isFiniteNumber, readArgument } from '../is';
import { kArg } from '../limits';
import { IDEMPOTENCY_KEY } from '../wire';
import {
  collectionNameArg,
  filterOptionInput,
  payloadFieldArg,
  payloadFieldTypeArg,
  readOptionsInput,
  scrollOptionsInput,
  searchOptionsInput,
} from '../collections/input';
import { newIdempotencyKey, type Request, type Transport } from './transport';

type Rows = Float32Array | readonly (readonly number[])[];

/** A vector as a JSON number array, each component a finite number (JSON has no NaN: it would travel as null). */
function vectorJson(v: Float32Array | readonly number[], name: string): number[] {
  return readArgument(name, () => {
    if (!isFloat32Array(v) && !Array.isArray(v)) throw invalidParameterError(name, 'a Float32Array or an array of numbers', v);
    const out = Array.from(v as ArrayLike<number>);
    if (out.length === 0) throw invalidParameterError(name, 'a non-empty vector', v);
    out.forEach((c, j) => {
      if (!isFiniteNumber(c)) throw invalidParameterError(`${name}[${j}]`, 'a finite number', c);
    });
    return out;
  });
}

/** A point as the server sends it: its vector (when asked for) as a Float32Array. */
function pointOf<T extends { vector?: unknown }>(p: T): T & { vector?: Float32Array } {
  if (Array.isArray(p.vector)) return { ...p, vector: Float32Array.from(p.vector as number[]) };
  return p as T & { vector?: Float32Array };
}

/** The caller's idempotency key, checked as the server checks it (and the embedded collections), or a new one. */
export function keyOf(o: WriteOptions | undefined): string {
  if (o === undefined) return newIdempotencyKey();
  if (o === null || typeof o !== 'object') throw invalidParameterError('options', 'an object', o);
  const key = readArgument('options.idempotencyKey', () => o.idempotencyKey);
  if (key === undefined) return newIdempotencyKey();
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw invalidParameterError('options.idempotencyKey', '1 to 128 printable ASCII characters without spaces', key);
  }
  return key;
}

/**
 * A call's options, checked as the embedded collections check them
 * (lib/collections/input.ts: the same codes and messages), then sent as given,
 * without the absent ones, so that the server's defaults apply.
 */
function optionsJson(o: object | undefined, check: (o: unknown) => unknown): Record<string, unknown> {
  check(o);
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(o ?? {})) if (v !== undefined && v !== null) out[key] = v;
  return out;
}

const path = (name: string, suffix = ''): string => `/v1/collections/${encodeURIComponent(name)}${suffix}`;

class RemoteCollection implements Collection {
  readonly name: string;
  readonly #transport: Transport;
  /** The dimension as of the last call that told it: splits a flat Float32Array into the rows JSON sends. */
  #d: number | undefined;

  constructor(transport: Transport, name: string) {
    this.#transport = transport;
    this.name = name;
  }

  async #call(r: Omit<Request, 'path'> & { op?: string }): Promise<any> {
    // Checked at each call, as the embedded handles check it: a name no collection can have is refused before it is sent.
    collectionNameArg(this.name, 'name');
    const { op, ...rest } = r;
    return (await this.#transport.request({ ...rest, path: path(this.name, op) })).json;
  }

  async info(): Promise<CollectionInfo> {
    const info = (await this.#call({ method: 'GET' })) as CollectionInfo;
    this.#d = info.dimension;
    return info;
  }

  /**
   * Rows as JSON arrays. A flat Float32Array is split by the dimension as last
   * known: an alias switched meanwhile to a collection of another dimension gets
   * rows of the old one, which the server refuses (ERR_DIMENSION), and `send`
   * then asks again once.
   */
  async #rowsCall(x: Rows, name: string, send: (rows: number[][]) => Promise<any>): Promise<any> {
    if (!isFloat32Array(x)) {
      const rows = readArgument(name, () => {
        if (!Array.isArray(x)) throw invalidParameterError(name, 'a Float32Array or an array of number arrays', x);
        if (x.length === 0) throw invalidParameterError(name, 'at least one vector', x);
        return x.map((row, i) => vectorJson(row, `${name}[${i}]`));
      });
      return send(rows);
    }
    const known = this.#d;
    const split = (d: number): number[][] => {
      if (x.length === 0) throw invalidParameterError(name, 'at least one vector', x);
      if (x.length % d !== 0) throw new FaissError(`Expected ${name} to hold rows of dimension ${d} but its length ${x.length} is not a multiple of ${d}`, 'ERR_DIMENSION');
      return Array.from({ length: x.length / d }, (_, i) => vectorJson(x.subarray(i * d, (i + 1) * d), `${name}[${i}]`));
    };
    const d = known ?? (await this.info()).dimension;
    try {
      return await send(split(d));
    } catch (e) {
      if (known === undefined || !(e instanceof FaissError && e.code === 'ERR_DIMENSION')) throw e;
      const now = (await this.info()).dimension;
      if (now === known) throw e;
      return send(split(now));
    }
  }

  async train(vectors: Rows): Promise<void> {
    const key = newIdempotencyKey();
    await this.#rowsCall(vectors, 'vectors', (rows) => this.#call({ method: 'POST', op: '/train', json: { vectors: rows }, idempotencyKey: key }));
  }

  async upsert(points: readonly PointInput[], o?: WriteOptions): Promise<{ upserted: number }> {
    const key = keyOf(o);
    const body = readArgument('points', () => {
      if (!Array.isArray(points)) throw invalidParameterError('points', 'an array of points', points);
      return points.map((p, i) => {
        if (p === null || typeof p !== 'object') throw invalidParameterError(`points[${i}]`, 'a point { id, vector, payload? }', p);
        return { id: p.id, vector: vectorJson(p.vector, `points[${i}].vector`), ...(p.payload !== undefined ? { payload: p.payload } : {}) };
      });
    });
    const r = await this.#call({ method: 'PUT', op: '/points', json: { points: body }, idempotencyKey: key });
    return { upserted: r.upserted };
  }

  async get(ids: readonly string[], o?: ReadOptions): Promise<Point[]> {
    const r = await this.#call({ method: 'POST', op: '/points/get', json: { ids, ...optionsJson(o, readOptionsInput) } });
    return (r.points as Point[]).map(pointOf);
  }

  async delete(target: readonly string[] | { filter: Filter }, o?: WriteOptions): Promise<{ deleted: number }> {
    const key = keyOf(o);
    const json = Array.isArray(target) ? { ids: target } : target !== null && typeof target === 'object' ? { filter: (target as { filter: Filter }).filter } : undefined;
    if (json === undefined) throw invalidParameterError('target', 'an array of ids or { filter }', target);
    const r = await this.#call({ method: 'POST', op: '/points/delete', json, idempotencyKey: key });
    return { deleted: r.deleted };
  }

  async count(o?: { filter?: Filter }): Promise<number> {
    const r = await this.#call({ method: 'POST', op: '/points/count', json: optionsJson(o, filterOptionInput) });
    return r.count;
  }

  async scroll(o?: ScrollOptions): Promise<{ points: Point[]; nextOffset: string | null }> {
    const r = await this.#call({ method: 'POST', op: '/points/scroll', json: optionsJson(o, scrollOptionsInput) });
    return { points: (r.points as Point[]).map(pointOf), nextOffset: r.nextOffset };
  }

  async search(vector: Float32Array | readonly number[], k: number, o?: SearchOptions): Promise<Hit[]> {
    kArg(k);
    const r = await this.#call({ method: 'POST', op: '/search', json: { vector: vectorJson(vector, 'vector'), k, ...optionsJson(o, searchOptionsInput) } });
    return (r.hits as Hit[]).map(pointOf);
  }

  async searchBatch(vectors: Rows, k: number, o?: SearchOptions): Promise<Hit[][]> {
    kArg(k);
    const options = optionsJson(o, searchOptionsInput);
    const r = await this.#rowsCall(vectors, 'vectors', (rows) => this.#call({ method: 'POST', op: '/search', json: { vectors: rows, k, ...options } }));
    return (r.results as Hit[][]).map((hits) => hits.map(pointOf));
  }

  async createPayloadIndex(field: string, type: PayloadFieldType): Promise<void> {
    const at = `/payload-indexes/${encodeURIComponent(payloadFieldArg(field))}`;
    await this.#call({ method: 'PUT', op: at, json: { type: payloadFieldTypeArg(type) }, idempotencyKey: newIdempotencyKey() });
  }

  async deletePayloadIndex(field: string): Promise<void> {
    await this.#call({ method: 'DELETE', op: `/payload-indexes/${encodeURIComponent(payloadFieldArg(field))}`, idempotencyKey: newIdempotencyKey() });
  }
}

/**
 * A write whose retry can meet the effect of its own first attempt (whose answer
 * was lost): a create then finds the name taken, a delete finds it gone. After a
 * retry, `ownEffect` says whether the error is that; a first attempt's error is
 * always the caller's.
 */
async function once(transport: Transport, r: Request, ownEffect: (e: FaissError) => boolean | Promise<boolean>): Promise<void> {
  let retried = false;
  try {
    await transport.request({ ...r, idempotencyKey: newIdempotencyKey(), onRetry: () => (retried = true) });
  } catch (e) {
    if (!(retried && e instanceof FaissError && (await ownEffect(e)))) throw e;
  }
}

/** The CollectionsApi of one connection. */
export function remoteCollections(transport: Transport): CollectionsApi {
  const handle = (nameOrAlias: string): Collection => new RemoteCollection(transport, nameOrAlias);
  const aliasPath = (alias: string): string => `/v1/aliases/${encodeURIComponent(collectionNameArg(alias, 'alias'))}`;
  const aliasTarget = async (alias: string): Promise<string | undefined> => (await api.listAliases()).find((a) => a.alias === alias)?.collection;

  const api: CollectionsApi = {
    async createCollection(spec: CollectionSpec): Promise<Collection> {
      if (spec === null || typeof spec !== 'object') throw invalidParameterError('spec', 'a collection spec { name, dimension, ... }', spec);
      await once(transport, { method: 'POST', path: '/v1/collections', json: spec }, async (e) => {
        if (e.code !== 'ERR_COLLECTION_EXISTS') return false;
        const info = await handle(spec.name).info();
        return info.dimension === spec.dimension && info.factory === (spec.factory ?? 'Flat') && info.metric === (spec.metric ?? 'l2') && info.count === 0;
      });
      return handle(spec.name);
    },
    collection: handle,
    async listCollections(): Promise<CollectionInfo[]> {
      return (await transport.request({ method: 'GET', path: '/v1/collections' })).json.collections;
    },
    async deleteCollection(name: string): Promise<void> {
      await once(transport, { method: 'DELETE', path: path(collectionNameArg(name, 'name')) }, (e) => e.code === 'ERR_COLLECTION_NOT_FOUND');
    },
    async createAlias(alias: string, collection: string): Promise<void> {
      const json = { alias: collectionNameArg(alias, 'alias'), collection: collectionNameArg(collection, 'collection') };
      await once(transport, { method: 'POST', path: '/v1/aliases', json }, async (e) => e.code === 'ERR_ALIAS_EXISTS' && (await aliasTarget(alias)) === collection);
    },
    async switchAlias(alias: string, collection: string): Promise<void> {
      const to = aliasPath(alias);
      await transport.request({ method: 'PUT', path: to, json: { collection: collectionNameArg(collection, 'collection') }, idempotencyKey: newIdempotencyKey() });
    },
    async deleteAlias(alias: string): Promise<void> {
      await once(transport, { method: 'DELETE', path: aliasPath(alias) }, (e) => e.code === 'ERR_ALIAS_NOT_FOUND');
    },
    async listAliases(): Promise<AliasInfo[]> {
      return (await transport.request({ method: 'GET', path: '/v1/aliases' })).json.aliases;
    },
  };
  return api;
}
