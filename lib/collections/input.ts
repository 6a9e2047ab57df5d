// The validators every implementation of collections shares (embedded, the
// remote client, the service's HTTP routes): a value that passes here is what
// CollectionState takes. Each value of the caller is read once.
import { FaissError } from '../errors';
import { invalidParameterError, isFiniteNumber, isInteger, isObject, readArgument } from '../is';
import { dimensionArg, kArg, tunableArg } from '../limits';
import { isFloat32Array } from '../brands';
import { parseFilter, type ParsedFilter } from './filter';
import { COLLECTION_LIMITS, type CollectionLimits } from './limits';
import { pointIdProblem } from './point-id';
import type { CollectionMetric, CollectionSpec, Payload, PayloadFieldType } from './types';

/** A validated upsert: unique ids (the last of a repeated id wins, as Qdrant), their vectors (n * d), payloads. */
export interface PointsBatch {
  ids: string[];
  x: Float32Array;
  payloads: (Payload | null)[];
}

/** A spec with its defaults filled in. */
export interface ValidSpec {
  name: string;
  dimension: number;
  factory: string;
  metric: CollectionMetric;
  payloadIndexes: Record<string, PayloadFieldType>;
}

/** A collection's (or an alias's) name: 1-64 letters, digits, "_" or "-", starting with a letter or digit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export function collectionNameArg(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || !NAME.test(name)) {
    throw invalidParameterError(what, '1-64 letters, digits, "_" or "-", starting with a letter or digit', name);
  }
  return name;
}

export function pointIdArg(id: unknown, where: string): string {
  const problem = pointIdProblem(id);
  if (problem) throw new FaissError(`${where}: ${problem}`, 'ERR_INVALID_ARGUMENT');
  return id as string;
}

/** Ids to get or delete: an array of point ids (repeats kept: get answers in the order asked). */
export function idsArg(ids: unknown, where = 'ids'): string[] {
  return readArgument(where, () => {
    if (!Array.isArray(ids)) throw invalidParameterError(where, 'an array of point ids', ids);
    if (ids.length > COLLECTION_LIMITS.batchPoints) throw invalidParameterError(where, `at most ${COLLECTION_LIMITS.batchPoints} ids`, ids);
    return Array.from(ids, (id: unknown, i) => pointIdArg(id, `${where}[${i}]`)); // a hole is an id missing, not skipped
  });
}

const PAYLOAD_FIELD_TYPES: readonly PayloadFieldType[] = ['keyword', 'integer', 'float', 'bool', 'datetime'];

export function payloadFieldTypeArg(type: unknown, where = 'type'): PayloadFieldType {
  if (!PAYLOAD_FIELD_TYPES.includes(type as PayloadFieldType)) throw invalidParameterError(where, `one of ${PAYLOAD_FIELD_TYPES.join(', ')}`, type);
  return type as PayloadFieldType;
}

/** A payload field to index: a dot-separated path, as filters name it. */
export function payloadFieldArg(field: unknown, where = 'field'): string {
  if (typeof field !== 'string' || field.length === 0 || Buffer.byteLength(field) > COLLECTION_LIMITS.fieldBytes) {
    throw invalidParameterError(where, `a payload field path of 1 to ${COLLECTION_LIMITS.fieldBytes} bytes`, field);
  }
  if (field.split('.').some((s) => s.length === 0 || s === '[]')) throw invalidParameterError(where, 'a field path without empty segments', field);
  return field;
}

export function specInput(spec: unknown): ValidSpec {
  return readArgument('spec', () => {
    if (!isObject(spec)) throw invalidParameterError('spec', 'an object', spec);
    const { name, dimension, factory, metric, payloadIndexes } = spec;
    const extra = Object.keys(spec).find((k) => !['name', 'dimension', 'factory', 'metric', 'payloadIndexes'].includes(k));
    if (extra !== undefined) throw invalidParameterError('spec', 'only the keys name, dimension, factory, metric and payloadIndexes', extra);
    const indexes: Record<string, PayloadFieldType> = {};
    if (payloadIndexes !== undefined) {
      if (!isObject(payloadIndexes)) throw invalidParameterError('spec.payloadIndexes', 'an object of field → type', payloadIndexes);
      for (const field of Object.keys(payloadIndexes)) {
        indexes[payloadFieldArg(field, `spec.payloadIndexes key`)] = payloadFieldTypeArg(payloadIndexes[field], `spec.payloadIndexes[${JSON.stringify(field)}]`);
      }
    }
    if (factory !== undefined && (typeof factory !== 'string' || factory.length === 0 || factory.length > 1024)) {
      throw invalidParameterError('spec.factory', 'a FAISS factory string', factory);
    }
    if (metric !== undefined && metric !== 'l2' && metric !== 'ip') throw invalidParameterError('spec.metric', '"l2" or "ip"', metric);
    return {
      name: collectionNameArg(name, 'spec.name'),
      dimension: dimensionArg(dimension),
      factory: (factory as string | undefined) ?? 'Flat',
      metric: (metric as CollectionMetric | undefined) ?? 'l2',
      payloadIndexes: indexes,
    };
  });
}

/** One vector of dimension d, as a point or a query gives it. */
export function vectorArg(v: unknown, d: number, where: string): Float32Array {
  if (isFloat32Array(v)) {
    if (v.length !== d) throw new FaissError(`${where}: expected ${d} values (the collection's dimension) but received ${v.length}`, 'ERR_DIMENSION');
    for (let j = 0; j < d; j++) if (!Number.isFinite(v[j])) throw invalidParameterError(`${where}[${j}]`, 'a finite number', v[j]);
    return v;
  }
  if (!Array.isArray(v)) throw invalidParameterError(where, 'a Float32Array or an array of numbers', v);
  if (v.length !== d) throw new FaissError(`${where}: expected ${d} values (the collection's dimension) but received ${v.length}`, 'ERR_DIMENSION');
  const out = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const x: unknown = v[j];
    if (!isFiniteNumber(x)) throw invalidParameterError(`${where}[${j}]`, 'a finite number', x);
    out[j] = x;
  }
  return out;
}

/** Vectors to search or train with: n * d floats, or n arrays of d numbers; answers the rows and n. */
export function vectorsArg(x: unknown, d: number, where = 'vectors'): { x: Float32Array; n: number } {
  return readArgument(where, () => {
    if (isFloat32Array(x)) {
      if (x.length === 0 || x.length % d !== 0) {
        throw new FaissError(`${where}: expected a multiple of ${d} values (the collection's dimension), at least one vector, but received ${x.length}`, 'ERR_DIMENSION');
      }
      return { x: vectorArg(x, x.length, where), n: x.length / d };
    }
    if (!Array.isArray(x) || x.length === 0) throw invalidParameterError(where, 'a Float32Array or a non-empty array of vectors', x);
    if (x.length * d > 2 ** 28) throw invalidParameterError(where, 'at most 2^28 values (pass a Float32Array)', x);
    const out = new Float32Array(x.length * d);
    for (let i = 0; i < x.length; i++) out.set(vectorArg(x[i], d, `${where}[${i}]`), i * d); // a hole is a vector missing, not zeros
    return { x: out, n: x.length };
  });
}

/**
 * A payload: a JSON object of plain values (no undefined, functions, NaN, ...),
 * at most `maxBytes` of UTF-8 JSON. Answers a copy (what the caller's object
 * becomes later does not change the point) and its size.
 */
export function payloadArg(payload: unknown, maxBytes: number, where: string): { payload: Payload | null; bytes: number } {
  if (payload === undefined || payload === null) return { payload: null, bytes: 0 };
  if (!isObject(payload)) throw invalidParameterError(where, 'a JSON object (or null)', payload);
  let bytes = 0;
  const walk = (v: unknown, at: string, depth: number): void => {
    if (depth > 64) throw invalidParameterError(at, 'JSON nested at most 64 deep', v);
    if (bytes > maxBytes) return; // too large: said below, without reading the rest
    if (v === null || typeof v === 'boolean') bytes += 4;
    else if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalidParameterError(at, 'a finite number (JSON has no NaN or Infinity)', v);
      bytes += 1;
    } else if (typeof v === 'string') bytes += v.length + 2;
    else if (Array.isArray(v)) {
      bytes += 2;
      for (let i = 0; i < v.length; i++) walk(v[i], `${at}[${i}]`, depth + 1);
    } else if (isObject(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null)) {
      bytes += 2;
      for (const key of Object.keys(v)) {
        bytes += key.length + 3;
        walk(v[key], `${at}.${key}`, depth + 1);
      }
    } else {
      throw invalidParameterError(at, 'a JSON value (null, boolean, number, string, array or plain object)', v);
    }
  };
  readArgument(where, () => walk(payload, where, 0));
  const tooLarge = (size: string) => new FaissError(`${where}: the payload's JSON is ${size} bytes; at most ${maxBytes} are allowed`, 'ERR_PAYLOAD_TOO_LARGE');
  // The walk counted at most one byte per UTF-16 unit: a lower bound of the UTF-8 JSON's size.
  if (bytes > maxBytes) throw tooLarge(`over ${maxBytes}`);
  const json = readArgument(where, () => JSON.stringify(payload));
  const size = Buffer.byteLength(json);
  if (size > maxBytes) throw tooLarge(String(size));
  return { payload: JSON.parse(json) as Payload, bytes: size };
}

/** An upsert's points, validated and copied (see PointsBatch). */
export function pointsInput(points: unknown, d: number, limits: CollectionLimits): PointsBatch & { payloadBytes: number[] } {
  return readArgument('points', () => {
    if (!Array.isArray(points)) throw invalidParameterError('points', 'an array of { id, vector, payload? }', points);
    if (points.length > COLLECTION_LIMITS.batchPoints) throw invalidParameterError('points', `at most ${COLLECTION_LIMITS.batchPoints} points`, points);
    // The last of a repeated id wins, in the place of its last occurrence.
    const last = new Map<string, number>();
    const read = Array.from(points, (p: unknown, i) => {
      const where = `points[${i}]`;
      if (!isObject(p)) throw invalidParameterError(where, 'an object { id, vector, payload? }', p);
      const extra = Object.keys(p).find((k) => k !== 'id' && k !== 'vector' && k !== 'payload');
      if (extra !== undefined) throw invalidParameterError(where, 'only the keys id, vector and payload', extra);
      const id = pointIdArg(p.id, `${where}.id`);
      last.set(id, i);
      return { id, vector: vectorArg(p.vector, d, `${where}.vector`), ...payloadArg(p.payload, limits.maxPayloadBytes, `${where}.payload`) };
    });
    const kept = read.filter((p, i) => last.get(p.id) === i);
    const x = new Float32Array(kept.length * d);
    kept.forEach((p, i) => x.set(p.vector, i * d));
    return { ids: kept.map((p) => p.id), x, payloads: kept.map((p) => p.payload), payloadBytes: kept.map((p) => p.bytes) };
  });
}

/** What a read answers with each point. */
export interface ValidReadOptions {
  withPayload: boolean;
  withVector: boolean;
}

function flag(o: Record<string, unknown>, key: string, fallback: boolean): boolean {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') throw invalidParameterError(`options.${key}`, 'a boolean', v);
  return v;
}

function optionsObject(o: unknown, keys: readonly string[]): Record<string, unknown> {
  if (o === undefined) return {};
  if (!isObject(o)) throw invalidParameterError('options', 'an object', o);
  const extra = Object.keys(o).find((k) => !keys.includes(k));
  if (extra !== undefined) throw invalidParameterError('options', `only the keys ${keys.join(', ')}`, extra);
  return o;
}

export function readOptionsInput(o: unknown): ValidReadOptions {
  return readArgument('options', () => {
    const r = optionsObject(o, ['withPayload', 'withVector']);
    return { withPayload: flag(r, 'withPayload', true), withVector: flag(r, 'withVector', false) };
  });
}

export interface ValidSearchOptions extends ValidReadOptions {
  filter?: ParsedFilter;
  nprobe?: number;
  efSearch?: number;
}

export function searchOptionsInput(o: unknown): ValidSearchOptions {
  return readArgument('options', () => {
    const r = optionsObject(o, ['withPayload', 'withVector', 'filter', 'nprobe', 'efSearch']);
    return {
      withPayload: flag(r, 'withPayload', true),
      withVector: flag(r, 'withVector', false),
      ...(r.filter !== undefined ? { filter: parseFilter(r.filter, 'filter') } : {}),
      ...(r.nprobe !== undefined ? { nprobe: tunableArg(r.nprobe, 'nprobe') } : {}),
      ...(r.efSearch !== undefined ? { efSearch: tunableArg(r.efSearch, 'efSearch') } : {}),
    };
  });
}

export interface ValidScrollOptions extends ValidReadOptions {
  filter?: ParsedFilter;
  limit: number;
  offset: string | null;
}

export function scrollOptionsInput(o: unknown): ValidScrollOptions {
  return readArgument('options', () => {
    const r = optionsObject(o, ['withPayload', 'withVector', 'filter', 'limit', 'offset']);
    const { limit, offset } = r;
    if (limit !== undefined && (!isInteger(limit) || limit < 1 || limit > COLLECTION_LIMITS.scrollMax)) {
      throw invalidParameterError('options.limit', `an integer between 1 and ${COLLECTION_LIMITS.scrollMax}`, limit);
    }
    return {
      withPayload: flag(r, 'withPayload', true),
      withVector: flag(r, 'withVector', false),
      ...(r.filter !== undefined ? { filter: parseFilter(r.filter, 'filter') } : {}),
      limit: (limit as number | undefined) ?? COLLECTION_LIMITS.scrollDefault,
      offset: offset === undefined || offset === null ? null : pointIdArg(offset, 'options.offset'),
    };
  });
}

/** A count's or a delete's filter: `{ filter }` (a filter of {} counts every point). */
export function filterOptionInput(o: unknown): ParsedFilter | undefined {
  return readArgument('options', () => {
    const r = optionsObject(o, ['filter']);
    return r.filter === undefined ? undefined : parseFilter(r.filter, 'filter');
  });
}

/** k for a collection search: as for indexes. */
export const searchKArg = (k: unknown): number => kArg(k);
