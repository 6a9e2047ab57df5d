// A point's id: a UTF-8 string of 1 to 256 bytes (the filter's has_id and the
// point inputs check ids with the same rule).
import { COLLECTION_LIMITS } from './limits';

/** What is wrong with `id` as a point id, or undefined when it is one. */
export function pointIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string') return `expected a point id (a string) but received ${id === null ? 'null' : Array.isArray(id) ? 'an array' : typeof id}`;
  if (id.length === 0) return 'a point id is 1 to 256 bytes of UTF-8; this one is empty';
  // A lone surrogate has no UTF-8 form: Buffer.from would silently write U+FFFD, and two ids would become one.
  if (/\p{Surrogate}/u.test(id)) return 'a point id must be valid Unicode (it holds a lone surrogate)';
  const bytes = Buffer.byteLength(id);
  if (bytes > COLLECTION_LIMITS.idBytes) return `a point id is 1 to ${COLLECTION_LIMITS.idBytes} bytes of UTF-8; this one is ${bytes}`;
  return undefined;
}
