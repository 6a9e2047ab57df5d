// The binary wire layouts of the HTTP API, written and read by both ends: the
// service (service/http) and the remote client (lib/client). Everything is
// little-endian, packed, with no header of its own: sizes travel in the URL
// (k), the index's dimension, or the answer's X-Faiss-* headers.
//
//   request bodies (Content-Type: application/octet-stream)
//     vectors              n x d float32
//     vectors with ids     n x d float32, then n int64 ids   (add?ids=true)
//     ids                  n int64                            (remove)
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

// Answers: the service writes the parts (each straight from FAISS's result, no
// copy), the client reads them. An answer of the wrong size is the server's fault.

function answerOf(bytes: Uint8Array, expected: number, what: string): Uint8Array {
  if (bytes.length !== expected) throw new FaissError(`The server's ${what} answer has ${bytes.length} bytes where ${expected} were expected`, 'ERR_SERVER');
  return bytes;
}

export const searchAnswerParts = (r: SearchResult | BinarySearchResult): ArrayBufferView[] => [r.distances, r.labels];

export function readSearchAnswer(bytes: Uint8Array, nq: number, k: number): SearchResult {
  const b = answerOf(bytes, nq * k * 12, 'search');
  return { distances: view(Float32Array, b, 0, nq * k), labels: view(BigInt64Array, b, nq * k * 4, nq * k) };
}

/** A binary index's search answer: int32 Hamming distances in place of float32. */
export function readBinarySearchAnswer(bytes: Uint8Array, nq: number, k: number): BinarySearchResult {
  const b = answerOf(bytes, nq * k * 12, 'search');
  return { distances: view(Int32Array, b, 0, nq * k), labels: view(BigInt64Array, b, nq * k * 4, nq * k) };
}

export const rangeSearchAnswerParts = (r: RangeSearchResult | BinaryRangeSearchResult): ArrayBufferView[] => [r.lims, r.distances, r.labels];

export function readBinaryRangeSearchAnswer(bytes: Uint8Array, nq: number, total: number): BinaryRangeSearchResult {
  const b = answerOf(bytes, (nq + 1) * 8 + total * 12, 'range search');
  return {
    lims: view(BigUint64Array, b, 0, nq + 1),
    distances: view(Int32Array, b, (nq + 1) * 8, total),
    labels: view(BigInt64Array, b, (nq + 1) * 8 + total * 4, total),
  };
}

export function readRangeSearchAnswer(bytes: Uint8Array, nq: number, total: number): RangeSearchResult {
  const b = answerOf(bytes, (nq + 1) * 8 + total * 12, 'range search');
  return {
    lims: view(BigUint64Array, b, 0, nq + 1),
    distances: view(Float32Array, b, (nq + 1) * 8, total),
    labels: view(BigInt64Array, b, (nq + 1) * 8 + total * 4, total),
  };
}

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
