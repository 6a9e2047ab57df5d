// The bounds of the collection API (issue 18), in one place, as lib/limits.ts
// holds the index API's: the embedded collections, the remote client and the
// service's HTTP validation check an argument with these.
import { invalidParameterError, isInteger, isObject, readArgument } from '../is';

export const COLLECTION_LIMITS = Object.freeze({
  /** A point id: a UTF-8 string of 1 to 256 bytes. */
  idBytes: 256,
  /** A payload's JSON, by default (embedded `maxPayloadBytes`, the service's --max-payload-bytes). */
  payloadBytes: 65_536,
  /** Most a configured payload limit may be (a payload is one JSON object held in memory). */
  maxPayloadBytesSetting: 64 * 2 ** 20,
  /** Points per scroll page: the default and the most. */
  scrollDefault: 100,
  scrollMax: 10_000,
  /** Conditions of one filter, nested filters counted, and how deep filters nest. */
  filterConditions: 1_000,
  filterDepth: 32,
  /** Values of one filter's has_id / match.any / match.except lists, all lists together. */
  filterValues: 100_000,
  /** A payload field path (a payload index's field, a filter's key): bytes of UTF-8. */
  fieldBytes: 256,
  /** Points of one upsert, ids of one get / delete. */
  batchPoints: 1_000_000,
});

/** What a collection holds its input to; chosen when the collections are opened (embedded) or the server starts. */
export interface CollectionLimits {
  /** Most bytes of a point's payload, as UTF-8 JSON (ERR_PAYLOAD_TOO_LARGE beyond). */
  maxPayloadBytes: number;
}

export const defaultCollectionLimits = (): CollectionLimits => ({ maxPayloadBytes: COLLECTION_LIMITS.payloadBytes });

/** A caller's limits (absent fields take the defaults), each read once. */
export function collectionLimitsArg(limits: unknown): CollectionLimits {
  if (limits === undefined) return defaultCollectionLimits();
  return readArgument('limits', () => {
    if (!isObject(limits)) throw invalidParameterError('limits', 'an object', limits);
    const { maxPayloadBytes } = limits;
    if (maxPayloadBytes === undefined) return defaultCollectionLimits();
    const max = COLLECTION_LIMITS.maxPayloadBytesSetting;
    if (!isInteger(maxPayloadBytes) || maxPayloadBytes < 2 || maxPayloadBytes > max) {
      throw invalidParameterError('maxPayloadBytes', `an integer between 2 and ${max}`, maxPayloadBytes);
    }
    return { maxPayloadBytes };
  });
}
