// A JSON answer written straight to node:http's response, as Express's res.json
// writes it (same Content-Type and Content-Length), without res.json's work per
// call (res.send's type and ETag handling): for the error handler and the read
// routes' answers.
// A search's answer, most of a busy service's JSON, is written by a writer of its
// own (searchAnswerJson): the same text JSON.stringify gives for { distances,
// labels } as nq x k arrays, without building those arrays first (bench/RESULTS.md,
// npm run bench -- --only targets).
import type { ServerResponse } from 'node:http';
import { jsonId } from '../../lib/wire';

export function writeJson(res: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
  writeJsonText(res, status, headers, JSON.stringify(value));
}

/** `body`: JSON text already. */
export function writeJsonText(res: ServerResponse, status: number, headers: Record<string, string>, body: string): void {
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

/** A number as JSON.stringify writes it: NaN and the infinities as null. */
const jsonNumber = (v: number): string => (Number.isFinite(v) ? String(v) : 'null');

/** An id as JSON.stringify writes jsonId's value: a number while exact as one, else a quoted decimal string. */
function jsonIdText(id: bigint): string {
  const v = jsonId(id);
  return typeof v === 'number' ? String(v) : `"${v}"`;
}

/** { "distances": nq x k numbers, "labels": nq x k ids }: the text of JSON.stringify of those arrays (binary indexes: integer distances). */
export function searchAnswerJson(distances: Float32Array | Int32Array, labels: BigInt64Array, nq: number, k: number): string {
  let s = '{"distances":[';
  for (let q = 0; q < nq; q++) {
    s += q === 0 ? '[' : ',[';
    for (let j = 0; j < k; j++) s += (j === 0 ? '' : ',') + jsonNumber(distances[q * k + j]);
    s += ']';
  }
  s += '],"labels":[';
  for (let q = 0; q < nq; q++) {
    s += q === 0 ? '[' : ',[';
    for (let j = 0; j < k; j++) s += (j === 0 ? '' : ',') + jsonIdText(labels[q * k + j]);
    s += ']';
  }
  return s + ']}';
}
