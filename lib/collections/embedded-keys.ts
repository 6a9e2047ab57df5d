// Idempotency keys of the embedded collections, as the service has them for
// indexes (docs/http-api.md, "Versions and retries"): a mutation sent again
// with a key the collection has seen is not applied again and gets the first
// answer; the same key with another request is refused with
// ERR_IDEMPOTENCY_MISMATCH. The last 10,000 keys of each collection are
// remembered, with a fingerprint of their request, and logged with their op.
// The fingerprint: lib/request-fingerprint.ts.
import { FaissError } from '../errors';
import { invalidParameterError, isObject, readArgument } from '../is';
import type { StoredKey } from './embedded-store';
import type { WriteOptions } from './types';
import { IDEMPOTENCY_KEY } from '../wire';

/** Keys remembered per collection. */
export const KEPT_KEYS = 10_000;

/** The idempotency key of a WriteOptions, checked: 1 to 128 printable ASCII characters, no spaces. */
export function idempotencyKeyArg(o: WriteOptions | undefined): string | undefined {
  if (o === undefined) return undefined;
  if (!isObject(o)) throw invalidParameterError('options', 'an object', o);
  const key = readArgument('options.idempotencyKey', () => o.idempotencyKey);
  if (key === undefined) return undefined;
  if (typeof key !== 'string' || !IDEMPOTENCY_KEY.test(key)) {
    throw invalidParameterError('options.idempotencyKey', '1 to 128 printable ASCII characters without spaces', key);
  }
  return key;
}

/** The last KEPT_KEYS keys of one collection, oldest first. */
export class RecentKeys {
  private readonly keys = new Map<string, StoredKey>();

  remember(k: StoredKey): void {
    this.keys.delete(k.key); // a key used again moves to the newest end, as its row's seq does
    this.keys.set(k.key, k);
    if (this.keys.size > KEPT_KEYS) this.keys.delete(this.keys.keys().next().value as string);
  }

  /** The first answer to this key, or undefined when it is new; ERR_IDEMPOTENCY_MISMATCH for another request. */
  answerOf(key: string, fingerprint: string): unknown {
    const seen = this.keys.get(key);
    if (!seen) return undefined;
    if (seen.fingerprint !== fingerprint) {
      throw new FaissError(
        `Idempotency key ${JSON.stringify(key)} was used for another request to this collection (a different operation or body); use a new key for a new request`,
        'ERR_IDEMPOTENCY_MISMATCH',
      );
    }
    return seen.answer;
  }
}
