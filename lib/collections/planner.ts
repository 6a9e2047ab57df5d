// The query planner of filtered collection searches (after Qdrant's
// query_optimization): from how many points match (exact: the filter is
// evaluated before the search) and how many there are, choose how FAISS
// searches them.
//
// - Nothing matches: no search.
// - An index that compares the query with every stored vector (Flat, SQ, PQ,
//   LSH, ...): its search with an IDSelector of the matching labels is already
//   the exact search over that subset (FAISS computes distances only for
//   selected vectors), at every selectivity.
// - IVF: the nprobe nearest lists hold `share` of the vectors an unfiltered
//   search scans; with a few of them among millions, the k found are not the
//   nearest (recall falls with the selectivity). So nprobe is divided by the
//   share (FAISS clamps it to nlist): the search scans as many matching vectors
//   as an unfiltered one scans vectors, and the selector is asked about the
//   others, which costs a lookup each, not a distance. Below nprobe / nlist it
//   probes every list: the exact search over the matching subset (IVF-Flat; the
//   codes' best for PQ / SQ).
// - HNSW: the graph search with the selector. It meets matching points in
//   proportion to the selectivity: with many it keeps the unfiltered recall at
//   the caller's efSearch; with few it meets some, keeps them, and misses the
//   nearer ones it did not walk past. A query whose walk met fewer than k is
//   answered exactly from the selection by the addon (native/short_answers.h),
//   so at HNSW_EXACT_AT_MOST of the points or less the walk is made as short as
//   FAISS allows (efSearch = k): it meets almost no match, and the answer is the
//   exact one over the matching subset, for one pass over the labels and a
//   distance per match. Raising efSearch instead (efSearch / share) cost 10-400x
//   the latency (bench:collections).
// - An index FAISS 1.7.3 cannot filter (IndexPQ under an IDMap2, ...): the
//   search asks for more neighbours until k of them match (or it has them all).
//
// These rules come from `npm run bench:collections` (bench/collections.ts, its
// "planner's alternatives" table in bench/RESULTS.md): each alternative's
// recall@10 and latency at 0.1%, 1%, 10% and 50% of 200,000 points.
import { IDSelectorBatch, IDSelectorBitmap, type IDSelector } from '../selectors';
import { LIMITS } from '../limits';
import type { Labels } from './sorted-labels';

/** How an index searches, as far as filtering goes. */
export type IndexFamily = 'exhaustive' | 'ivf' | 'hnsw';

export interface PlanInput {
  /** Points that pass the filter. */
  matching: number;
  /** Points in the collection. */
  total: number;
  family: IndexFamily;
  /** Whether FAISS can filter the index's search with a selector (Index.filterable). */
  filterable: boolean;
  k: number;
  /** The caller's, else the index's own. */
  nprobe?: number;
  efSearch?: number;
}

export interface SearchKnobs {
  nprobe?: number;
  efSearch?: number;
}

export type SearchPlan =
  | { strategy: 'empty' }
  /** FAISS's search with an IDSelector of the matching labels. */
  | { strategy: 'selector'; knobs: SearchKnobs }
  /** FAISS's search without a selector, for `fetch` neighbours, kept when they match (unfilterable indexes). */
  | { strategy: 'postFilter'; fetch: number; knobs: SearchKnobs };

/** At this share of the points or less, an HNSW search walks as little as it can, to be answered exactly (bench:collections). */
export const HNSW_EXACT_AT_MOST = 0.01;

/** The most nprobe a filtered IVF search asks for (FAISS clamps it to nlist): every list. */
const EVERY_LIST = LIMITS.tunable.max;

export function planSearch(p: PlanInput): SearchPlan {
  if (p.matching === 0 || p.total === 0) return { strategy: 'empty' };
  const knobs: SearchKnobs = { nprobe: p.nprobe, efSearch: p.efSearch };
  const share = p.matching / p.total;
  if (!p.filterable) {
    // Ask for as many neighbours as should hold k matches, at least twice k; the caller doubles it until done.
    const fetch = Math.min(p.total, Math.max(2 * p.k, Math.ceil(p.k / share)));
    return { strategy: 'postFilter', fetch: Math.min(fetch, LIMITS.k.max), knobs };
  }
  if (p.family === 'ivf' && p.nprobe !== undefined && share < 1) {
    return { strategy: 'selector', knobs: { ...knobs, nprobe: Math.min(EVERY_LIST, Math.ceil(p.nprobe / share)) } };
  }
  if (p.family === 'hnsw' && share <= HNSW_EXACT_AT_MOST) return { strategy: 'selector', knobs: { ...knobs, efSearch: p.k } };
  return { strategy: 'selector', knobs };
}

// What FAISS's IDSelectorBatch takes per id (lib/id-policy.ts counts the same), against a bitmap's bit per label.
const BATCH_BYTES_PER_ID = 64;

/** The matching labels as the smaller of an IDSelectorBitmap (a bit per label up to the largest) and an IDSelectorBatch. */
export function selectorOf(labels: Labels): IDSelector {
  const max = labels.length === 0 ? 0 : labels[labels.length - 1];
  const bitmapBytes = Math.floor(max / 8) + 1;
  if (bitmapBytes > labels.length * BATCH_BYTES_PER_ID) return new IDSelectorBatch(BigInt64Array.from(labels, (l) => BigInt(l)));
  const bits = new Uint8Array(bitmapBytes);
  for (const l of labels) bits[Math.floor(l / 8)] |= 1 << l % 8;
  return new IDSelectorBitmap(bits);
}
