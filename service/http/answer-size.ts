// What the service itself allocates to answer a read, held to the same
// per-request memory budget as FAISS's own allocations (--max-request-memory,
// lib setMemoryLimits perCallBytes), and refused the same way (422
// ERR_RESOURCE_LIMIT naming the flag) before it is built. The library checks a
// search's results and buffers, and a binary answer is those results as they
// are; a JSON answer is built from them on the JS heap, four times their size
// (3,000 queries at k = 10,000 made the server allocate 1.7 GB and fail with
// "Invalid string length", a 500), and a reconstruct's rows are gathered here.
// The JSON estimate is an upper bound per value: the longest a distance
// (-3.4028234663852886e+38) or an id ("-9223372036854775808", as a string)
// prints, with its separator.
// The same estimates are what a read reserves of its tenant's budget for
// requests in flight (request-memory.ts).
import { formatBytes } from '../domain/memory-budget';
import { HttpError } from './errors';

const JSON_BYTES_PER_RESULT = 24 + 23;
/** A result as FAISS writes it: a float32 distance and an int64 label. */
const RESULT_BYTES = 4 + 8;
const BYTES_PER_COMPONENT = { binary: 4, json: 24 };

export type AnswerFormat = 'binary' | 'json';

function requireWithin(limit: number, bytes: number, what: string, advice: string): void {
  if (bytes > limit) {
    throw new HttpError(
      422,
      'ERR_RESOURCE_LIMIT',
      `${what} would allocate ${formatBytes(bytes)}, above the per-request memory limit (--max-request-memory) of ${formatBytes(limit)}; ${advice}`,
    );
  }
}

/** The JSON encoding of `results` search or range search results. */
export const jsonAnswerBytes = (results: number): number => results * JSON_BYTES_PER_RESULT;

/** FAISS's results for `results` neighbours (a binary answer is these bytes as they are). */
export const resultBytes = (results: number): number => results * RESULT_BYTES;

/** A search's results and, in JSON, their encoding: what answering nq x k holds at most. */
export const searchAnswerBytes = (format: AnswerFormat, nq: number, k: number): number =>
  resultBytes(nq * k) + (format === 'json' ? jsonAnswerBytes(nq * k) : 0);

/** The rows of a reconstruct of n vectors of dimension d, in the answer's format. */
export const vectorsAnswerBytes = (format: AnswerFormat, n: number, d: number): number => n * d * BYTES_PER_COMPONENT[format];

/** A k-NN search answered in JSON: nq x k results, checked before the search runs. */
export function requireJsonSearchAnswerWithin(limit: number, nq: number, k: number): void {
  requireWithin(limit, jsonAnswerBytes(nq * k), `The JSON answer to ${nq} queries with k = ${k}`, 'send fewer queries or a smaller k, or ask for a binary answer');
}

/** A range search answered in JSON, once its results are counted (their number depends on the data). */
export function requireJsonRangeAnswerWithin(limit: number, results: number): void {
  requireWithin(limit, jsonAnswerBytes(results), `The JSON answer's ${results} results`, 'use a smaller radius or fewer queries, or ask for a binary answer');
}

/** A reconstruct of n vectors of dimension d, checked before any is read. */
export function requireVectorsAnswerWithin(limit: number, format: AnswerFormat, n: number, d: number): void {
  requireWithin(limit, vectorsAnswerBytes(format, n, d), `The answer's ${n} vectors of dimension ${d}`, 'ask for fewer ids per request');
}

/**
 * What a collection search holds before it runs: its hits as FAISS gives them
 * and their JSON without payloads (the longest id is counted once the answer is
 * built: requireAnswerWithin), and the hits' vectors when asked for.
 */
export const searchHoldBytes = (nq: number, k: number, vectorDimension: number): number =>
  searchAnswerBytes('json', nq, k) + nq * k * vectorDimension * BYTES_PER_COMPONENT.json;

/** A collection read's JSON answer, once built (its payloads' size depends on the data). */
export function requireAnswerWithin(limit: number, bytes: number, what: string): void {
  requireWithin(limit, bytes, what, 'ask for fewer points or hits, or leave out payloads or vectors (withPayload, withVector)');
}
