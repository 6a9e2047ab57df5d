// Request validation: JSON bodies against JSON Schemas (ajv; unknown fields are
// rejected), query strings against a small table of typed options.
import Ajv, { type ErrorObject } from 'ajv';
import type { Request } from 'express';
import { LIMITS, schemaOf } from '../../lib/limits';
import { HttpError } from './errors';

const ajv = new Ajv({ allErrors: false, strict: true, coerceTypes: false });

export type Schema = Record<string, unknown>;

function describeError(e: ErrorObject): string {
  const where = e.instancePath || 'body';
  if (e.keyword === 'additionalProperties') return `${where}: unknown field ${JSON.stringify(e.params.additionalProperty)}`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/** A check of JSON bodies against `schema` that throws a 400 ERR_VALIDATION (compiled once per route: pipeline.ts). */
export function bodyCheck(schema: Schema): (body: unknown) => void {
  const check = ajv.compile(schema);
  return (body) => {
    if (!check(body)) throw new HttpError(400, 'ERR_VALIDATION', `Invalid request: ${describeError(check.errors![0])}`);
  };
}

export type QueryType = 'int' | 'number' | 'bool';

/** Parses the query string against `allowed`; unknown options are an error. */
export function queryOptions(req: Request, allowed: Record<string, QueryType>): Record<string, number | boolean | undefined> {
  return parseQueryOptions(req.query, allowed);
}

/** The same, over a parsed query string (name -> string, or array when repeated). */
export function parseQueryOptions(query: Record<string, unknown>, allowed: Record<string, QueryType>): Record<string, number | boolean | undefined> {
  const out: Record<string, number | boolean | undefined> = {};
  // for-in, not Object.entries: no array per option on every request (a parsed query string has no prototype).
  for (const name in query) {
    if (!Object.hasOwn(query, name)) continue;
    const raw = query[name];
    // Own options only: "constructor" or "__proto__" is unknown, not Object.prototype's.
    const type = Object.hasOwn(allowed, name) ? allowed[name] : undefined;
    if (!type) throw new HttpError(400, 'ERR_VALIDATION', `Unknown query parameter ${JSON.stringify(name)}; allowed: ${Object.keys(allowed).join(', ') || 'none'}`);
    if (typeof raw !== 'string') throw new HttpError(400, 'ERR_VALIDATION', `Query parameter ${name} must be given once`);
    if (type === 'bool') {
      if (!['true', 'false', '1', '0'].includes(raw)) throw new HttpError(400, 'ERR_VALIDATION', `Query parameter ${name} must be true or false`);
      out[name] = raw === 'true' || raw === '1';
      continue;
    }
    const v = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(v) || (type === 'int' && !Number.isSafeInteger(v))) {
      throw new HttpError(400, 'ERR_VALIDATION', `Query parameter ${name} must be ${type === 'int' ? 'an integer' : 'a number'}`);
    }
    out[name] = v;
  }
  return out;
}

// Shared schema pieces; their bounds are the index contract's (lib/limits.ts).
export const vectorsSchema = (maxBatch: number): Schema => ({
  type: 'array',
  minItems: 1,
  maxItems: maxBatch,
  items: { type: 'array', minItems: 1, maxItems: LIMITS.dimension.max, items: { type: 'number' } },
});
/** A binary index's codes in JSON: one base64 string per code (d / 8 bytes each; wire.ts jsonCodes). */
export const codesSchema = (maxBatch: number): Schema => ({
  type: 'array',
  minItems: 1,
  maxItems: maxBatch,
  items: { type: 'string', minLength: 1, maxLength: 4 * Math.ceil(LIMITS.binaryDimension.max / 8 / 3), pattern: '^[A-Za-z0-9+/]+={0,2}$' },
});
/** An int64 id: a number while exact as one, else a decimal string (wire.ts jsonIds). */
export const idSchema: Schema = {
  anyOf: [
    { type: 'integer', minimum: -Number.MAX_SAFE_INTEGER, maximum: Number.MAX_SAFE_INTEGER },
    { type: 'string', pattern: '^-?[0-9]{1,19}$' },
  ],
};
export const idsSchema: Schema = { type: 'array', minItems: 1, maxItems: 1_000_000, items: idSchema };
export const tunableSchema: Schema = schemaOf(LIMITS.tunable);
/** k, at most the operator's --max-k (itself at most the contract's). */
export const kSchema = (maxK: number): Schema => schemaOf(LIMITS.k, maxK);
/**
 * A search's filter: a tree of ids, idRange, bitmap, not, and, or, xor, which
 * filter.ts reads (its terms counted as it goes, which a recursive schema would not).
 */
export const filterSchema: Schema = {
  type: 'object',
  description: 'Which ids the search considers: { ids: [...] }, { idRange: [min, max] }, { bitmap: base64 }, { not: F }, { and: [F, ...] }, { or: [F, ...] }, { xor: [F, F] }',
};
