// The bounds of k, nprobe and efSearch, checked here for every way they reach an
// index (search, rangeSearch, the nprobe / efSearch properties) and again by the
// addon for plain-JS callers. They only keep a value sane (a typo, a negative);
// what a search may allocate is bounded by the per-call memory limit
// (setMemoryLimits), which the addon checks with the index in hand.
import { integerIn, invalidParameterError, isObject } from './is';
import type { SearchParams } from './types';

/** Neighbours per query, as Python's faiss allows on the CPU. */
export const MAX_K = 2 ** 20;
/** nprobe, efSearch and efConstruction. FAISS clamps nprobe to nlist. */
export const MAX_TUNABLE = 2 ** 30;

export const kArg = (k: unknown): number => integerIn(k, 'k', 1, MAX_K);
export const tunableArg = (v: unknown, name: string): number => integerIn(v, name, 1, MAX_TUNABLE);

export function searchParams(params: SearchParams | undefined): SearchParams {
  if (params === undefined) return {};
  if (!isObject(params)) throw invalidParameterError('params', 'an object', params);
  for (const key of Object.keys(params)) {
    if (key !== 'nprobe' && key !== 'efSearch') {
      throw invalidParameterError('params', 'only the keys nprobe and efSearch', key);
    }
  }
  if (params.nprobe !== undefined) tunableArg(params.nprobe, 'params.nprobe');
  if (params.efSearch !== undefined) tunableArg(params.efSearch, 'params.efSearch');
  return params;
}
