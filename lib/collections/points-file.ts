// The points of a collection as bytes, beside its FAISS index in a snapshot:
// a first line naming the format and its version, then one JSON document
// { nextLabel, payloadIndexes: [[field, type], ...], hidden: [label, ...],
// points: [[id, label, payload], ...] }. The caller's storage checksums the
// bytes; this checks their shape, so a damaged or foreign file is refused
// (ERR_CORRUPT_INDEX) instead of giving a collection that lies.
import { FaissError } from '../errors';
import { isObject } from '../is';
import { payloadFieldTypeArg } from './input';
import { pointIdProblem } from './point-id';
import type { StoredPoint } from './points';
import type { Payload, PayloadFieldType } from './types';

const MAGIC = 'faiss-proxy collection points v1\n';

export interface PointsFile {
  nextLabel: number;
  payloadIndexes: [string, PayloadFieldType][];
  /** Labels FAISS still holds for removed points (the id policy hides them). */
  hidden: number[];
  /** In increasing label order. */
  points: StoredPoint[];
}

export function encodePoints(f: PointsFile): Uint8Array {
  const body = JSON.stringify({
    nextLabel: f.nextLabel,
    payloadIndexes: f.payloadIndexes,
    hidden: f.hidden,
    points: f.points.map((p) => [p.id, p.label, p.payload]),
  });
  return Buffer.from(MAGIC + body);
}

const corrupt = (what: string): FaissError => new FaissError(`The collection's points cannot be read: ${what}`, 'ERR_CORRUPT_INDEX');

const isLabel = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;

export function decodePoints(bytes: Uint8Array): PointsFile {
  if (!(bytes instanceof Uint8Array)) throw new FaissError('points: expected a Uint8Array', 'ERR_INVALID_ARGUMENT');
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  if (!text.startsWith(MAGIC)) throw corrupt('not a points file of this version');
  let doc: unknown;
  try {
    doc = JSON.parse(text.slice(MAGIC.length));
  } catch {
    throw corrupt('its JSON is damaged');
  }
  if (!isObject(doc) || !isLabel(doc.nextLabel) || !Array.isArray(doc.payloadIndexes) || !Array.isArray(doc.hidden) || !Array.isArray(doc.points)) {
    throw corrupt('missing or malformed fields');
  }
  const payloadIndexes = doc.payloadIndexes.map((e: unknown): [string, PayloadFieldType] => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== 'string') throw corrupt('a malformed payload index');
    try {
      return [e[0], payloadFieldTypeArg(e[1])];
    } catch {
      throw corrupt(`payload index ${JSON.stringify(e[0])} has an unknown type`);
    }
  });
  let previous = -1;
  const points = doc.points.map((e: unknown): StoredPoint => {
    if (!Array.isArray(e) || e.length !== 3 || pointIdProblem(e[0]) !== undefined || !isLabel(e[1]) || (e[2] !== null && !isObject(e[2]))) {
      throw corrupt('a malformed point');
    }
    if (e[1] <= previous) throw corrupt('labels out of order');
    previous = e[1];
    const payload = e[2] as Payload | null;
    return { id: e[0] as string, label: e[1], payload, payloadBytes: payload === null ? 0 : Buffer.byteLength(JSON.stringify(payload)) };
  });
  const hidden = doc.hidden as unknown[];
  if (!hidden.every(isLabel)) throw corrupt('a malformed hidden label');
  if (previous >= doc.nextLabel || (hidden as number[]).some((l) => l >= (doc as { nextLabel: number }).nextLabel)) throw corrupt('a label at or past the next label');
  return { nextLabel: doc.nextLabel, payloadIndexes, hidden: hidden as number[], points };
}
