// The largest answer a read may produce (--max-answer-bytes), checked before the
// work: a search's answer grows with nq x k whatever the index holds, and one
// request of 3,000 queries at k = 10,000 made the server allocate 1.7 GB and fail
// building its JSON ("Invalid string length", a 500). The estimate is an upper
// bound per value: float32 distances and int64 ids in binary; in JSON, the
// longest a distance (-3.4028234663852886e+38) or an id ("-9223372036854775808",
// as a string) prints, with its separator. The FAISS call's own working memory
// is the library's per-call budget (ERR_RESOURCE_LIMIT), not checked here.
import { HttpError } from './errors';

const BYTES = {
  binary: { result: 4 + 8, component: 4 },
  json: { result: 24 + 23, component: 24 },
};

export type AnswerFormat = keyof typeof BYTES;

function requireWithin(limit: number, bytes: number, what: string, advice: string): void {
  if (bytes > limit) {
    throw new HttpError(422, 'ERR_ANSWER_TOO_LARGE', `${what} would take about ${bytes} bytes, more than the ${limit}-byte answer limit (--max-answer-bytes); ${advice}`);
  }
}

/** A k-NN search: nq x k results. */
export function requireSearchAnswerWithin(limit: number, format: AnswerFormat, nq: number, k: number): void {
  const bytes = nq * k * BYTES[format].result;
  requireWithin(limit, bytes, `The answer to ${nq} queries with k = ${k} in ${format === 'json' ? 'JSON' : 'binary'}`, 'send fewer queries per request or a smaller k');
}

/** A range search, once its results are counted (their number depends on the data). */
export function requireRangeAnswerWithin(limit: number, format: AnswerFormat, nq: number, results: number): void {
  const bytes = results * BYTES[format].result + (nq + 1) * 8;
  requireWithin(limit, bytes, `The answer's ${results} results`, 'use a smaller radius or fewer queries per request');
}

/** A reconstruct of n vectors of dimension d. */
export function requireVectorsAnswerWithin(limit: number, format: AnswerFormat, n: number, d: number): void {
  const bytes = n * d * BYTES[format].component;
  requireWithin(limit, bytes, `The answer's ${n} vectors of dimension ${d}`, 'ask for fewer ids per request');
}
