// The binary wire layouts of the HTTP API, written and read by both ends: the
// service (service/http) and the remote client (lib/client). Everything is
// little-endian, packed, with no header of its own: sizes travel in the URL
// (k), the index's dimension, or the answer's X-Faiss-* headers.
//
//   request bodies (Content-Type: application/octet-stream)
//     vectors              n x d float32
//     vectors with ids     n x d float32, then n int64 ids   (add?ids=true)
//     ids                  n int64                            (remove)
//     search with a filter the query rows, then the filter part (its length in ?filterBytes)
//   filter part: an IDSelector's terms, depth first, each 8-byte aligned:
//     u32 tag, u32 0, then by tag
//       1 ids     u64 n, then n int64          (IDSelectorBatch and IDSelectorArray)
//       2 range   int64 min, int64 max         ([min, max))
//       3 bitmap  u64 bytes, then the bytes, zero-padded to a multiple of 8
//       4 not     one term
//       5 and, 6 or, 7 xor                     two terms
//   answers (Accept: application/octet-stream)
//     search               nq x k float32 distances, then nq x k int64 labels
//     range search         nq + 1 uint64 lims, then total float32 distances, then total int64 labels
//     vectors              n x d float32                      (reconstruct)
//
//   binary indexes (IndexBinary*: codes of d bits, d / 8 bytes each; Hamming distances)
//     codes                n x d / 8 bytes                    (train, add, search, range search)
//     codes with ids       n x d / 8 bytes, then n int64 ids  (add?ids=true)
//     search answer        nq x k int32 distances, then nq x k int64 labels
//     range search answer  nq + 1 uint64 lims, then total int32 distances, then total int64 labels
//     codes answer         n x d / 8 bytes                    (reconstruct)
//
// Readers view the bytes in place (no copy) when they are aligned, and copy them
// once when not. They need no Node API, so the client runs in any runtime.
import { FaissError } from './errors';
import { LIMITS } from './limits';
import { IDSelector, IDSelectorAnd, IDSelectorBatch, IDSelectorBitmap, IDSelectorNot, IDSelectorOr, IDSelectorRange, IDSelectorXOr } from './selectors';
import type { BinaryRangeSearchResult, BinarySearchResult, RangeSearchResult, SearchResult } from './types';

export const BINARY = 'application/octet-stream';

/** Headers that carry an answer's sizes and the index's version. */
export const HEADER = {
  nq: 'X-Faiss-Nq',
  k: 'X-Faiss-K',
  total: 'X-Faiss-Total',
  n: 'X-Faiss-N',
  d: 'X-Faiss-D',
  /** The index's version after the operation; it changes with every mutation. */
  version: 'X-Index-Version',
} as const;

/** Most ids one reconstruct request carries (its body is JSON); the client splits longer calls. */
export const MAX_RECONSTRUCT_IDS = 10_000;

/** An Idempotency-Key: 1 to 128 printable ASCII characters, no spaces (the service refuses others; the remote client checks before sending). */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,128}$/;

type Typed = Float32Array | Int32Array | BigInt64Array | BigUint64Array;
interface TypedClass<T extends Typed> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  new (length: number): T;
  readonly BYTES_PER_ELEMENT: number;
}

/** `count` elements at `offset` bytes into `bytes`: a view when aligned, else one copy. */
function view<T extends Typed>(Type: TypedClass<T>, bytes: Uint8Array, offset: number, count: number): T {
  const at = bytes.byteOffset + offset;
  if (at % Type.BYTES_PER_ELEMENT === 0) return new Type(bytes.buffer, at, count);
  const copy = new Type(count);
  new Uint8Array(copy.buffer).set(bytes.subarray(offset, offset + count * Type.BYTES_PER_ELEMENT));
  return copy;
}

/** The bytes of a typed array, in place. */
export const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

const concat = (parts: ArrayBufferView[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((s, p) => s + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(bytesOf(p), at);
    at += p.byteLength;
  }
  return out;
};

// Request bodies: the client writes them, the service reads them. A body of the
// wrong size for the index is the caller's error (ERR_DIMENSION / ERR_INVALID_ARGUMENT).

export const vectorsBody = (x: Float32Array): Uint8Array => bytesOf(x);

export const vectorsWithIdsBody = (x: Float32Array, ids: BigInt64Array): Uint8Array => concat([x, ids]);

export const idsBody = (ids: BigInt64Array): Uint8Array => bytesOf(ids);

export function readVectors(body: Uint8Array, d: number): Float32Array {
  if (body.length % (4 * d) !== 0) {
    throw new FaissError(`Expected the body to hold float32 rows of dimension ${d} (${4 * d} bytes each) but it has ${body.length} bytes`, 'ERR_DIMENSION');
  }
  return view(Float32Array, body, 0, body.length / 4);
}

export function readVectorsWithIds(body: Uint8Array, d: number): { x: Float32Array; ids: BigInt64Array } {
  const rowBytes = 4 * d + 8;
  if (body.length % rowBytes !== 0) {
    throw new FaissError(
      `Expected n float32 rows of dimension ${d} followed by n int64 ids (${rowBytes} bytes per vector) but the body has ${body.length} bytes`,
      'ERR_DIMENSION',
    );
  }
  const n = body.length / rowBytes;
  return { x: view(Float32Array, body, 0, n * d), ids: view(BigInt64Array, body, n * d * 4, n) };
}

export function readIds(body: Uint8Array): BigInt64Array {
  if (body.length % 8 !== 0) throw new FaissError(`Expected int64 ids (8 bytes each) but the body has ${body.length} bytes`, 'ERR_INVALID_ARGUMENT');
  return view(BigInt64Array, body, 0, body.length / 8);
}

/** A binary index's codes of `codeSize` (d / 8) bytes, in place. */
export function readCodes(body: Uint8Array, codeSize: number): Uint8Array {
  if (body.length % codeSize !== 0) {
    throw new FaissError(`Expected the body to hold binary codes of ${codeSize} bytes (d / 8) but it has ${body.length} bytes`, 'ERR_DIMENSION');
  }
  return body;
}

export function readCodesWithIds(body: Uint8Array, codeSize: number): { x: Uint8Array; ids: BigInt64Array } {
  const rowBytes = codeSize + 8;
  if (body.length % rowBytes !== 0) {
    throw new FaissError(
      `Expected n binary codes of ${codeSize} bytes followed by n int64 ids (${rowBytes} bytes per code) but the body has ${body.length} bytes`,
      'ERR_DIMENSION',
    );
  }
  const n = body.length / rowBytes;
  return { x: body.subarray(0, n * codeSize), ids: view(BigInt64Array, body, n * codeSize, n) };
}

export const codesWithIdsBody = (x: Uint8Array, ids: BigInt64Array): Uint8Array => concat([x, ids]);

// The filter part. Tags are the wire's, not the selector classes' names, so that
// either side can rename a class.
const TAG = { ids: 1, range: 2, bitmap: 3, not: 4, and: 5, or: 6, xor: 7 } as const;
const pad8 = (n: number): number => (n + 7) & ~7;

/** The filter part of `sel`: what the service reads back as a selector selecting the same ids. */
export function selectorPart(sel: IDSelector): Uint8Array {
  const parts: ArrayBufferView[] = [];
  const head = (tag: number): void => void parts.push(new Uint32Array([tag, 0]));
  const walk = (s: IDSelector): void => {
    const t = IDSelector.termOf(s);
    switch (t.kind) {
      case 'batch':
      case 'array':
        head(TAG.ids);
        parts.push(new BigUint64Array([BigInt(t.ids.length)]), t.ids);
        return;
      case 'range':
        head(TAG.range);
        parts.push(new BigInt64Array([t.min, t.max]));
        return;
      case 'bitmap':
        head(TAG.bitmap);
        parts.push(new BigUint64Array([BigInt(t.bits.length)]), t.bits, new Uint8Array(pad8(t.bits.length) - t.bits.length));
        return;
      case 'not':
        head(TAG.not);
        walk(t.sel);
        return;
      case 'valueRange':
        // A collection's payload column lives in the process that holds the collection: never sent.
        throw new FaissError('A payload column selector is not sent over the wire', 'ERR_UNSUPPORTED');
      default:
        head(TAG[t.kind]);
        walk(t.a);
        walk(t.b);
    }
  };
  walk(sel);
  return concat(parts);
}

/**
 * The selector a filter part describes. Every size is checked against the bytes
 * there are, and the terms are counted as they are read (at most
 * LIMITS.selectorTerms), so no part, however crafted, reads past its end or
 * nests deeper than a selector may: ERR_INVALID_ARGUMENT says what is wrong.
 */
export function readSelectorPart(bytes: Uint8Array): IDSelector {
  const bad = (why: string): FaissError => new FaissError(`Invalid filter part: ${why}`, 'ERR_INVALID_ARGUMENT');
  if (bytes.length % 8 !== 0) throw bad(`its ${bytes.length} bytes are not a multiple of 8`);
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let at = 0;
  let terms = 0;
  const u64 = (what: string): number => {
    if (at + 8 > bytes.length) throw bad(`it ends inside ${what}`);
    const v = data.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(bytes.length)) throw bad(`${what} ${v} is larger than the part`);
    return Number(v);
  };
  const term = (): IDSelector => {
    if (++terms > LIMITS.selectorTerms.max) throw bad(`it has more than ${LIMITS.selectorTerms.max} terms`);
    if (at + 8 > bytes.length) throw bad('it ends where a term should start');
    const tag = data.getUint32(at, true);
    const zero = data.getUint32(at + 4, true);
    at += 8;
    if (zero !== 0) throw bad(`the term at byte ${at - 8} has a non-zero reserved word`);
    switch (tag) {
      case TAG.ids: {
        const n = u64('an id count');
        if (at + 8 * n > bytes.length) throw bad(`${n} ids do not fit in the part`);
        const ids = view(BigInt64Array, bytes, at, n);
        at += 8 * n;
        return new IDSelectorBatch(ids);
      }
      case TAG.range: {
        if (at + 16 > bytes.length) throw bad('it ends inside a range');
        const min = data.getBigInt64(at, true);
        const max = data.getBigInt64(at + 8, true);
        at += 16;
        return new IDSelectorRange(min, max);
      }
      case TAG.bitmap: {
        const n = u64('a bitmap length');
        if (at + pad8(n) > bytes.length) throw bad(`a bitmap of ${n} bytes does not fit in the part`);
        const bits = bytes.subarray(at, at + n);
        at += pad8(n);
        return new IDSelectorBitmap(bits);
      }
      case TAG.not:
        return new IDSelectorNot(term());
      case TAG.and:
        return new IDSelectorAnd(term(), term());
      case TAG.or:
        return new IDSelectorOr(term(), term());
      case TAG.xor:
        return new IDSelectorXOr(term(), term());
      default:
        throw bad(`unknown term tag ${tag} at byte ${at - 8}`);
    }
  };
  const sel = term();
  if (at !== bytes.length) throw bad(`${bytes.length - at} bytes follow its last term`);
  return sel;
}

/** A binary search body with a filter: the query rows, then the filter part; the part's length goes in ?filterBytes. */
export const filteredQueryBody = (x: Float32Array, filter: Uint8Array): Uint8Array => concat([x, filter]);

/** Splits a binary search body into its query rows and its filter part of `filterBytes` bytes. */
export function splitFilteredBody(body: Uint8Array, filterBytes: number): { rows: Uint8Array; filter: Uint8Array } {
  if (filterBytes > body.length) throw new FaissError(`filterBytes ${filterBytes} is larger than the body (${body.length} bytes)`, 'ERR_INVALID_ARGUMENT');
  return { rows: body.subarray(0, body.length - filterBytes), filter: body.subarray(body.length - filterBytes) };
}

// Answers: the service writes the parts (each straight from FAISS's result, no
// copy), the client reads them. An answer of the wrong size is the server's fault.

function answerOf(bytes: Uint8Array, expected: number, what: string): Uint8Array {
  if (bytes.length !== expected) throw new FaissError(`The server's ${what} answer has ${bytes.length} bytes where ${expected} were expected`, 'ERR_SERVER');
  return bytes;
}

export const searchAnswerParts = (r: SearchResult | BinarySearchResult): ArrayBufferView[] => [r.distances, r.labels];

/** A search answer: nq x k distances (float32, or a binary index's int32 Hamming distances), then as many int64 labels. */
function searchAnswer<D extends Float32Array | Int32Array>(Distances: TypedClass<D>, bytes: Uint8Array, nq: number, k: number) {
  const b = answerOf(bytes, nq * k * 12, 'search');
  return { distances: view(Distances, b, 0, nq * k), labels: view(BigInt64Array, b, nq * k * 4, nq * k) };
}

export const readSearchAnswer = (bytes: Uint8Array, nq: number, k: number): SearchResult => searchAnswer(Float32Array, bytes, nq, k);

/** A binary index's search answer: int32 Hamming distances in place of float32. */
export const readBinarySearchAnswer = (bytes: Uint8Array, nq: number, k: number): BinarySearchResult => searchAnswer(Int32Array, bytes, nq, k);

export const rangeSearchAnswerParts = (r: RangeSearchResult | BinaryRangeSearchResult): ArrayBufferView[] => [r.lims, r.distances, r.labels];

/** A range search answer: nq + 1 uint64 lims, then `total` distances (as searchAnswer's) and `total` int64 labels. */
function rangeSearchAnswer<D extends Float32Array | Int32Array>(Distances: TypedClass<D>, bytes: Uint8Array, nq: number, total: number) {
  const b = answerOf(bytes, (nq + 1) * 8 + total * 12, 'range search');
  return {
    lims: view(BigUint64Array, b, 0, nq + 1),
    distances: view(Distances, b, (nq + 1) * 8, total),
    labels: view(BigInt64Array, b, (nq + 1) * 8 + total * 4, total),
  };
}

export const readBinaryRangeSearchAnswer = (bytes: Uint8Array, nq: number, total: number): BinaryRangeSearchResult =>
  rangeSearchAnswer(Int32Array, bytes, nq, total);

export const readRangeSearchAnswer = (bytes: Uint8Array, nq: number, total: number): RangeSearchResult => rangeSearchAnswer(Float32Array, bytes, nq, total);

export const vectorsAnswerParts = (x: Float32Array | Uint8Array): ArrayBufferView[] => [x];

export function readCodesAnswer(bytes: Uint8Array, n: number, codeSize: number): Uint8Array {
  return answerOf(bytes, n * codeSize, 'codes');
}

export function readVectorsAnswer(bytes: Uint8Array, n: number, d: number): Float32Array {
  return view(Float32Array, answerOf(bytes, n * d * 4, 'vectors'), 0, n * d);
}

const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * An id in JSON: a number while it is exact as one (|id| < 2^53), else its
 * decimal string, both ways: a JSON number cannot hold every int64 (2^63 - 1
 * would come back as 9223372036854776000).
 */
export function jsonId(id: bigint | number): number | string {
  if (typeof id === 'number') return Number.isSafeInteger(id) ? id : String(id);
  return id >= -MAX_EXACT && id <= MAX_EXACT ? Number(id) : id.toString();
}
