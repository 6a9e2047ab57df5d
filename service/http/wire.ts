// Wire formats. JSON: { vectors: number[][], ... }. Binary
// (Content-Type: application/octet-stream): raw little-endian float32 rows, the
// dimension taken from the index; options in the query string. Binary bodies are
// viewed in place as Float32Array / BigInt64Array and handed to FAISS without a
// copy (unless the body is not aligned in memory, then copied once). Answers are
// written straight to node:http's response (writeBinary, json-answer.ts): the
// read routes' answers are most of a busy service's bytes, and Express's
// res.json/res.send add their own work per call (npm run bench -- --only targets
// --profile-server).
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { FaissError, type RangeSearchResult, type SearchResult } from '../../lib';
import { HttpError } from './errors';
import { writeJson } from './json-answer';

export const BINARY = 'application/octet-stream';

/** Whether the request's body is binary (the pipeline reads an application/octet-stream body into a Buffer). */
export function isBinary(req: Request): boolean {
  return Buffer.isBuffer(req.body);
}

/** Whether the client asked for a binary response (Accept: application/octet-stream). */
export function wantsBinary(req: Request): boolean {
  // The Accept values clients send most need no negotiating.
  const accept = req.headers.accept;
  if (accept === undefined || accept === '*/*' || accept === 'application/json') return false;
  if (accept === BINARY) return true;
  const accepted = req.accepts(['application/json', BINARY]);
  if (accepted === false) throw new HttpError(406, 'ERR_NOT_ACCEPTABLE', 'This route answers application/json or application/octet-stream');
  return accepted === BINARY;
}

function view<T extends Float32Array | BigInt64Array>(
  Type: { new (b: ArrayBufferLike, o: number, n: number): T; new (n: number): T; BYTES_PER_ELEMENT: number },
  buf: Buffer,
  offset: number,
  count: number,
): T {
  const at = buf.byteOffset + offset;
  if (at % Type.BYTES_PER_ELEMENT === 0) return new Type(buf.buffer, at, count);
  const copy = new Type(count);
  new Uint8Array(copy.buffer).set(buf.subarray(offset, offset + count * Type.BYTES_PER_ELEMENT));
  return copy;
}

function bytesOf(body: unknown): Buffer {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new HttpError(400, 'ERR_EMPTY_BODY', 'Expected a non-empty application/octet-stream body');
  }
  return body;
}

/** Float32 rows of dimension d from a binary body. */
export function binaryVectors(body: unknown, d: number): Float32Array {
  const buf = bytesOf(body);
  if (buf.length % (4 * d) !== 0) {
    throw new FaissError(`Expected the body to hold float32 rows of dimension ${d} (${4 * d} bytes each) but it has ${buf.length} bytes`, 'ERR_DIMENSION');
  }
  return view(Float32Array, buf, 0, buf.length / 4);
}

/** Rows then one int64 id per row: n * (4d + 8) bytes. */
export function binaryVectorsWithIds(body: unknown, d: number): { x: Float32Array; ids: BigInt64Array } {
  const buf = bytesOf(body);
  const rowBytes = 4 * d + 8;
  if (buf.length % rowBytes !== 0) {
    throw new FaissError(`Expected n float32 rows of dimension ${d} followed by n int64 ids (${rowBytes} bytes per vector) but the body has ${buf.length} bytes`, 'ERR_DIMENSION');
  }
  const n = buf.length / rowBytes;
  return { x: view(Float32Array, buf, 0, n * d), ids: view(BigInt64Array, buf, n * d * 4, n) };
}

export function binaryIds(body: unknown): BigInt64Array {
  const buf = bytesOf(body);
  if (buf.length % 8 !== 0) throw new HttpError(400, 'ERR_INVALID_ARGUMENT', `Expected int64 ids (8 bytes each) but the body has ${buf.length} bytes`);
  return view(BigInt64Array, buf, 0, buf.length / 8);
}

/** JSON rows -> Float32Array, checking every row's length. */
export function jsonVectors(rows: number[][], d: number, name = 'vectors'): Float32Array {
  const out = new Float32Array(rows.length * d);
  rows.forEach((row, i) => {
    if (row.length !== d) throw new FaissError(`Expected ${name}[${i}] to have dimension ${d} but it has ${row.length}`, 'ERR_DIMENSION');
    out.set(row, i * d);
  });
  return out;
}

/**
 * Ids in JSON: a number while it is exact as one (|id| < 2^53), else its decimal
 * string, both ways: a JSON number cannot hold every int64 (2^63 - 1 would come
 * back as 9223372036854776000), and binary adds take any.
 */
export function jsonIds(ids: (number | string)[]): BigInt64Array {
  return BigInt64Array.from(ids, (v, i) => {
    const id = BigInt(v); // the schema let through integers and digit strings only
    if (BigInt.asIntN(64, id) !== id) throw new HttpError(400, 'ERR_VALIDATION', `ids[${i}] ${v} is not an int64`);
    return id;
  });
}

const jsonId = (id: bigint): number | string => (id >= -MAX_EXACT && id <= MAX_EXACT ? Number(id) : id.toString());
const MAX_EXACT = BigInt(Number.MAX_SAFE_INTEGER);

const rows = (flat: ArrayLike<number>, n: number, k: number): number[][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => flat[i * k + j]));

const idRows = (flat: BigInt64Array, n: number, k: number): (number | string)[][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => jsonId(flat[i * k + j])));

/** A 200 with a binary body: the head and every part leave in one write to the socket (corked; end() uncorks). */
export function writeBinary(res: ServerResponse, headers: Record<string, string>, parts: ArrayBufferView[]): void {
  const length = parts.reduce((s, p) => s + p.byteLength, 0);
  res.writeHead(200, { 'Content-Type': BINARY, 'Content-Length': String(length), ...headers });
  res.cork();
  for (const p of parts) res.write(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  res.end();
}

/** A search's answer in binary: its headers, then float32 distances and int64 labels (nq x k each). */
export const binarySearchAnswer = (r: SearchResult, nq: number, k: number): { headers: Record<string, string>; parts: ArrayBufferView[] } => ({
  headers: { 'X-Faiss-Nq': String(nq), 'X-Faiss-K': String(k) },
  parts: [r.distances, r.labels],
});

/** A search's answer in JSON: { distances, labels } as nq x k arrays. */
export const jsonSearchAnswer = (r: SearchResult, nq: number, k: number): { distances: number[][]; labels: (number | string)[][] } => ({
  distances: rows(r.distances, nq, k),
  labels: idRows(r.labels, nq, k),
});

/** JSON { distances, labels } as nq x k arrays, or binary: float32 distances then int64 labels. */
export function sendSearch(req: Request, res: Response, r: SearchResult, nq: number, k: number): void {
  if (wantsBinary(req)) {
    const { headers, parts } = binarySearchAnswer(r, nq, k);
    return writeBinary(res, headers, parts);
  }
  writeJson(res, 200, {}, jsonSearchAnswer(r, nq, k));
}

/** JSON { results: [{ distances, labels }] } per query, or binary: int64 lims (nq + 1), float32 distances, int64 labels. */
export function sendRangeSearch(req: Request, res: Response, r: RangeSearchResult, nq: number): void {
  if (wantsBinary(req)) {
    return writeBinary(res, { 'X-Faiss-Nq': String(nq), 'X-Faiss-Total': String(r.labels.length) }, [r.lims, r.distances, r.labels]);
  }
  const results = Array.from({ length: nq }, (_, i) => {
    const lo = Number(r.lims[i]);
    const hi = Number(r.lims[i + 1]);
    return { distances: Array.from(r.distances.subarray(lo, hi)), labels: Array.from(r.labels.subarray(lo, hi), jsonId) };
  });
  writeJson(res, 200, {}, { results });
}

export function sendVectors(req: Request, res: Response, x: Float32Array, n: number, d: number): void {
  if (wantsBinary(req)) return writeBinary(res, { 'X-Faiss-N': String(n), 'X-Faiss-D': String(d) }, [x]);
  writeJson(res, 200, {}, { vectors: rows(x, n, d) });
}
