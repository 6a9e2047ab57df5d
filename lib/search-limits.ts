// The bounds of k, nprobe and efSearch, checked here for every way they reach an
// index (search, rangeSearch, the nprobe / efSearch properties) and again by the
// addon for plain-JS callers. They only keep a value sane (a typo, a negative);
// what a search may allocate is bounded by the per-call memory limit
// (setMemoryLimits), which the addon checks with the index in hand.
import { integerIn, invalidParameterError, isObject, readArgument } from './is';
import type { SearchParams } from './types';

/** Neighbours per query, as Python's faiss allows on the CPU. */
export const MAX_K = 2 ** 20;
/** nprobe, efSearch and efConstruction. FAISS clamps nprobe to nlist. */
export const MAX_TUNABLE = 2 ** 30;

export const kArg = (k: unknown): number => integerIn(k, 'k', 1, MAX_K);
export const tunableArg = (v: unknown, name: string): number => integerIn(v, name, 1, MAX_TUNABLE);

export function searchParams(params: SearchParams | undefined): SearchParams {
  if (params === undefined) return {};
  // Each field is read once: a getter could answer differently on a second read.
  return readArgument('params', () => {
    if (!isObject(params)) throw invalidParameterError('params', 'an object', params);
    for (const key of Object.keys(params)) {
      if (key !== 'nprobe' && key !== 'efSearch') {
        throw invalidParameterError('params', 'only the keys nprobe and efSearch', key);
      }
    }
    const { nprobe, efSearch } = params;
    return {
      nprobe: nprobe === undefined ? undefined : tunableArg(nprobe, 'params.nprobe'),
      efSearch: efSearch === undefined ? undefined : tunableArg(efSearch, 'params.efSearch'),
    };
  });
}
