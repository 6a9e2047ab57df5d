// One collection in memory: its FAISS index, its points (string id ↔ label,
// payloads) and its payload indexes, changed only by `apply(op)`. The same ops
// applied to the same state give the same labels and the same answers, so the
// embedded collections and the service use this one class live and when they
// replay their logs at recovery.
//
// Any FAISS factory string works: an index that does not take ids itself (flat,
// HNSW, PQ, ...) is put under an IndexIDMap2, and what each type can do about a
// removed label is the id policy's (lib/id-policy.ts): FAISS removes it where
// it keeps ids, hides it from every search where it cannot, and the index is
// rebuilt without hidden labels once they pass `rebuildThreshold` of it.
//
// Mutations take the state's write lock and searches and reads its read lock
// (rw-lock.ts): FAISS is changed and the point maps follow only while no search
// runs, and the maps change synchronously after FAISS's calls succeed, so a
// failed op leaves the state as it was.
import { METRIC_INNER_PRODUCT, METRIC_L2 } from '../constants';
import { FaissError } from '../errors';
import { isObject } from '../is';
import type { Index } from '../faiss-index';
import { addVectors, emptyIdState, isIdMapped, needsRebuild, rebuiltWithoutDeleted, removeIds, searchVisible, type IdState } from '../id-policy';
import { IndexIDMap2, indexFactory } from '../indexes';
import { kArg } from '../limits';
import { buildInfo } from '../threads';
import type { IDSelector } from '../selectors';
import type { SearchParams } from '../types';
import type { ParsedFilter } from './filter';
import { payloadFieldArg, payloadFieldTypeArg, specInput, type ValidReadOptions, type ValidSpec } from './input';
import { defaultCollectionLimits, type CollectionLimits } from './limits';
import { PayloadIndexes, type ColumnAnswer } from './payload-index';
import { columnSearched, overFetchOf, planSearch, selectorOf, type IndexFamily, type SearchKnobs } from './planner';
import { compareIds, PointStore, type StoredPoint } from './points';
import { decodePoints, encodePoints } from './points-file';
import { ReadWriteLock } from './rw-lock';
import type { LabelBitmap } from './label-bitmap';
import { toInt64 } from './sorted-labels';
import type { CollectionInfo, CollectionSpec, Hit, Payload, PayloadFieldType, Point } from './types';

/** A change to a collection, as the embedded collections and the service log it. */
export type CollectionOp =
  | { type: 'upsert'; ids: string[]; x: Float32Array; payloads: (Payload | null)[] }
  /** Delete by filter is resolved to ids before it is logged. */
  | { type: 'delete'; ids: string[] }
  | { type: 'train'; x: Float32Array }
  | { type: 'createPayloadIndex'; field: string; schema: PayloadFieldType }
  | { type: 'deletePayloadIndex'; field: string };

export interface Applied {
  upserted?: number;
  deleted?: number;
}

export interface StateSearchOptions extends ValidReadOptions {
  filter?: ParsedFilter;
  nprobe?: number;
  efSearch?: number;
}

export interface StateScrollOptions extends ValidReadOptions {
  filter?: ParsedFilter;
  limit: number;
  offset: string | null;
}

export interface CollectionStateOptions {
  /** Rebuild the index once hidden (removed) labels pass this fraction of its vectors (the service's --rebuild-threshold). */
  rebuildThreshold?: number;
}

const DEFAULT_REBUILD_THRESHOLD = 0.1;
/**
 * Filters whose matching labels (and selector) are kept until the next op: a filter repeated across searches is
 * evaluated once more than that. The least recently searched goes first, so that one searched again and again stays
 * kept among a stream of filters searched once.
 */
const FILTER_CACHE_ENTRIES = 32;
/** At most this many bytes of bitmaps held by the kept answers together, the oldest dropped first. */
const FILTER_CACHE_BYTES = 16 * 2 ** 20;
/**
 * The last filters searched and not kept: one of them searched again soon is evaluated and kept (a filter repeated
 * across searches). One searched once is not kept: its answer, kept among the others, made each new filter's
 * evaluation cost more (the bitmaps it leaves for the garbage collector to move and free later): a 1% filter's cold
 * HNSW search, 429 µs kept against 336 µs not (bench:collections, 1% cold, eleventh session). A filter the over-fetch
 * answers without evaluating it (planner.ts OVER_FETCH_IVF_EVALUATED_AT) is evaluated only once it is repeated too.
 */
const FILTERS_SEEN = 16;

interface FilterAnswer {
  matching: LabelBitmap;
  selector?: IDSelector;
  /** The labels as Index.searchSubset takes them. */
  subset?: BigInt64Array;
}

// The instruction set FAISS was built for: what the planner's exact search over a subset costs (planner.ts).
const FAISS_ISA = buildInfo().isa;

// Indexes whose searchSubset refused their type (ERR_UNSUPPORTED): planned with a selector from then on.
const noSubsetSearch = new WeakSet<Index>();

export class CollectionState {
  private current: Index;
  private readonly spec: ValidSpec;
  private readonly points: PointStore;
  private readonly payloadIndexes: PayloadIndexes;
  private readonly ids: IdState;
  private readonly lock = new ReadWriteLock();
  private readonly rebuildThreshold: number;
  private filterCache = new Map<string, FilterAnswer>();
  private filtersSeen = new Set<string>();
  private directMapped = false;
  private disposed = false;

  private constructor(spec: ValidSpec, index: Index, points: PointStore, ids: IdState, readonly limits: CollectionLimits, o: CollectionStateOptions) {
    this.spec = spec;
    this.current = index;
    this.points = points;
    this.payloadIndexes = new PayloadIndexes(points);
    this.ids = ids;
    this.rebuildThreshold = o.rebuildThreshold ?? DEFAULT_REBUILD_THRESHOLD;
  }

  /** A new, empty collection: builds its index from the spec's factory string and metric. */
  static create(spec: CollectionSpec, limits: CollectionLimits = defaultCollectionLimits(), o: CollectionStateOptions = {}): CollectionState {
    const valid = specInput(spec);
    const state = new CollectionState(valid, buildIndex(valid), new PointStore(), emptyIdState(), limits, o);
    for (const [field, type] of Object.entries(valid.payloadIndexes)) state.payloadIndexes.declare(field, type);
    return state;
  }

  /**
   * A collection from a snapshot: its index (as serializeIndex wrote `state.index`)
   * and its points (as serializePoints wrote them at the same time). Takes
   * ownership of `index`. Mismatched or damaged points are ERR_CORRUPT_INDEX.
   */
  static restore(spec: CollectionSpec, index: Index, points: Uint8Array, limits: CollectionLimits = defaultCollectionLimits(), o: CollectionStateOptions = {}): CollectionState {
    const valid = specInput(spec);
    const decoded = decodePoints(points);
    const store = new PointStore();
    try {
      for (const p of decoded.points) store.restorePoint(p);
      store.advanceTo(decoded.nextLabel);
    } catch (e) {
      throw new FaissError(`The collection's points cannot be read: ${(e as Error).message}`, 'ERR_CORRUPT_INDEX');
    }
    const ids = emptyIdState();
    for (const label of decoded.hidden) ids.deleted.add(BigInt(label));
    if (index.ntotal !== store.size + decoded.hidden.length) {
      throw new FaissError(
        `The collection's points do not match its index: ${store.size} points and ${decoded.hidden.length} hidden labels, but the index holds ${index.ntotal} vectors`,
        'ERR_CORRUPT_INDEX',
      );
    }
    if (index.d !== valid.dimension) throw new FaissError(`The collection's index has dimension ${index.d}, its spec ${valid.dimension}`, 'ERR_CORRUPT_INDEX');
    if (ids.deleted.size > 0 && isIdMapped(index)) {
      // What FAISS holds, so the id policy need not extract every vector to learn it.
      ids.idSet = new Set(ids.deleted);
      for (const p of store.values()) ids.idSet.add(BigInt(p.label));
    }
    const state = new CollectionState(valid, index, store, ids, limits, o);
    for (const [field, type] of decoded.payloadIndexes) state.payloadIndexes.declare(field, type);
    return state;
  }

  /** The FAISS index holding the vectors (for serializeIndex / writeIndex); replaced when a rebuild happens. */
  get index(): Index {
    this.live();
    return this.current;
  }

  /** Bytes of the payloads' JSON (quotas count them). */
  get payloadBytes(): number {
    return this.points.payloadBytes;
  }

  info(): CollectionInfo {
    this.live();
    return {
      name: this.spec.name,
      dimension: this.spec.dimension,
      factory: this.spec.factory,
      metric: this.spec.metric,
      count: this.points.size,
      isTrained: this.current.isTrained,
      payloadIndexes: this.payloadIndexes.schema(),
    };
  }

  /** Applies one op, all or nothing; ops are applied one at a time, after the searches in flight. */
  apply(op: CollectionOp): Promise<Applied> {
    this.live();
    return this.lock.write(async () => {
      this.live();
      const applied = await this.applyNow(op);
      this.filterCache = new Map();
      this.filtersSeen = new Set();
      return applied;
    });
  }

  private async applyNow(op: CollectionOp): Promise<Applied> {
    switch (op.type) {
      case 'upsert':
        return { upserted: await this.upsert(op.ids, op.x, op.payloads) };
      case 'delete':
        return { deleted: await this.delete(op.ids) };
      case 'train':
        await this.train(op.x);
        return {};
      case 'createPayloadIndex':
        this.payloadIndexes.declare(payloadFieldArg(op.field), payloadFieldTypeArg(op.schema));
        return {};
      case 'deletePayloadIndex':
        if (!this.payloadIndexes.drop(payloadFieldArg(op.field))) throw new FaissError(`No payload index on ${JSON.stringify(op.field)}`, 'ERR_NOT_FOUND');
        return {};
      default:
        throw new FaissError(`Unknown collection op ${JSON.stringify((op as { type?: unknown }).type)}`, 'ERR_INVALID_ARGUMENT');
    }
  }

  private async train(x: Float32Array): Promise<void> {
    const d = this.spec.dimension;
    if (!(x instanceof Float32Array) || x.length === 0 || x.length % d !== 0) {
      throw new FaissError(`train: expected a non-empty multiple of ${d} floats (the collection's dimension)`, 'ERR_DIMENSION');
    }
    if (this.current.ntotal > 0) throw new FaissError('train: the collection holds points; train it before the first upsert', 'ERR_INVALID_ARGUMENT');
    await this.current.train(x);
  }

  private async upsert(givenIds: string[], givenX: Float32Array, givenPayloads: (Payload | null)[]): Promise<number> {
    const d = this.spec.dimension;
    if (!Array.isArray(givenIds) || !Array.isArray(givenPayloads) || givenPayloads.length !== givenIds.length) {
      throw new FaissError('upsert: expected as many payloads as ids', 'ERR_INVALID_ARGUMENT');
    }
    if (!(givenX instanceof Float32Array) || givenX.length !== givenIds.length * d) {
      throw new FaissError(`upsert: expected ${givenIds.length} vectors of dimension ${d}`, 'ERR_DIMENSION');
    }
    const { ids, x, payloads: given } = lastOfEachId(givenIds, givenX, givenPayloads, d);
    const n = ids.length;
    if (n === 0) return 0;
    if (!this.current.isTrained) {
      throw new FaissError(`The collection's index (${this.spec.factory}) must be trained before points are upserted: call train() first`, 'ERR_NOT_TRAINED');
    }
    // Copies: what becomes of the caller's objects later does not change the points.
    const copies = given.map(payloadCopy);
    await this.ensureDirectMap();
    const first = this.points.nextLabel;
    const labels = BigInt64Array.from({ length: n }, (_, i) => BigInt(first + i));
    await addVectors(this.current, this.ids, x, n, labels);
    const replaced = ids.map((id) => this.points.byIdOf(id)).filter((p): p is StoredPoint => p !== undefined);
    if (replaced.length > 0) {
      try {
        await this.removeLabels(replaced.map((p) => p.label));
      } catch (e) {
        // The new vectors go again, so the op leaves nothing behind.
        await removeIds(this.current, this.ids, labels).catch(() => undefined);
        throw e;
      }
    }
    for (let i = 0; i < n; i++) {
      const { stored, replaced: old } = this.points.put(ids[i], copies[i].payload, copies[i].bytes);
      if (old) this.payloadIndexes.remove(old.label, old.payload);
      this.payloadIndexes.insert(stored.label, stored.payload);
    }
    await this.rebuildIfDue();
    return n;
  }

  private async delete(ids: string[]): Promise<number> {
    if (!Array.isArray(ids)) throw new FaissError('delete: expected an array of ids', 'ERR_INVALID_ARGUMENT');
    const gone = [...new Set(ids)].map((id) => this.points.byIdOf(id)).filter((p): p is StoredPoint => p !== undefined);
    if (gone.length === 0) return 0;
    await this.removeLabels(gone.map((p) => p.label));
    for (const p of gone) {
      this.points.remove(p.id);
      this.payloadIndexes.remove(p.label, p.payload);
    }
    await this.rebuildIfDue();
    return gone.length;
  }

  // Through the id policy: removed where FAISS keeps ids, hidden where it cannot, rebuilt where it cannot filter.
  private async removeLabels(labels: number[]): Promise<void> {
    const { replaced } = await removeIds(this.current, this.ids, toInt64(labels));
    if (replaced) this.swapIndex(replaced);
  }

  // After the op took effect: a rebuild that fails (memory) leaves the hidden labels hidden, the op stands, the next op tries again.
  private async rebuildIfDue(): Promise<void> {
    if (!needsRebuild(this.current, this.ids, this.rebuildThreshold)) return;
    try {
      this.swapIndex(await rebuiltWithoutDeleted(this.current, this.ids));
    } catch (e) {
      console.error(`faiss-proxy: rebuilding collection ${this.spec.name} without its removed vectors failed:`, e);
    }
  }

  private swapIndex(next: Index): void {
    const old = this.current;
    this.current = next;
    this.directMapped = false;
    // Calls in flight on the old index complete (Index.dispose); none are searches (the write lock).
    old.dispose();
  }

  // IVF indexes reconstruct a vector (get / search withVector) only through a direct map; a hash table keeps remove working.
  private async ensureDirectMap(): Promise<void> {
    if (this.directMapped || this.current.nprobe === undefined || isIdMapped(this.current)) return;
    try {
      await this.current.makeDirectMap('hashtable');
    } catch (e) {
      // An IVF under a transform or a refinement: FAISS cannot reconstruct through those; vectors are then not readable.
      if (!(e instanceof FaissError) || e.code !== 'ERR_UNSUPPORTED') throw e;
    }
    this.directMapped = true;
  }

  /** The kept answer of a filter, now the most recently used. */
  private keptAnswer(text: string): FilterAnswer | undefined {
    const answer = this.filterCache.get(text);
    if (answer) {
      this.filterCache.delete(text);
      this.filterCache.set(text, answer);
    }
    return answer;
  }

  /** The labels of the points that pass `filter`, kept until the next op when `keep`. */
  private answerOf(filter: ParsedFilter, keep = true): FilterAnswer {
    let answer = this.keptAnswer(filter.text);
    if (!answer) {
      answer = { matching: this.payloadIndexes.evaluate(filter) };
      if (!keep) return answer;
      const bytes = (a: FilterAnswer) => a.matching.words.byteLength;
      let held = bytes(answer);
      for (const a of this.filterCache.values()) held += bytes(a);
      for (const [text, a] of this.filterCache) {
        if (this.filterCache.size < FILTER_CACHE_ENTRIES && held <= FILTER_CACHE_BYTES) break;
        this.filterCache.delete(text);
        held -= bytes(a);
      }
      if (bytes(answer) <= FILTER_CACHE_BYTES) this.filterCache.set(filter.text, answer);
    }
    return answer;
  }

  /** The ids of the points that pass the filter, oldest upsert first (delete by filter resolves to these before it is logged). */
  matchingIds(filter: ParsedFilter): string[] {
    this.live();
    const out: string[] = [];
    this.answerOf(filter).matching.forEach((label) => out.push((this.points.byLabelOf(label) as StoredPoint).id));
    return out;
  }

  count(filter?: ParsedFilter): number {
    this.live();
    return filter ? this.answerOf(filter).matching.count : this.points.size;
  }

  /** The k nearest points to each of the n queries in x (n * d floats) that pass the filter: k hits whenever k pass. */
  search(x: Float32Array, n: number, k: number, o: StateSearchOptions): Promise<Hit[][]> {
    this.live();
    kArg(k);
    if (!(x instanceof Float32Array) || n < 1 || x.length !== n * this.spec.dimension) {
      throw new FaissError(`search: expected ${n} vectors of dimension ${this.spec.dimension}`, 'ERR_DIMENSION');
    }
    return this.lock.read(async () => {
      this.live();
      const knobs: SearchKnobs = { nprobe: o.nprobe, efSearch: o.efSearch };
      const found = o.filter ? await this.searchFiltered(x, n, k, o.filter, knobs) : await this.searchAll(x, k, knobs);
      return Promise.all(found.map((hits) => this.pointsOf(hits, o)));
    });
  }

  private async searchAll(x: Float32Array, k: number, knobs: SearchKnobs): Promise<Found[][]> {
    const { distances, labels } = await searchVisible(this.current, this.ids, x, k, paramsOf(knobs));
    return foundOf(distances as Float32Array, labels, k);
  }

  // The planner's over-fetch first (planner.ts): the unfiltered search, its hits kept when they pass; the
  // queries it leaves short of k through the evaluated filter.
  private async searchFiltered(x: Float32Array, n: number, k: number, filter: ParsedFilter, knobs: SearchKnobs): Promise<Found[][]> {
    const total = this.points.size;
    const known = this.keptAnswer(filter.text);
    // A filter searched lately and not kept is evaluated and kept this time (FILTERS_SEEN).
    const repeated = !known && this.searchedLately(filter.text);
    const family = familyOf(this.current);
    // A filter one payload column answers is counted exactly, its labels tested against the column, and searched
    // without being evaluated unless it is repeated.
    const column = known ? undefined : this.payloadIndexes.lazily(filter);
    const fresh = repeated ? undefined : column;
    const share = known ? known.matching.count / Math.max(1, total) : column ? column.count / Math.max(1, total) : this.payloadIndexes.estimateShare(filter);
    const efSearch = knobs.efSearch ?? this.current.efSearch;
    const fetch = overFetchOf({ share, total, k, family, efSearch, evaluated: known !== undefined });
    if (fetch === undefined) return this.searchEvaluated(x, n, k, filter, knobs, fresh, repeated);
    // Over-fetched only for not being evaluated (planner.ts): a repeated filter is evaluated and kept, as its kept
    // answer then serves it more cheaply.
    if (repeated && overFetchOf({ share, total, k, family, efSearch, evaluated: true }) === undefined) return this.searchEvaluated(x, n, k, filter, knobs, undefined, true);
    const passes = known ? (label: number) => known.matching.has(label) : column ? column.passes : (label: number) => this.payloadIndexes.passes(filter, label);
    const { distances, labels } = await searchVisible(this.current, this.ids, x, fetch, paramsOf(knobs));
    const found = foundOf(distances as Float32Array, labels, fetch).map((hits) => {
      const kept: Found[] = [];
      for (let i = 0; i < hits.length && kept.length < k; i++) if (passes(hits[i].label)) kept.push(hits[i]);
      return kept;
    });
    const short = found.flatMap((hits, q) => (hits.length < k ? [q] : []));
    if (short.length === 0) return found;
    const d = this.spec.dimension;
    const rest = new Float32Array(short.length * d);
    short.forEach((q, j) => rest.set(x.subarray(q * d, (q + 1) * d), j * d));
    const answers = await this.searchEvaluated(rest, short.length, k, filter, knobs, fresh, repeated);
    short.forEach((q, j) => (found[q] = answers[j]));
    return found;
  }

  // Whether a filter not kept was searched lately (FILTERS_SEEN); marks it searched.
  private searchedLately(text: string): boolean {
    if (this.filtersSeen.delete(text)) return true;
    this.filtersSeen.add(text);
    if (this.filtersSeen.size > FILTERS_SEEN) this.filtersSeen.delete(this.filtersSeen.values().next().value as string);
    return false;
  }

  // The planner's strategy for as many points as pass the filter. With `column` (PayloadIndexes.lazily: one payload
  // column answers the filter), a selector search tests the labels as the search meets them where that costs less
  // than evaluating the filter first and building its selector (planner.ts columnSearched). Otherwise the filter is
  // evaluated to its matching labels, which are kept for the next searches when `keep`.
  private async searchEvaluated(x: Float32Array, n: number, k: number, filter: ParsedFilter, knobs: SearchKnobs, column: ColumnAnswer | undefined, keep: boolean): Promise<Found[][]> {
    const index = this.current;
    const planOf = (matching: number) =>
      planSearch({
        matching,
        total: this.points.size,
        family: familyOf(index),
        filterable: index.filterable,
        subsetSearchable: !noSubsetSearch.has(index),
        isa: FAISS_ISA,
        k,
        nprobe: knobs.nprobe ?? index.nprobe,
        efSearch: knobs.efSearch ?? index.efSearch,
      });
    if (column) {
      const plan = planOf(column.count);
      if (plan.strategy === 'empty') return Array.from({ length: n }, () => []);
      if (plan.strategy === 'selector' && columnSearched({ family: familyOf(index), plan, matching: column.count, total: this.points.size, nlist: index.native().nlist })) {
        const { distances, labels } = await searchVisible(index, this.ids, x, k, { ...paramsOf(plan.knobs), sel: column.selector() });
        return foundOf(distances as Float32Array, labels, k);
      }
    }
    const answer = this.answerOf(filter, keep);
    const plan = planOf(answer.matching.count);
    if (plan.strategy === 'empty') return Array.from({ length: n }, () => []);
    if (plan.strategy === 'subset') {
      answer.subset ??= toInt64(answer.matching.labels());
      try {
        const { distances, labels } = await index.searchSubset(x, k, answer.subset);
        return foundOf(distances as Float32Array, labels, k);
      } catch (e) {
        if (!(e instanceof FaissError && e.code === 'ERR_UNSUPPORTED')) throw e;
        noSubsetSearch.add(index);
        return this.searchEvaluated(x, n, k, filter, knobs, column, keep);
      }
    }
    if (plan.strategy === 'selector') {
      answer.selector ??= selectorOf(answer.matching);
      const { distances, labels } = await searchVisible(index, this.ids, x, k, { ...paramsOf(plan.knobs), sel: answer.selector });
      return foundOf(distances as Float32Array, labels, k);
    }
    // An index FAISS cannot filter: more neighbours until k of each query's match, or every vector was asked for.
    const total = index.ntotal;
    for (let fetch = plan.fetch; ; fetch = Math.min(total, fetch * 2)) {
      const { distances, labels } = await searchVisible(index, this.ids, x, fetch, paramsOf(plan.knobs));
      const found = foundOf(distances as Float32Array, labels, fetch).map((hits) => hits.filter((h) => answer.matching.has(h.label)).slice(0, k));
      if (fetch >= total || found.every((hits) => hits.length >= Math.min(k, answer.matching.count))) return found;
    }
  }

  private async pointsOf(found: Found[], o: ValidReadOptions): Promise<Hit[]> {
    const hits: Hit[] = [];
    for (const { label, score } of found) {
      const p = this.points.byLabelOf(label);
      if (!p) continue; // cannot happen under the lock; a label is never reused
      hits.push({ ...(await this.pointOf(p, o)), score });
    }
    return hits;
  }

  private async pointOf(p: StoredPoint, o: ValidReadOptions): Promise<Point> {
    const out: Point = { id: p.id };
    if (o.withPayload) out.payload = p.payload === null ? null : structuredClone(p.payload);
    if (o.withVector) out.vector = await this.current.reconstruct(BigInt(p.label));
    return out;
  }

  /** The points of these ids that exist, in the order asked. */
  get(ids: readonly string[], o: ValidReadOptions = { withPayload: true, withVector: false }): Promise<Point[]> {
    this.live();
    return this.lock.read(async () => {
      const out: Point[] = [];
      for (const id of ids) {
        const p = this.points.byIdOf(id);
        if (p) out.push(await this.pointOf(p, o));
      }
      return out;
    });
  }

  /** A page of points in id order from `offset` (inclusive), and the id the next page starts at. */
  scroll(o: StateScrollOptions): Promise<{ points: Point[]; nextOffset: string | null }> {
    this.live();
    return this.lock.read(async () => {
      const matching = o.filter ? this.answerOf(o.filter).matching : undefined;
      const ids = this.points.idsInOrder();
      const page: StoredPoint[] = [];
      let nextOffset: string | null = null;
      for (let i = o.offset === null ? 0 : lowerBound(ids, o.offset); i < ids.length; i++) {
        const p = this.points.byIdOf(ids[i]) as StoredPoint;
        if (matching && !matching.has(p.label)) continue;
        if (page.length === o.limit) {
          nextOffset = p.id;
          break;
        }
        page.push(p);
      }
      const points: Point[] = [];
      for (const p of page) points.push(await this.pointOf(p, o));
      return { points, nextOffset };
    });
  }

  /** The points, their labels, the hidden labels and the payload indexes, versioned (points-file.ts); restore() reads it. */
  serializePoints(): Uint8Array {
    this.live();
    return encodePoints({
      nextLabel: this.points.nextLabel,
      payloadIndexes: Object.entries(this.payloadIndexes.schema()),
      hidden: [...this.ids.deleted].map(Number).sort((a, b) => a - b),
      points: [...this.points.values()],
    });
  }

  /** The index's bytes and the points' bytes of one moment (no op between them): a snapshot. */
  snapshot(serialize: (index: Index) => Promise<Uint8Array>): Promise<{ index: Uint8Array; points: Uint8Array }> {
    this.live();
    return this.lock.read(async () => ({ points: this.serializePoints(), index: await serialize(this.current) }));
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.current.dispose();
  }

  private live(): void {
    if (this.disposed) throw new FaissError('This collection has been closed; it cannot be used any more', 'ERR_DISPOSED');
  }
}

interface Found {
  label: number;
  score: number;
}

function foundOf(distances: Float32Array, labels: BigInt64Array, k: number): Found[][] {
  const out: Found[][] = [];
  for (let q = 0; q < labels.length / k; q++) {
    const hits: Found[] = [];
    for (let j = q * k; j < (q + 1) * k; j++) if (labels[j] >= 0n) hits.push({ label: Number(labels[j]), score: distances[j] });
    out.push(hits);
  }
  return out;
}

const paramsOf = (k: SearchKnobs): SearchParams => ({
  ...(k.nprobe !== undefined ? { nprobe: k.nprobe } : {}),
  ...(k.efSearch !== undefined ? { efSearch: k.efSearch } : {}),
});

/** IVF (nprobe, through an IDMap2 or a transform too), HNSW (efSearch), or an index that compares with every vector. */
export function familyOf(index: Index): IndexFamily {
  if (index.nprobe !== undefined) return 'ivf';
  if (index.efSearch !== undefined) return 'hnsw';
  return 'exhaustive';
}

// An IVF index stores the ids it is given; a refinement over one (IndexRefine) does not.
const takesIds = (index: Index, factory: string): boolean => isIdMapped(index) || (index.nprobe !== undefined && !/Refine|RFlat/.test(factory + index.typeName));

function buildIndex(spec: ValidSpec): Index {
  const built = indexFactory(spec.dimension, spec.factory, spec.metric === 'ip' ? METRIC_INNER_PRODUCT : METRIC_L2);
  if (takesIds(built, spec.factory)) return built;
  const mapped = new IndexIDMap2(built);
  built.dispose();
  return mapped;
}

function payloadCopy(p: Payload | null, i: number): { payload: Payload | null; bytes: number } {
  if (p === null) return { payload: null, bytes: 0 };
  if (!isObject(p)) throw new FaissError(`upsert: payloads[${i}] is not an object`, 'ERR_INVALID_ARGUMENT');
  const json = JSON.stringify(p);
  return { payload: JSON.parse(json) as Payload, bytes: Buffer.byteLength(json) };
}

// The last occurrence of each id, in the order of the last occurrences (as pointsInput keeps them).
function lastOfEachId(ids: string[], x: Float32Array, payloads: (Payload | null)[], d: number): { ids: string[]; x: Float32Array; payloads: (Payload | null)[] } {
  const last = new Map<string, number>();
  ids.forEach((id, i) => {
    if (typeof id !== 'string') throw new FaissError(`upsert: ids[${i}] is not a string`, 'ERR_INVALID_ARGUMENT');
    last.set(id, i);
  });
  if (last.size === ids.length) return { ids, x, payloads };
  const keep = ids.map((_, i) => i).filter((i) => last.get(ids[i]) === i);
  const kept = new Float32Array(keep.length * d);
  keep.forEach((i, j) => kept.set(x.subarray(i * d, (i + 1) * d), j * d));
  return { ids: keep.map((i) => ids[i]), x: kept, payloads: keep.map((i) => payloads[i]) };
}

function lowerBound(ids: readonly string[], id: string): number {
  let lo = 0;
  let hi = ids.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareIds(ids[mid], id) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
