// What the collection crash test (test/service/collections/crash.test.ts) and
// its child process (collection-crash-child.ts) agree on.
import { rng } from './data';

export const CRASH_D = 8;
export const CRASH_CLIENTS = 4;
export const CRASH_BATCH = 10;

/** The vector stored under a point id: derived from it, so checking needs no bookkeeping. */
export function crashPointVector(id: string): Float32Array {
  let seed = 7;
  for (const ch of id) seed = (seed * 31 + ch.charCodeAt(0)) % 2_147_483_647;
  const next = rng(seed);
  return Float32Array.from({ length: CRASH_D }, () => next());
}
