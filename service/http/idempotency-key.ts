// A client's Idempotency-Key header: a retried mutation with the same key is
// applied once (the domain remembers keys per index or collection).
import type { Request } from 'express';
import { IDEMPOTENCY_KEY } from '../../lib/wire';
import { HttpError } from './errors';

export function idempotencyKey(req: Request): string | undefined {
  const key = req.header('Idempotency-Key');
  if (key === undefined) return undefined;
  if (!IDEMPOTENCY_KEY.test(key)) throw new HttpError(400, 'ERR_VALIDATION', 'Idempotency-Key must be 1-128 printable ASCII characters');
  return key;
}
