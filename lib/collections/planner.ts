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
// - IVF: with few matches, the nprobe nearest lists hold few of them and the k
//   found are not the nearest (recall falls with the selectivity); below the
//   threshold every list is searched with the selector, which is the exact
//   search over the matching subset for IVF-Flat (the codes' best for PQ / SQ).
// - HNSW: the graph search with the selector meets matching points in
//   proportion to the selectivity; below the threshold its efSearch is raised so
//   it meets as many as an unfiltered search would, and with fewer still the
//   addon answers a short query exactly from the selection
//   (native/short_answers.h).
// - An index FAISS 1.7.3 cannot filter (IndexPQ under an IDMap2, ...): the
//   search asks for more neighbours until k of them match (or it has them all).
//
// The thresholds come from `npm run bench:collections` (bench/collections.ts,
// figures in bench/RESULTS.md): they are where the selector search's recall@10
// falls below 0.95 of the unfiltered search's.
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

/** Below this share of matching points an IVF search probes every list (bench:collections). */
export const IVF_EVERY_LIST_BELOW = 0.1;
/** Below this share of matching points an HNSW search raises efSearch (bench:collections). */
export const HNSW_RAISE_EF_BELOW = 0.5;
/** The most an HNSW search's efSearch is raised to: past it, the addon's exact completion answers. */
export const HNSW_MAX_EF = 4096;

export function planSearch(p: PlanInput): SearchPlan {
  if (p.matching === 0 || p.total === 0) return { strategy: 'empty' };
  const knobs: SearchKnobs = { nprobe: p.nprobe, efSearch: p.efSearch };
  const share = p.matching / p.total;
  if (!p.filterable) {
    // Ask for as many neighbours as should hold k matches, at least twice k; the caller doubles it until done.
    const fetch = Math.min(p.total, Math.max(2 * p.k, Math.ceil(p.k / share)));
    return { strategy: 'postFilter', fetch: Math.min(fetch, LIMITS.k.max), knobs };
  }
  if (p.family === 'ivf' && share < IVF_EVERY_LIST_BELOW) return { strategy: 'selector', knobs: { ...knobs, nprobe: LIMITS.tunable.max } };
  if (p.family === 'hnsw' && share < HNSW_RAISE_EF_BELOW && p.efSearch !== undefined) {
    const raised = Math.min(HNSW_MAX_EF, Math.ceil(Math.max(p.efSearch, p.k) / share));
    return { strategy: 'selector', knobs: { ...knobs, efSearch: Math.max(p.efSearch, raised) } };
  }
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
