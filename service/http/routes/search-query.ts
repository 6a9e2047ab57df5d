// What a search asks for, from either wire format: the query rows (checked against
// the index's dimension and --max-batch), k and the tunables, for the search and
// range_search routes (routes/indexes.ts), so that both check a request the same way.
// A filter (filter.ts) comes as `filter` in a JSON body, or as the filter part after
// a binary body's query rows (?filterBytes).
import type { Config } from '../../config';
import type { IndexService } from '../../domain/indexes';
import type { SearchParams } from '../../../lib';
import type { IDSelector } from '../../../lib/selectors';
import { LIMITS } from '../../../lib/limits';
import { requireJsonSearchAnswerWithin, type AnswerFormat } from '../answer-size';
import { HttpError } from '../errors';
import { parseQueryOptions, type QueryType } from '../validate';
import { binaryFilter, filterIds, jsonFilter } from '../filter';
import type { RequestMemory } from '../request-memory';
import { binaryVectors, jsonVectors } from '../wire';

/** A binary search's options, in its query string (JSON searches carry them in the body). */
export const SEARCH_QUERY: Record<string, QueryType> = { k: 'int', nprobe: 'int', efSearch: 'int', filterBytes: 'int' };
/** A binary range search's options. */
export const RANGE_SEARCH_QUERY: Record<string, QueryType> = { radius: 'number', nprobe: 'int', efSearch: 'int', filterBytes: 'int' };

// What FAISS's IDSelectorBatch takes per id (a hash set entry and its Bloom filter's
// share), held against --max-request-memory while the search runs.
const SELECTOR_BYTES_PER_ID = 64;

export function kOf(v: unknown, maxK: number): number {
  if (typeof v !== 'number') throw new HttpError(400, 'ERR_VALIDATION', 'k is required');
  if (!Number.isSafeInteger(v) || v < 1 || v > maxK) throw new HttpError(400, 'ERR_VALIDATION', `k must be an integer from 1 to ${maxK}`);
  return v;
}

export function tunablesOf(o: Record<string, unknown>): SearchParams {
  const out: SearchParams = {};
  for (const key of ['nprobe', 'efSearch'] as const) {
    const v = o[key];
    if (v === undefined) continue;
    const { min, max } = LIMITS.tunable;
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) {
      throw new HttpError(400, 'ERR_VALIDATION', `${key} must be an integer from ${min} to ${max}`);
    }
    out[key] = v;
  }
  return out;
}

/** Options of a request: from the query string when binary, from the (validated) body when JSON. */
export function optionsOf(binary: boolean, body: unknown, query: Record<string, unknown>, spec: Record<string, QueryType>): Record<string, unknown> {
  const q = parseQueryOptions(query, spec);
  if (binary) return q;
  if (Object.keys(q).length > 0) throw new HttpError(400, 'ERR_VALIDATION', 'JSON requests take their options in the body, not the query string');
  return body as Record<string, unknown>;
}

export interface SearchInput {
  tenant: string;
  name: string;
  binary: boolean;
  /** A Buffer when binary; the parsed JSON body, already validated against the route's schema, when not. */
  body: unknown;
  /** The parsed query string: name -> string (or an array, when repeated). */
  query: Record<string, unknown>;
}

export interface SearchQuery {
  x: Float32Array;
  k: number;
  params: SearchParams;
}

/**
 * A search's query rows and filter, from either wire format: rows of the index's
 * dimension, at most --max-batch of them; the filter's ids held against the
 * request's memory.
 */
export function queryOf(indexes: IndexService, config: Config, input: Omit<SearchInput, 'query'>, o: Record<string, unknown>, memory: RequestMemory): { x: Float32Array; params: SearchParams } {
  const d = indexes.dimension(input.tenant, input.name);
  let x: Float32Array;
  let sel: IDSelector | undefined;
  if (input.binary) {
    const body = input.body as Buffer;
    const filterBytes = o.filterBytes as number | undefined;
    if (filterBytes !== undefined && (filterBytes < 8 || filterBytes > body.length)) {
      throw new HttpError(400, 'ERR_VALIDATION', `filterBytes must be from 8 to the body's ${body.length} bytes`);
    }
    const rows = filterBytes === undefined ? body : body.subarray(0, body.length - filterBytes);
    x = binaryVectors(rows.length === 0 ? undefined : rows, d);
    if (filterBytes !== undefined) sel = binaryFilter(body.subarray(body.length - filterBytes));
  } else {
    const b = input.body as { vectors: number[][]; filter?: unknown };
    x = jsonVectors(b.vectors, d);
    if (b.filter !== undefined) sel = jsonFilter(b.filter);
  }
  if (x.length / d > config.maxBatch) throw new HttpError(400, 'ERR_VALIDATION', `At most ${config.maxBatch} vectors per request`);
  if (sel) memory.hold(filterIds(sel) * SELECTOR_BYTES_PER_ID, `The filter's ids`);
  return { x, params: { ...tunablesOf(o), ...(sel ? { sel } : {}) } };
}

/** A search's query, refused (ERR_RESOURCE_LIMIT) when a JSON answer to it would pass --max-request-memory. */
export function searchQuery(indexes: IndexService, config: Config, input: SearchInput, answer: AnswerFormat, memory: RequestMemory): SearchQuery {
  const o = optionsOf(input.binary, input.body, input.query, SEARCH_QUERY);
  const k = kOf(o.k, config.maxK);
  const { x, params } = queryOf(indexes, config, input, o, memory);
  if (answer === 'json') requireJsonSearchAnswerWithin(config.maxRequestMemory, x.length / indexes.dimension(input.tenant, input.name), k);
  return { x, k, params };
}
