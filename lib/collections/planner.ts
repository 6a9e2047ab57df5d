// The query planner of filtered collection searches (after Qdrant's
// query_optimization): from how many points match (exact: the filter is
// evaluated before the search) and how many there are, choose how FAISS
// searches them.
//
// - Nothing matches: no search.
// - At most EXACT_SUBSET_AT_MOST points match (a count per FAISS build), on an index that can compute the
//   distance to one stored vector (Index.searchSubset: Flat, SQ, PQ, HNSW, IVF
//   with a direct map, under an IDMap2 too): the exact search over the matching
//   subset, a distance per match, O(matching) and not O(ntotal). It costs time
//   in proportion to m * d, so the threshold is a count, not a share: the count
//   at which it costs what the selector search costs, which depends on what a
//   distance costs in the FAISS build (EXACT_SUBSET_AT_MOST: per instruction set)
//   (IVF: only below IVF_SELECTOR_FROM of the points, see below).
// - An index that compares the query with every stored vector (Flat, SQ, PQ,
//   ...): the exact search over the subset whatever the count, as its own
//   search costs a distance per stored vector anyway: FAISS's search with an
//   IDSelector of the matching labels is the exact search over that subset too,
//   but asks the selector about every stored vector through the IDMap2's
//   translation, 7x the subset search's time at 10% of 200,000 and 1.7x at 50%
//   (bench:collections). One that cannot compute a single distance (LSH, ...):
//   the selector search.
// - IVF: the nprobe nearest lists hold `share` of the matching vectors an
//   unfiltered search would scan vectors; nprobe is raised by 1 / share^(1/4)
//   (FAISS clamps it to nlist): at 1% (x3.2) the recall is the exact answer's,
//   at 1 / sqrt(share) (x10) too but at twice the cost, and nprobe / share
//   (every list at 1%) costs 4x the unfiltered latency (bench:collections);
//   the selector is asked about the other vectors, a lookup each, not a
//   distance. So from IVF_SELECTOR_FROM of the points the selector search is
//   cheaper than the exact search over the subset, whatever the count: it
//   scans a share of the lists, the subset search costs a distance per match
//   read from anywhere.
// - HNSW: the graph search with the selector meets matching points in
//   proportion to the selectivity, and with fewer of them among its efSearch
//   candidates it misses some of the nearest. efSearch is raised by
//   1 / share^(1/5), at most HNSW_EF_GROWTH_MAX times: the unfiltered recall at
//   1% (x2.5), 10% (x1.6) and 50% (x1.15), where 1 / share^(1/4) (x3.2, x1.8,
//   x1.2) gave 1.01-1.03 times it at 10-20% more cost (bench:collections, and
//   bench/RESULTS.md, ninth session, hnswcold18: 300 queries per share). A query
//   whose walk still met fewer than k is answered exactly from the selection by
//   the addon (native/short_answers.h).
// - An index FAISS 1.7.3 cannot filter (IndexPQ under an IDMap2, ...) with more
//   matches than that: the search asks for more neighbours until k of them match
//   (or it has them all).
//
// - Before any of these, a filter that a large share of the points pass
//   (OVER_FETCH_AT or more: the kept answer's exact share, else an estimate from
//   the payload indexes' counts or a sample) is first answered by the index's
//   unfiltered search for 2k / share neighbours, kept when they pass. It costs
//   what the unfiltered search for that many costs: no evaluation of the filter
//   over the collection, no selector. An IVF search keeps the caller's nprobe,
//   whose nearest lists hold the 2k / share nearest as they hold the k nearest
//   (below OVER_FETCH_IVF_EVALUATED_AT only while the filter is not evaluated:
//   evaluated, the selector search skips the vectors that fail). An HNSW search
//   over-fetches only where 2k / share is at most its efSearch: FAISS's walk
//   goes as deep as the neighbours asked for, and the deeper walk (efSearch 200
//   at 10%) costs more than evaluating the filter to a bitmap and the selector
//   search at its raised efSearch, evaluated or not (bench:collections, 10%
//   cold: 3.4x the unfiltered search over-fetched). It is exact where the
//   unfiltered search is (the k nearest that pass are among the 2k / share
//   nearest when k of those pass). A query left with fewer than k is searched
//   again by the rules above, so the answer still has k hits whenever k match
//   (fewer than k of 2k / share draws pass: about one query in a hundred at 10%
//   when the filter and the vectors are independent, one in a thousand at 50%).
//
// These rules come from `npm run bench:collections` (bench/collections.ts, its
// "planner's alternatives" table in bench/RESULTS.md): each alternative's
// recall@10 and latency at 0.1%, 1%, 10% and 50% of 200,000 points.
import { IDSelectorBatch, IDSelectorBitmap, type IDSelector } from '../selectors';
import { LIMITS } from '../limits';
import type { LabelBitmap } from './label-bitmap';
import { toInt64 } from './sorted-labels';

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
  /** Whether the index computes the distance to one stored vector (Index.searchSubset does not refuse it). */
  subsetSearchable: boolean;
  /** The instruction set FAISS was built for (buildInfo().isa): what a distance costs (EXACT_SUBSET_AT_MOST). */
  isa: string;
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
  /** The exact search over the matching labels (Index.searchSubset). */
  | { strategy: 'subset' }
  /** FAISS's search with an IDSelector of the matching labels. */
  | { strategy: 'selector'; knobs: SearchKnobs }
  /** FAISS's search without a selector, for `fetch` neighbours, kept when they match (unfilterable indexes). */
  | { strategy: 'postFilter'; fetch: number; knobs: SearchKnobs };

/**
 * At this many matching points or fewer, the exact search over them, by the instruction set FAISS was built for
 * (buildInfo().isa): the count at which the exact search over m points drawn at random costs what the selector
 * search at their share costs (bench:collections, "the exact search over m points ... against the planner's selector
 * search", HNSW32 at 200,000 points of d 128). Its cost per point is a distance and a read from memory; the walk's is
 * a distance per neighbour met. In an avx2 or avx512 build a distance is FAISS's 256-bit loop (FAISS 1.7.3 has no
 * avx512 level: scripts/build-faiss.sh) or the addon's replica of it (kernels/exact_distances.h), cheap beside the
 * walk's chain of reads from memory, which the exact search overlaps: 8,192 points cost one unfiltered search twice
 * over on the AVX-512 builds of the earlier sessions. In a generic build (the x86-64 baseline, e.g. a CPU that hides
 * LZCNT) a distance is FAISS's scalar loop, about 120 ns at d 128, in both searches alike: the exact search over
 * 2,000 points cost 1.5x the unfiltered search and the selector search at 1% 2.4-2.8x, and the two met between 2,500
 * and 3,000 points (bench/RESULTS.md, tenth session, planner18): 2,500, the largest count measured where the exact
 * search cost no more (1% of 200,000 points, about 2,000 give or take 50 in the bench, stays on one side of it). A
 * build not listed is costed as a generic one. A constant per build, not a timing taken at run time: the same points
 * and filter get the same plan, and the same answer, on every replica of a build.
 */
export const EXACT_SUBSET_AT_MOST: Readonly<Record<string, number>> = { avx512: 8192, avx2: 8192, generic: 2500 };

/** EXACT_SUBSET_AT_MOST of a FAISS build. */
export const exactSubsetAtMost = (isa: string): number => EXACT_SUBSET_AT_MOST[isa] ?? EXACT_SUBSET_AT_MOST.generic;

/** The most an HNSW filtered search multiplies efSearch by (bench:collections, "efSearch 64 / sqrt(share), at most x4"). */
export const HNSW_EF_GROWTH_MAX = 4;

/**
 * A filtered IVF search raises nprobe by 1 / share^GROWTH_EXPONENT (bench:collections, "nprobe 16 / share^(1/4)": the
 * unfiltered recall or better at 1% and 10%).
 */
export const GROWTH_EXPONENT = 0.25;

/**
 * A filtered HNSW search raises efSearch by 1 / share^HNSW_GROWTH_EXPONENT (bench:collections, "efSearch 64 /
 * share^(1/5)": the unfiltered recall at 1%, 10% and 50%, where share^(1/4) passed it at more cost).
 */
export const HNSW_GROWTH_EXPONENT = 0.2;

/**
 * From this share of the points, an IVF index is searched with the selector rather than over the subset, whatever
 * the count (bench:collections, IVF1024 nprobe 16 at 200,000 points: the exact search over the subset costs 45 µs
 * at 0.1% and 236 µs at 1%, the selector search at nprobe 16 / share^(1/4) about 100 µs at 1%: even at 0.5%).
 */
export const IVF_SELECTOR_FROM = 0.005;

/** The most nprobe a filtered IVF search asks for (FAISS clamps it to nlist): every list. */
const EVERY_LIST = LIMITS.tunable.max;

/**
 * At this share of matching points or more, the unfiltered search over-fetches first (bench:collections,
 * "unfiltered for 2k / share": at 10% and 50% it keeps the unfiltered recall at about the unfiltered latency).
 */
export const OVER_FETCH_AT = 0.1;

/**
 * The same for an exhaustive index, whose exact search over the subset costs the share of its distances
 * computed one by one: about the unfiltered search's cost at 40% (bench:collections, Flat: 2.9 ms at 10% and
 * 28 ms at 50% against 21-23 ms unfiltered or over-fetched).
 */
export const OVER_FETCH_EXHAUSTIVE_AT = 0.4;

/**
 * The same for an IVF index's filter already evaluated (its matching labels kept), whose selector search at nprobe
 * raised by 1 / share^(1/4) skips the distances of the vectors that do not pass: it costs about the unfiltered
 * search at 10% and more than the over-fetch at 50% (bench:collections, IVF1024 nprobe 16 at 200,000 points: "nprobe
 * 16 / share^(1/4)" 144 µs against "unfiltered for 2k / share" 241 µs at 10%, 375 µs against 204 µs at 50%; a cost
 * linear in nprobe x share puts the two level near 25%).
 */
export const OVER_FETCH_IVF_EVALUATED_AT = 0.25;

/**
 * The most neighbours an over-fetch asks for: beyond this, fetching and reading their payloads costs more than
 * evaluating the filter (a large k at a low share goes the evaluated way).
 */
export const OVER_FETCH_MAX = 1024;

/**
 * How many neighbours the unfiltered search asks for, kept when they pass, or undefined when the share is below
 * OVER_FETCH_AT (OVER_FETCH_EXHAUSTIVE_AT for an exhaustive index, OVER_FETCH_IVF_EVALUATED_AT for an IVF index's
 * evaluated filter) or that many would be over OVER_FETCH_MAX.
 */
export function overFetchOf(p: { share: number; total: number; k: number; family: IndexFamily; efSearch?: number; evaluated?: boolean }): number | undefined {
  if (p.total === 0 || p.share < overFetchFrom(p.family, p.evaluated === true)) return undefined;
  const fetch = Math.min(p.total, Math.ceil((2 * p.k) / p.share));
  // HNSW: within its efSearch; beyond it, evaluating the filter and the selector search at a raised efSearch cost
  // less than the deeper walk (bench:collections, 10% cold).
  if (p.family === 'hnsw' && fetch > (p.efSearch ?? 0)) return undefined;
  return fetch <= OVER_FETCH_MAX ? fetch : undefined;
}

function overFetchFrom(family: IndexFamily, evaluated: boolean): number {
  if (family === 'exhaustive') return OVER_FETCH_EXHAUSTIVE_AT;
  return family === 'ivf' && evaluated ? OVER_FETCH_IVF_EVALUATED_AT : OVER_FETCH_AT;
}


/**
 * Whether a selector search of a filter not evaluated yet (`plan`: its plan) tests each label the search asks about
 * against the filter's payload column (value-column.ts), rather than the filter being evaluated to a bitmap of its
 * matching labels first. HNSW asks about the neighbours its walk meets, a few thousand at most: the column. IVF asks
 * about every vector of its nprobe lists, a read from anywhere in the column each (8 bytes a label: 1.6 MB at 200,000
 * points, out of cache), where the evaluation sets a bit per matching label in a bitmap that stays in cache, then
 * builds its selector: the column while the lists hold no more vectors than match. IVF1024 at nprobe 16 over 200,000
 * points (bench:collections, cold filters): at 10% the planner's 29 lists hold about 5,700 vectors for 20,000 matching
 * points, and the column took the search from 2.59x the unfiltered one to 1.78x; at 1%, 51 lists hold about 10,000
 * for 2,000, and the column took it from 1.79x to 2.28x. An IVF whose lists are not counted here (a GPU IVF) evaluates.
 */
export function columnSearched(p: { family: IndexFamily; plan: SearchPlan; matching: number; total: number; nlist?: number }): boolean {
  if (p.plan.strategy !== 'selector') return false;
  if (p.family !== 'ivf') return true;
  const nprobe = p.plan.knobs.nprobe;
  if (nprobe === undefined || p.nlist === undefined || p.nlist < 1) return false;
  return (Math.min(nprobe, p.nlist) / p.nlist) * p.total <= p.matching;
}

export function planSearch(p: PlanInput): SearchPlan {
  if (p.matching === 0 || p.total === 0) return { strategy: 'empty' };
  const knobs: SearchKnobs = { nprobe: p.nprobe, efSearch: p.efSearch };
  const share = p.matching / p.total;
  const subsetByCount = p.matching <= exactSubsetAtMost(p.isa) && !(p.family === 'ivf' && p.filterable && share >= IVF_SELECTOR_FROM);
  if (p.subsetSearchable && (subsetByCount || p.family === 'exhaustive')) return { strategy: 'subset' };
  if (!p.filterable) {
    // Ask for as many neighbours as should hold k matches, at least twice k; the caller doubles it until done.
    const fetch = Math.min(p.total, Math.max(2 * p.k, Math.ceil(p.k / share)));
    return { strategy: 'postFilter', fetch: Math.min(fetch, LIMITS.k.max), knobs };
  }
  if (p.family === 'ivf' && p.nprobe !== undefined && share < 1) {
    return { strategy: 'selector', knobs: { ...knobs, nprobe: Math.min(EVERY_LIST, Math.ceil(p.nprobe * share ** -GROWTH_EXPONENT)) } };
  }
  if (p.family === 'hnsw' && p.efSearch !== undefined && share < 1) {
    const growth = Math.min(HNSW_EF_GROWTH_MAX, share ** -HNSW_GROWTH_EXPONENT);
    return { strategy: 'selector', knobs: { ...knobs, efSearch: Math.min(LIMITS.tunable.max, Math.ceil(p.efSearch * growth)) } };
  }
  return { strategy: 'selector', knobs };
}

// What FAISS's IDSelectorBatch takes per id (lib/id-policy.ts counts the same), against a bitmap's bit per label.
const BATCH_BYTES_PER_ID = 64;

/** The matching labels as the smaller of an IDSelectorBitmap (a bit per label up to the largest) and an IDSelectorBatch. */
export function selectorOf(matching: LabelBitmap): IDSelector {
  const max = Math.max(0, matching.last());
  const bitmapBytes = Math.floor(max / 8) + 1;
  if (bitmapBytes > matching.count * BATCH_BYTES_PER_ID) return new IDSelectorBatch(toInt64(matching.labels()));
  return new IDSelectorBitmap(matching.bitmapBytes(bitmapBytes));
}
