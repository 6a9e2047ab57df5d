// What a search asks for, from either wire format: the query rows (checked against
// the index's dimension and --max-batch), k and the tunables, for the search and
// range_search routes (routes/indexes.ts), so that both check a request the same way.
// A filter (filter.ts) comes as `filter` in a JSON body, or as the filter part after
// a binary body's query rows (?filterBytes).
import type { Config } from '../../config';
import type { IndexService } from '../../domain/indexes';
import { FaissError, type SearchParams } from '../../../lib';
import type { IDSelector } from '../../../lib/selectors';
import { LIMITS } from '../../../lib/limits';
import { requireJsonSearchAnswerWithin, type AnswerFormat } from '../answer-size';
import { HttpError } from '../errors';
import { parseQueryOptions, type QueryType } from '../validate';
import { binaryFilter, filterIds, jsonFilter } from '../filter';
import type { RequestMemory } from '../request-memory';
import { binaryCodes, binaryVectors, jsonCodes, jsonVectors } from '../wire';
import type { Rows } from '../../../lib/any-index';

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
  /** Float vectors, or a binary index's codes. */
  x: Rows;
  /** How many query rows x holds. */
  nq: number;
  k: number;
  params: SearchParams;
}

/**
 * Rows of a request, from either wire format, of the kind the index takes: float
 * vectors of its dimension ({ vectors } in JSON), or a binary index's codes of
 * d / 8 bytes ({ codes }, base64, in JSON). Giving one kind to the other index is
 * ERR_INVALID_ARGUMENT.
 */
export function requestRows(indexes: IndexService, input: Omit<SearchInput, 'query'>): Rows {
  const d = indexes.dimension(input.tenant, input.name);
  const binaryIndex = indexes.isBinary(input.tenant, input.name);
  if (input.binary) return binaryIndex ? binaryCodes(input.body, d / 8) : binaryVectors(input.body, d);
  const body = input.body as { vectors?: number[][]; codes?: string[] };
  const [wanted, other] = binaryIndex ? ['codes', 'vectors'] : ['vectors', 'codes'];
  if (body[other as 'codes' | 'vectors'] !== undefined) {
    throw new FaissError(
      binaryIndex ? 'A binary index takes codes (base64, d / 8 bytes each), not vectors' : 'A float index takes vectors, not codes',
      'ERR_INVALID_ARGUMENT',
    );
  }
  if (body[wanted as 'codes' | 'vectors'] === undefined) throw new HttpError(400, 'ERR_VALIDATION', `Invalid request: body must have required property '${wanted}'`);
  return binaryIndex ? jsonCodes(body.codes!, d / 8) : jsonVectors(body.vectors!, d);
}

/** Rows in `x` of an index of dimension d. */
export const rowsIn = (x: Rows, d: number): number => x.length / (x instanceof Uint8Array ? d / 8 : d);

/**
 * A search's query rows and filter, from either wire format: rows of the index's
 * kind and dimension (requestRows), at most --max-batch of them; the filter's
 * ids held against the request's memory.
 */
export function queryOf(
  indexes: IndexService,
  config: Config,
  input: Omit<SearchInput, 'query'>,
  o: Record<string, unknown>,
  memory: RequestMemory,
): { x: Rows; nq: number; params: SearchParams } {
  let body = input.body;
  let filter: Buffer | undefined;
  if (input.binary) {
    const whole = input.body as Buffer;
    const filterBytes = o.filterBytes as number | undefined;
    if (filterBytes !== undefined && (filterBytes < 8 || filterBytes > whole.length)) {
      throw new HttpError(400, 'ERR_VALIDATION', `filterBytes must be from 8 to the body's ${whole.length} bytes`);
    }
    if (filterBytes !== undefined) {
      const rows = whole.subarray(0, whole.length - filterBytes);
      body = rows.length === 0 ? undefined : rows;
      filter = whole.subarray(whole.length - filterBytes);
    }
  }
  const x = requestRows(indexes, { ...input, body });
  const nq = rowsIn(x, indexes.dimension(input.tenant, input.name));
  let sel: IDSelector | undefined;
  if (filter) sel = binaryFilter(filter);
  else if (!input.binary && (input.body as { filter?: unknown }).filter !== undefined) sel = jsonFilter((input.body as { filter?: unknown }).filter);
  if (nq > config.maxBatch) throw new HttpError(400, 'ERR_VALIDATION', `At most ${config.maxBatch} vectors per request`);
  if (sel) memory.hold(filterIds(sel) * SELECTOR_BYTES_PER_ID, `The filter's ids`);
  return { x, nq, params: { ...tunablesOf(o), ...(sel ? { sel } : {}) } };
}

/** A search's query, refused (ERR_RESOURCE_LIMIT) when a JSON answer to it would pass --max-request-memory. */
export function searchQuery(indexes: IndexService, config: Config, input: SearchInput, answer: AnswerFormat, memory: RequestMemory): SearchQuery {
  const o = optionsOf(input.binary, input.body, input.query, SEARCH_QUERY);
  const k = kOf(o.k, config.maxK);
  const { x, nq, params } = queryOf(indexes, config, input, o, memory);
  if (answer === 'json') requireJsonSearchAnswerWithin(config.maxRequestMemory, nq, k);
  return { x, nq, k, params };
}
