// A search's `filter`, from either wire format, as the IDSelector (lib/selectors.ts)
// the domain hands to FAISS. JSON bodies carry it as a tree:
//   { "ids": [id, ...] }  { "idRange": [min, max] }  { "bitmap": "<base64>" }
//   { "not": F }  { "and": [F, F, ...] }  { "or": [F, F, ...] }  { "xor": [F, F] }
// (ids as in the rest of the API: integers within 2^53 or decimal strings of an
// int64; [min, max) and the bitmap's bit order as FAISS's IDSelectorRange and
// IDSelectorBitmap). Binary bodies carry lib/wire.ts's filter part after the query
// rows, its length in ?filterBytes. Either way the terms are counted as they are
// read (at most LIMITS.selectorTerms), so a hostile filter is a 400, never a deep
// recursion.
import { FaissError } from '../../lib';
import { LIMITS } from '../../lib/limits';
import { IDSelector, IDSelectorAnd, IDSelectorBatch, IDSelectorBitmap, IDSelectorNot, IDSelectorOr, IDSelectorRange, IDSelectorXOr } from '../../lib/selectors';
import { readSelectorPart } from '../../lib/wire';
import { HttpError } from './errors';

const invalid = (path: string, why: string): HttpError => new HttpError(400, 'ERR_VALIDATION', `${path} ${why}`);

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function int64Of(v: unknown, path: string): bigint {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === 'string' && /^-?\d{1,19}$/.test(v)) {
    const id = BigInt(v);
    if (BigInt.asIntN(64, id) === id) return id;
  }
  throw invalid(path, 'must be an int64: an integer within 2^53, or its decimal string');
}

/**
 * Told of each `ids` and `bitmap` term's size before the term is converted: a
 * JSON array of millions of ids becomes BigInts and a copy (hundreds of MB
 * transient), which a refusal must come before.
 */
export type BeforeFilterTerm = (kind: 'ids' | 'bitmap', size: number) => void;

/** The selector a JSON `filter` describes. */
export function jsonFilter(filter: unknown, beforeTerm: BeforeFilterTerm = () => undefined): IDSelector {
  let terms = 0;
  const term = (f: unknown, path: string): IDSelector => {
    if (++terms > LIMITS.selectorTerms.max) throw invalid('filter', `has more than ${LIMITS.selectorTerms.max} terms`);
    if (!isPlainObject(f)) throw invalid(path, 'must be an object with one of ids, idRange, bitmap, not, and, or, xor');
    const keys = Object.keys(f);
    if (keys.length !== 1) throw invalid(path, `must have exactly one key (ids, idRange, bitmap, not, and, or, xor) but has ${keys.length}`);
    const [key] = keys;
    const v = f[key];
    switch (key) {
      case 'ids':
        if (!Array.isArray(v)) throw invalid(`${path}.ids`, 'must be an array of ids');
        beforeTerm('ids', v.length);
        return new IDSelectorBatch(BigInt64Array.from(v, (id, i) => int64Of(id, `${path}.ids[${i}]`)));
      case 'idRange':
        if (!Array.isArray(v) || v.length !== 2) throw invalid(`${path}.idRange`, 'must be [min, max]');
        return wrap(`${path}.idRange`, () => new IDSelectorRange(int64Of(v[0], `${path}.idRange[0]`), int64Of(v[1], `${path}.idRange[1]`)));
      case 'bitmap':
        if (typeof v !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(v) || v.length % 4 !== 0) throw invalid(`${path}.bitmap`, 'must be a base64 string');
        beforeTerm('bitmap', Buffer.byteLength(v, 'base64'));
        return new IDSelectorBitmap(new Uint8Array(Buffer.from(v, 'base64')));
      case 'not':
        return new IDSelectorNot(term(v, `${path}.not`));
      case 'and':
      case 'or': {
        if (!Array.isArray(v) || v.length < 2) throw invalid(`${path}.${key}`, 'must be an array of at least two filters');
        // n operands are n - 1 binary selectors (IDSelectorAnd / Or), this term one of them.
        terms += v.length - 2;
        if (terms > LIMITS.selectorTerms.max) throw invalid('filter', `has more than ${LIMITS.selectorTerms.max} terms`);
        const Op = key === 'and' ? IDSelectorAnd : IDSelectorOr;
        return v.slice(1).reduce<IDSelector>((acc, f2, i) => new Op(acc, term(f2, `${path}.${key}[${i + 1}]`)), term(v[0], `${path}.${key}[0]`));
      }
      case 'xor':
        if (!Array.isArray(v) || v.length !== 2) throw invalid(`${path}.xor`, 'must be an array of two filters');
        return new IDSelectorXOr(term(v[0], `${path}.xor[0]`), term(v[1], `${path}.xor[1]`));
      default:
        throw invalid(path, `has an unknown key ${JSON.stringify(key.slice(0, 40))} (expected ids, idRange, bitmap, not, and, or, xor)`);
    }
  };
  return term(filter, 'filter');
}

/** How many ids a selector holds (its batches' ids; a bitmap counts a byte as one): what building it in FAISS allocates for. */
export function filterIds(sel: IDSelector): number {
  const t = IDSelector.termOf(sel);
  switch (t.kind) {
    case 'batch':
    case 'array':
      return t.ids.length;
    case 'bitmap':
      return t.bits.length / 8;
    case 'range':
    case 'valueRange':
      return 0;
    case 'not':
      return filterIds(t.sel);
    default:
      return filterIds(t.a) + filterIds(t.b);
  }
}

/** The selector of a binary request's filter part. */
export function binaryFilter(part: Uint8Array): IDSelector {
  return wrap('filter', () => readSelectorPart(part));
}

// A FaissError from a selector's own checks (min > max, a malformed part) is the caller's: a 400.
function wrap<T>(path: string, make: () => T): T {
  try {
    return make();
  } catch (e) {
    if (e instanceof FaissError && e.code === 'ERR_INVALID_ARGUMENT') throw invalid(path, `is invalid: ${e.message}`);
    throw e;
  }
}
