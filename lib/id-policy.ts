// The id policy: ids never change in the service, nor labels in a collection
// (lib/collections, which gives every upserted point a fresh label and removes
// the replaced one through here). What a client was given for a
// vector stays its id until the vector is removed, and a removed id is never seen
// again. FAISS's own remove is used only where it keeps ids (IDMap, IVF);
// positional indexes (flat, SQ, HNSW), which would renumber, hide removed ids
// instead ("deleted ids"): every search passes FAISS a selector of the ids not
// deleted (IDSelectorNot), so FAISS never returns one and searches no deeper for
// them. They are rebuilt under an IDMap2 once the deleted ids pass a threshold,
// each vector under its same id. A positional index FAISS 1.7.3 cannot filter
// (IndexPQ, LSH, ...: Index.filterable) is rebuilt so at its first remove, and
// removes in FAISS from then on. Adds without ids are numbered as FAISS would
// have numbered them.
//
// Binary indexes keep to the same policy where FAISS lets them: a binary IVF
// removes by id; a binary flat or HNSW index, which would renumber or cannot
// remove (nor filter a search), and has no IDMap2 to be rebuilt under here,
// refuses removal.
import { FaissError } from './errors';
import type { Index } from './faiss-index';
import { IndexIDMap2 } from './indexes';
import { deserializeIndex, serializeIndex } from './io';
import { IDSelectorBatch, IDSelectorBitmap, IDSelectorNot, narrowedTo, type IDSelector } from './selectors';
import { METRIC_INNER_PRODUCT } from './constants';
import type { SearchParams, SearchResult } from './types';
import {
  addRows,
  isBinaryIndex,
  rangeSearchRows,
  searchRows,
  type AnyIndex,
  type AnyRangeSearchResult,
  type AnySearchResult,
  type Rows,
} from './any-index';

/** What an index keeps beside the FAISS object to hold its ids steady (saved in its snapshots). */
export interface IdState {
  /** Ids removed from an index type that cannot remove; hidden from every answer. */
  deleted: Set<bigint>;
  /**
   * Next id to assign on add without ids, once ids can no longer be positions:
   * after a rebuild put the index under an IDMap, or after an IVF index lost
   * vectors (FAISS would start the next add at ntotal and reuse ids).
   */
  nextId: number | null;
  /** Ids present, kept only for IDMap indexes that use deleted ids (built on first need). */
  idSet: Set<bigint> | null;
  /**
   * The selector of the ids not deleted, built once per change of `deleted` (which
   * only grows until it is replaced or cleared): `size` is how many it was built from.
   */
  visible: { deleted: Set<bigint>; size: number; sel: IDSelector } | null;
}

export const emptyIdState = (): IdState => ({ deleted: new Set(), nextId: null, idSet: null, visible: null });

export const isIdMapped = (index: AnyIndex): boolean => index.typeName === 'IndexIDMap' || index.typeName === 'IndexIDMap2';

/** IVF indexes store ids with the vectors: removing there never renumbers. */
const storesIds = (index: AnyIndex): boolean => isIdMapped(index) || index.nprobe !== undefined;

/** The vectors a client can see: FAISS's count less the deleted ids. */
export const visibleCount = (index: AnyIndex, ids: IdState): number => index.ntotal - ids.deleted.size;

/** Adds `x` (`n` rows), with the caller's ids or numbered as FAISS would; answers the first assigned id (null with caller ids). */
export async function addVectors(index: AnyIndex, ids: IdState, x: Rows, n: number, callerIds?: BigInt64Array): Promise<number | null> {
  if (callerIds) {
    await addRows(index, x, callerIds);
    if (ids.idSet) for (const id of callerIds) ids.idSet.add(id);
    return null;
  }
  if (ids.nextId === null) {
    // FAISS refuses add() on an IDMap ("use add_with_ids"): a capability error (422), as ids on a flat index are.
    if (isIdMapped(index)) throw new FaissError(`${index.typeName} maps caller-chosen ids: add the vectors with ids`, 'ERR_UNSUPPORTED');
    const firstId = index.ntotal; // FAISS numbers by position
    await addRows(index, x);
    return firstId;
  }
  const firstId = ids.nextId;
  const assigned = BigInt64Array.from({ length: n }, (_, i) => BigInt(firstId + i));
  await addRows(index, x, assigned);
  ids.nextId += n;
  if (ids.idSet) for (const id of assigned) ids.idSet.add(id);
  return firstId;
}

export interface Removed {
  removed: number;
  /** The index that now holds the vectors, when the remove rebuilt it (the old one is left to in-flight searches). */
  replaced?: Index;
}

/**
 * Removes `remove` where FAISS keeps ids, else hides them where FAISS can filter
 * them out, else rebuilds the index under an IDMap2 without them; answers how
 * many were there.
 */
export async function removeIds(index: AnyIndex, ids: IdState, remove: BigInt64Array): Promise<Removed> {
  if (ids.deleted.size === 0 && storesIds(index)) {
    if (!isIdMapped(index)) ids.nextId ??= index.ntotal;
    try {
      return { removed: await index.removeIds(remove) };
    } catch (e) {
      if (!(e instanceof FaissError) || e.code !== 'ERR_UNSUPPORTED') throw e;
    }
  }
  if (isBinaryIndex(index)) {
    throw new FaissError(`${index.typeName} cannot remove ids without renumbering the others; use a binary IVF index (BIVF<nlist>)`, 'ERR_UNSUPPORTED');
  }
  if (index.filterable) return { removed: await hide(index, ids, remove) };
  // Rebuilt aside and swapped in by the caller: searches meanwhile see the old index as it was.
  const next: IdState = { ...ids, deleted: new Set(ids.deleted), idSet: ids.idSet && new Set(ids.idSet), visible: null };
  const removed = await hide(index, next, remove);
  if (next.deleted.size === 0) return { removed };
  const replaced = await rebuiltWithoutDeleted(index, next);
  Object.assign(ids, next);
  return { removed, replaced };
}

// Remembers the ids present among `remove` as deleted; answers how many.
async function hide(index: Index, ids: IdState, remove: BigInt64Array): Promise<number> {
  let removed = 0;
  const rawNtotal = index.ntotal;
  const present = isIdMapped(index) ? (ids.idSet ??= new Set((await index.extractAll()).ids)) : null;
  for (const id of new Set(remove)) {
    const exists = present ? present.has(id) : id >= 0n && id < BigInt(rawNtotal);
    if (exists && !ids.deleted.has(id)) {
      ids.deleted.add(id);
      removed++;
    }
  }
  return removed;
}

/** After the index was emptied: no id is deleted or present; numbering starts again. */
export function resetIds(ids: IdState): void {
  ids.deleted.clear();
  ids.visible = null;
  if (ids.idSet) ids.idSet.clear();
  if (ids.nextId !== null) ids.nextId = 0;
}

/** The selector of the ids not deleted, or undefined when none is. */
function visibleSelector(ids: IdState): IDSelector | undefined {
  if (ids.deleted.size === 0) return undefined;
  const v = ids.visible;
  if (v && v.deleted === ids.deleted && v.size === ids.deleted.size) return v.sel;
  const sel = new IDSelectorNot(hiddenSelector(ids.deleted));
  ids.visible = { deleted: ids.deleted, size: ids.deleted.size, sel };
  return sel;
}

// What FAISS's IDSelectorBatch takes per id (native/selector.cc), against a bitmap's bit per id.
const BATCH_BYTES_PER_ID = 64;

/**
 * The deleted ids as a selector: a bitmap when every one is a small non-negative
 * id (a positional index's are below its ntotal) and that is the smaller, else a
 * batch. Either counts against the per-call memory limit when it is built, and a
 * batch of the millions of ids of a large index would pass it on every search.
 */
function hiddenSelector(deleted: Set<bigint>): IDSelector {
  let max = -1n;
  for (const id of deleted) if (id > max) max = id;
  let min = max;
  for (const id of deleted) if (id < min) min = id;
  const bitmapBytes = min >= 0n ? Number(max / 8n) + 1 : Infinity;
  if (bitmapBytes > deleted.size * BATCH_BYTES_PER_ID) return new IDSelectorBatch(BigInt64Array.from(deleted));
  const bits = new Uint8Array(bitmapBytes);
  for (const id of deleted) bits[Number(id >> 3n)] |= 1 << Number(id & 7n);
  return new IDSelectorBitmap(bits);
}

/** `params` with the caller's filter narrowed to the ids not deleted. */
function visibleParams(ids: IdState, params: SearchParams | undefined): SearchParams | undefined {
  const visible = visibleSelector(ids);
  if (!visible) return params;
  return { ...params, sel: params?.sel ? narrowedTo(params.sel, visible) : visible };
}

/** A k-NN search whose answers hold no deleted id. */
export async function searchVisible(index: AnyIndex, ids: IdState, x: Rows, k: number, params?: SearchParams): Promise<AnySearchResult> {
  return noneAsNoResult(index, await searchRows(index, x, k, visibleParams(ids, params)));
}

/** FAISS's fill of a slot with no result, for a metric where smaller is closer (FLT_MAX). */
const FLT_MAX = 3.4028234663852886e38;

/**
 * FAISS 1.7.3's k = 1 search over flat vectors with a metric where smaller is
 * closer (SingleBestResultHandler: IndexFlat, an IDMap's flat) starts each query at
 * distance +inf, label 0, and keeps them when no row is selected (every id
 * deleted, or none passing a filter): label 0 is then a row nobody asked for (a
 * deleted one, one the filter excluded; under an IDMap, its first id). FAISS's heap
 * (k > 1, inner product, every other index type) leaves such a slot label -1 at
 * FLT_MAX, and a row at +inf never enters it. The visible answer is the heap's for
 * every k, so an index whose ids are all hidden answers as the same index with them
 * removed (durable-index.ts rebuilds past a threshold: the answers
 * must not depend on it) and never with a hidden id.
 */
function noneAsNoResult(index: AnyIndex, r: AnySearchResult): AnySearchResult {
  if (isBinaryIndex(index) || index.metricType === METRIC_INNER_PRODUCT) return r;
  const { distances, labels } = r as SearchResult;
  for (let i = 0; i < distances.length; i++) {
    if (distances[i] === Infinity) {
      distances[i] = FLT_MAX;
      labels[i] = -1n;
    }
  }
  return r;
}

/** A range search whose answers hold no deleted id. */
export function rangeSearchVisible(index: AnyIndex, ids: IdState, x: Rows, radius: number, params?: SearchParams): Promise<AnyRangeSearchResult> {
  return rangeSearchRows(index, x, radius, visibleParams(ids, params));
}

/** A deleted id is not found, though FAISS still holds its vector. */
export function requireVisible(ids: IdState, id: bigint): void {
  if (ids.deleted.has(id)) throw new FaissError(`No vector with id ${id} (it was removed)`, 'ERR_NOT_FOUND');
}

/** Whether the deleted ids have passed `threshold` (a fraction of the stored vectors): time to rebuild. */
export const needsRebuild = (index: AnyIndex, ids: IdState, threshold: number): boolean => ids.deleted.size > 0 && ids.deleted.size > threshold * index.ntotal;

/**
 * A new index of the same kind holding only the visible vectors, under their same
 * ids: an index with positional ids is put under an IndexIDMap2 (and later adds
 * get the ids FAISS would have given them), so no id ever changes. Updates `ids`
 * to match the new index (nothing deleted).
 */
export async function rebuiltWithoutDeleted(old: Index, ids: IdState): Promise<Index> {
  const { ids: stored, vectors } = await old.extractAll();
  const d = old.d;
  let fresh = await deserializeIndex(await serializeIndex(old), { trusted: true });
  const keep: number[] = [];
  try {
    await fresh.reset();
    if (!isIdMapped(old)) {
      const inner = fresh;
      fresh = new IndexIDMap2(inner);
      inner.dispose();
    }
    for (let i = 0; i < stored.length; i++) if (!ids.deleted.has(stored[i])) keep.push(i);
    if (keep.length > 0) {
      const x = new Float32Array(keep.length * d);
      keep.forEach((i, j) => x.set(vectors.subarray(i * d, (i + 1) * d), j * d));
      await fresh.addWithIds(x, BigInt64Array.from(keep, (i) => stored[i]));
    }
  } catch (e) {
    // `ids` still describes `old`, which stays (a failed rebuild leaves the deleted ids hidden).
    fresh.dispose();
    throw e;
  }
  if (!isIdMapped(old)) ids.nextId ??= old.ntotal;
  ids.deleted = new Set();
  if (ids.idSet) ids.idSet = new Set(BigInt64Array.from(keep, (i) => stored[i]));
  return fresh;
}
