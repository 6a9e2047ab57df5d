// What a search asks for, from either wire format: the query rows (checked against
// the index's dimension and --max-batch), k and the tunables, for the search and
// range_search routes (routes/indexes.ts), so that both check a request the same way.
import type { Config } from '../../config';
import type { IndexService } from '../../domain/indexes';
import type { SearchParams } from '../../../lib';
import { LIMITS } from '../../../lib/limits';
import { requireJsonSearchAnswerWithin, type AnswerFormat } from '../answer-size';
import { HttpError } from '../errors';
import { parseQueryOptions, type QueryType } from '../validate';
import { binaryVectors, jsonVectors } from '../wire';

/** A binary search's options, in its query string (JSON searches carry them in the body). */
export const SEARCH_QUERY: Record<string, QueryType> = { k: 'int', nprobe: 'int', efSearch: 'int' };

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

/** A search's query rows, from either wire format: of the index's dimension, and at most --max-batch of them. */
export function queryVectors(indexes: IndexService, config: Config, input: Omit<SearchInput, 'query'>): Float32Array {
  const d = indexes.dimension(input.tenant, input.name);
  const x = input.binary ? binaryVectors(input.body, d) : jsonVectors((input.body as { vectors: number[][] }).vectors, d);
  if (x.length / d > config.maxBatch) throw new HttpError(400, 'ERR_VALIDATION', `At most ${config.maxBatch} vectors per request`);
  return x;
}

/** A search's query, refused (ERR_RESOURCE_LIMIT) when a JSON answer to it would pass --max-request-memory. */
export function searchQuery(indexes: IndexService, config: Config, input: SearchInput, answer: AnswerFormat): SearchQuery {
  const o = optionsOf(input.binary, input.body, input.query, SEARCH_QUERY);
  const x = queryVectors(indexes, config, input);
  const k = kOf(o.k, config.maxK);
  if (answer === 'json') requireJsonSearchAnswerWithin(config.maxRequestMemory, x.length / indexes.dimension(input.tenant, input.name), k);
  return { x, k, params: tunablesOf(o) };
}
