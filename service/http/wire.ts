// The HTTP side of the wire formats. JSON: { vectors: number[][], ... } (binary
// indexes: { codes: string[] }, a base64 string per code). Binary
// (Content-Type: application/octet-stream): the layouts of lib/wire.ts, which the
// remote client shares; options in the query string. Binary bodies are viewed in
// place as Float32Array / BigInt64Array and handed to FAISS without a copy
// (unless the body is not aligned in memory, then copied once). Answers are
// written straight to node:http's response (writeBinary, json-answer.ts): the
// read routes' answers are most of a busy service's bytes, and Express's
// res.json/res.send add their own work per call (npm run bench -- --only targets
// --profile-server).
import type { ServerResponse } from 'node:http';
import type { Request, Response } from 'express';
import { FaissError, type BinaryRangeSearchResult, type BinarySearchResult, type RangeSearchResult, type SearchResult } from '../../lib';
import {
  BINARY,
  HEADER,
  jsonId,
  rangeSearchAnswerParts,
  readCodes,
  readCodesWithIds,
  readIds,
  readVectors,
  readVectorsWithIds,
  searchAnswerParts,
  vectorsAnswerParts,
} from '../../lib/wire';
import { HttpError } from './errors';
import { searchAnswerJson, writeJson, writeJsonText } from './json-answer';

export { BINARY } from '../../lib/wire';

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

function bytesOf(body: unknown): Buffer {
  if (!Buffer.isBuffer(body) || body.length === 0) {
    throw new HttpError(400, 'ERR_EMPTY_BODY', 'Expected a non-empty application/octet-stream body');
  }
  return body;
}

/** Float32 rows of dimension d from a binary body. */
export const binaryVectors = (body: unknown, d: number): Float32Array => readVectors(bytesOf(body), d);

/** Rows then one int64 id per row: n * (4d + 8) bytes. */
export const binaryVectorsWithIds = (body: unknown, d: number): { x: Float32Array; ids: BigInt64Array } => readVectorsWithIds(bytesOf(body), d);

export const binaryIds = (body: unknown): BigInt64Array => readIds(bytesOf(body));

/** A binary index's codes of codeSize (d / 8) bytes from a binary body. */
export const binaryCodes = (body: unknown, codeSize: number): Uint8Array => readCodes(bytesOf(body), codeSize);

/** Codes then one int64 id per code: n * (codeSize + 8) bytes. */
export const binaryCodesWithIds = (body: unknown, codeSize: number): { x: Uint8Array; ids: BigInt64Array } => readCodesWithIds(bytesOf(body), codeSize);

/** JSON codes (base64 strings, checked by the route's schema) -> one Uint8Array, checking every code's length. */
export function jsonCodes(codes: string[], codeSize: number, name = 'codes'): Uint8Array {
  const out = new Uint8Array(codes.length * codeSize);
  codes.forEach((code, i) => {
    const bytes = Buffer.from(code, 'base64');
    // Node's decoder skips what is not base64; the schema let only base64 characters through.
    if (bytes.length !== codeSize || code.length % 4 !== 0) {
      throw new FaissError(`Expected ${name}[${i}] to be the base64 of a code of ${codeSize} bytes (d / 8) but it decodes to ${bytes.length}`, 'ERR_DIMENSION');
    }
    out.set(bytes, i * codeSize);
  });
  return out;
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

/** Ids in JSON (lib/wire.ts jsonId): numbers and decimal strings; binary adds take any int64. */
export function jsonIds(ids: (number | string)[]): BigInt64Array {
  return BigInt64Array.from(ids, (v, i) => {
    const id = BigInt(v); // the schema let through integers and digit strings only
    if (BigInt.asIntN(64, id) !== id) throw new HttpError(400, 'ERR_VALIDATION', `ids[${i}] ${v} is not an int64`);
    return id;
  });
}

const rows = (flat: ArrayLike<number>, n: number, k: number): number[][] =>
  Array.from({ length: n }, (_, i) => Array.from({ length: k }, (_, j) => flat[i * k + j]));

/**
 * A 200 with a binary body: the head and every part leave in one write to the
 * socket (corked; end() uncorks). `headers` join those already set. Nothing is
 * allocated here beyond the parts' Buffer views: one of these is written per search.
 */
export function writeBinary(res: ServerResponse, headers: Record<string, string>, parts: ArrayBufferView[]): void {
  let length = 0;
  for (let i = 0; i < parts.length; i++) length += parts[i].byteLength;
  res.setHeader('Content-Type', BINARY);
  res.setHeader('Content-Length', String(length));
  for (const name in headers) res.setHeader(name, headers[name]);
  res.writeHead(200);
  res.cork();
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    res.write(Buffer.from(p.buffer, p.byteOffset, p.byteLength));
  }
  res.end();
}

const NO_MORE_HEADERS: Record<string, string> = Object.freeze({});

/** JSON { distances, labels } as nq x k arrays, or binary: float32 distances then int64 labels (headers X-Faiss-Nq, X-Faiss-K). */
export function sendSearch(req: Request, res: Response, r: SearchResult | BinarySearchResult, nq: number, k: number): void {
  if (wantsBinary(req)) {
    res.setHeader(HEADER.nq, String(nq));
    res.setHeader(HEADER.k, String(k));
    return writeBinary(res, NO_MORE_HEADERS, searchAnswerParts(r));
  }
  writeJsonText(res, 200, {}, searchAnswerJson(r.distances, r.labels, nq, k));
}

/** JSON { results: [{ distances, labels }] } per query, or binary: int64 lims (nq + 1), float32 distances, int64 labels. */
export function sendRangeSearch(req: Request, res: Response, r: RangeSearchResult | BinaryRangeSearchResult, nq: number): void {
  if (wantsBinary(req)) {
    return writeBinary(res, { [HEADER.nq]: String(nq), [HEADER.total]: String(r.labels.length) }, rangeSearchAnswerParts(r));
  }
  const results = Array.from({ length: nq }, (_, i) => {
    const lo = Number(r.lims[i]);
    const hi = Number(r.lims[i + 1]);
    return { distances: Array.from(r.distances.subarray(lo, hi)), labels: Array.from(r.labels.subarray(lo, hi), jsonId) };
  });
  writeJson(res, 200, {}, { results });
}

export function sendVectors(req: Request, res: Response, x: Float32Array, n: number, d: number): void {
  if (wantsBinary(req)) return writeBinary(res, { [HEADER.n]: String(n), [HEADER.d]: String(d) }, vectorsAnswerParts(x));
  writeJson(res, 200, {}, { vectors: rows(x, n, d) });
}

/** A binary index's codes (d bits each): JSON { codes: base64[] }, or binary: the n codes' bytes. */
export function sendCodes(req: Request, res: Response, x: Uint8Array, n: number, d: number): void {
  if (wantsBinary(req)) return writeBinary(res, { [HEADER.n]: String(n), [HEADER.d]: String(d) }, vectorsAnswerParts(x));
  const size = d / 8;
  writeJson(res, 200, {}, { codes: Array.from({ length: n }, (_, i) => Buffer.from(x.buffer, x.byteOffset + i * size, size).toString('base64')) });
}
