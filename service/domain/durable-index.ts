// The durable index: one FAISS index and its id state (lib/id-policy.ts) as a durable
// object (durable.ts: log, snapshots, recovery, mutation queue, idempotency,
// eviction). Its answers and ids follow the id policy; it may load memory-mapped,
// and rebuilds deleted ids away past a threshold, as part of the mutation that
// crosses it.
import { randomUUID } from 'node:crypto';
import { FaissError, METRIC_L2, deserializeIndex, deserializeIndexBinary, serializeIndex, serializeIndexBinary, type BinarySearchResult, type SearchParams } from '../../lib';
import { buildIndex, isBinaryFactory, isBinaryIndex, type AnyIndex, type AnyRangeSearchResult, type AnySearchResult, type Rows } from '../../lib/any-index';
import type { IndexRecord } from '../storage/catalog';
import type { Mutation } from '../storage/mutation-log';
import type { Snapshot } from '../storage/snapshots';
import { ServiceError } from './errors';
import { DurableObject, type DurableOptions, type StateSnapshot } from './durable';
import { emptyIdState, needsRebuild, rangeSearchVisible, rebuiltWithoutDeleted, requireVisible, searchVisible, visibleCount, type IdState } from '../../lib/id-policy';
import { applyMutation, type Applied } from './mutations';
import { fingerprintOf } from './idempotency';
import { selectedIds, type RemoveSelected } from './selected-ids';
import type { SearchAnswer, SearchTarget } from './search-scheduler';
import { gpuNumber, type GpuPlacement } from './gpu-placement';

export type { StorageReport } from './durable';

export interface DurableIndexOptions extends DurableOptions {
  /** Rebuild once hidden (deleted) ids exceed this fraction of the stored vectors. */
  rebuildThreshold: number;
  /** Moves an index onto the GPU its record names (serve --gpu); none: every index on the CPU. */
  placement?: GpuPlacement;
}

/** How long a shard keeps its rows sorted for the next page of a gather (sharded-indexes.ts). */
const GATHER_KEEP_MS = 30_000;

/** An index's state: the FAISS index and the ids it hides (id-policy.ts). */
interface IndexState {
  index: AnyIndex;
  ids: IdState;
}

export class DurableIndex extends DurableObject<IndexState, IndexRecord> implements SearchTarget {
  readonly what = 'index';
  /** The GPU the loaded index is on; undefined: the CPU, or not loaded. */
  private onGpu: number | undefined;
  /** A sharded index's export reading this shard: its rows sorted by id, as of `seq` (sortedRows). */
  private gathered: { index: AnyIndex; seq: number; ids: BigInt64Array; vectors: Float32Array } | undefined;
  private gatheredTimer: NodeJS.Timeout | undefined;
  /** A sharded index's export reading this shard's own file: its bytes by token, kept between pages (exportPage). */
  private readonly exported = new Map<string, { bytes: Buffer; timer: NodeJS.Timeout | undefined }>();

  constructor(
    record: IndexRecord,
    protected readonly o: DurableIndexOptions,
  ) {
    super(record, o);
  }

  /** The dimension of its vectors. */
  get d(): number {
    return this.record.dimension;
  }
  /** Whether concurrent searches gain from one FAISS call (the loaded index's type says); undefined while not loaded. */
  get batchable(): boolean | undefined {
    const index = this.current;
    return index && (isBinaryIndex(index) ? false : index.batchable);
  }
  /** The GPU the loaded index is on (serve --gpu); undefined on the CPU or when not loaded. */
  get placedOn(): number | undefined {
    return this.currentState ? this.onGpu : undefined;
  }
  /** Where the catalog says it lives when loaded: "cpu" or "gpu:<n>". */
  get device(): string {
    return this.record.device ?? 'cpu';
  }
  /** The index if it is in memory (for describing it without loading it). */
  get current(): AnyIndex | undefined {
    return this.currentState?.index;
  }
  /** Vectors FAISS still holds under deleted ids (lib/id-policy.ts). */
  get hidden(): number {
    return this.state?.ids.deleted.size ?? 0;
  }

  /** Runs fn with the loaded index; the index stays loaded (not evicted) meanwhile. */
  read<T>(fn: (index: AnyIndex) => Promise<T>, operation?: string): Promise<T> {
    return this.readState((s) => fn(s.index), operation);
  }

  /**
   * A remove by filter: in its turn among the mutations, the remove of the ids it
   * selects then (selected-ids.ts); the log holds those ids, with the request's
   * fingerprint.
   */
  removeSelected(request: RemoveSelected): Promise<Applied> {
    const fingerprint = fingerprintOf(request);
    const key = request.key;
    return this.mutate({
      ...(key !== undefined && { key }),
      fingerprint,
      resolve: async (s) => ({ type: 'remove', ids: await selectedIds(s.index, s.ids, request.sel), fingerprint, ...(key !== undefined && { key }) }),
    });
  }

  /** The vectors a client can see (loads the index). */
  async ntotal(): Promise<number> {
    return this.readState(async (s) => visibleCount(s.index, s.ids));
  }

  /** The vectors a client can see, without loading (undefined when not loaded). */
  get liveNtotal(): number | undefined {
    const s = this.currentState;
    return s && visibleCount(s.index, s.ids);
  }

  /** A float index's search (the search scheduler's). */
  search(x: Float32Array, k: number, params?: SearchParams): Promise<SearchAnswer> {
    return this.searchRows(x, k, params) as Promise<SearchAnswer>;
  }

  /** A binary index's search: Hamming distances. */
  searchCodes(x: Uint8Array, k: number, params?: SearchParams): Promise<BinarySearchResult & { version: number }> {
    return this.searchRows(x, k, params) as Promise<BinarySearchResult & { version: number }>;
  }

  private searchRows(x: Rows, k: number, params?: SearchParams): Promise<AnySearchResult & { version: number }> {
    return this.readState(async (s) => {
      const version = this.seq; // the answer reflects at least this version
      return { ...(await searchVisible(s.index, s.ids, x, k, params)), version };
    }, 'search');
  }

  rangeSearch(x: Rows, radius: number, params?: SearchParams): Promise<AnyRangeSearchResult> {
    return this.readState((s) => rangeSearchVisible(s.index, s.ids, x, radius, params), 'range_search');
  }

  /** The stored vector (float index) or code (binary index) of `id`. */
  reconstruct(id: bigint): Promise<Rows> {
    return this.readState(async (s) => {
      requireVisible(s.ids, id);
      try {
        return await s.index.reconstruct(id);
      } catch (e) {
        // IVF indexes find a vector by id only through a direct map: build one
        // (a hashtable, which also works for caller ids) the first time it is needed.
        if (!(e instanceof FaissError && e.code === 'ERR_UNSUPPORTED' && s.index.nprobe !== undefined) || isBinaryIndex(s.index)) throw e;
        const current = await this.exclusive(async () => {
          const loaded = (await this.loadedState()).index; // a mapped index cannot change: read fully first
          if (!isBinaryIndex(loaded)) await loaded.makeDirectMap('hashtable');
          return loaded;
        });
        return current.reconstruct(id);
      }
    }, 'reconstruct');
  }

  /**
   * Up to `count` visible vectors with their ids, in id order, the first after
   * id `after` (undefined: from the smallest): one page of a sharded index's
   * export (sharded-indexes.ts gather). Float indexes that can reconstruct only.
   */
  rowsAfter(after: bigint | undefined, count: number): Promise<{ ids: BigInt64Array; vectors: Float32Array }> {
    return this.readState(async (s) => {
      const rows = await this.sortedRows(s);
      const d = s.index.d;
      // The first row past `after`: a binary search of the sorted ids.
      let lo = 0;
      for (let hi = rows.ids.length; after !== undefined && lo < hi; ) {
        const mid = (lo + hi) >>> 1;
        if (rows.ids[mid] <= after) lo = mid + 1;
        else hi = mid;
      }
      const end = Math.min(rows.ids.length, lo + count);
      return { ids: rows.ids.slice(lo, end), vectors: rows.vectors.slice(lo * d, end * d) };
    }, 'export');
  }

  /**
   * The visible rows sorted by id, kept for the pages that follow (a gather reads
   * a shard page after page: one extraction, not one a page) while the index is
   * at the same version, for up to GATHER_KEEP_MS.
   */
  private async sortedRows(s: IndexState): Promise<{ ids: BigInt64Array; vectors: Float32Array }> {
    const kept = this.gathered;
    if (kept && kept.index === s.index && kept.seq === this.seq) return kept;
    if (isBinaryIndex(s.index)) throw new ServiceError('ERR_UNSUPPORTED', `${s.index.typeName} holds binary codes: its rows are not gathered`);
    const { ids, vectors } = await s.index.extractAll();
    const d = s.index.d;
    const order = [...ids.keys()].filter((i) => !s.ids.deleted.has(ids[i])).sort((a, b) => (ids[a] < ids[b] ? -1 : ids[a] > ids[b] ? 1 : 0));
    const sorted = new Float32Array(order.length * d);
    order.forEach((i, j) => sorted.set(vectors.subarray(i * d, (i + 1) * d), j * d));
    const rows = { index: s.index, seq: this.seq, ids: BigInt64Array.from(order, (i) => ids[i]), vectors: sorted };
    this.gathered = rows;
    clearTimeout(this.gatheredTimer);
    this.gatheredTimer = setTimeout(() => (this.gathered = undefined), GATHER_KEEP_MS).unref();
    return rows;
  }

  /**
   * Up to `count` bytes from `at` of this shard's export (export()): one page of
   * a sharded index's export of its shards' own files (sharded-indexes.ts
   * shardFiles). The first page (no `token`) serializes the index and keeps the
   * bytes under a new token, for the pages that follow (one serialization, so
   * every page is of the same state) until GATHER_KEEP_MS after the last page
   * read; a token no longer kept is ERR_INVALID_ARGUMENT (the reader starts over).
   */
  async exportPage(token: string | undefined, at: number, count: number): Promise<{ token: string; total: number; bytes: Uint8Array }> {
    let kept = token === undefined ? undefined : this.exported.get(token);
    if (token !== undefined && !kept) throw new ServiceError('ERR_INVALID_ARGUMENT', `Export ${token} of ${this.record.name} is no longer kept: start over`);
    if (!kept) {
      token = randomUUID();
      kept = { bytes: await this.export(), timer: undefined };
      this.exported.set(token, kept);
    }
    clearTimeout(kept.timer);
    const forget = token!;
    kept.timer = setTimeout(() => this.exported.delete(forget), GATHER_KEEP_MS).unref();
    if (!Number.isSafeInteger(at) || at < 0 || !Number.isSafeInteger(count) || count < 1) throw new ServiceError('ERR_INVALID_ARGUMENT', `No export page at ${at} of ${count} bytes`);
    const end = Math.min(kept.bytes.length, at + count);
    // The last page read: the bytes are not kept any longer.
    if (end === kept.bytes.length) {
      clearTimeout(kept.timer);
      this.exported.delete(forget);
    }
    return { token: forget, total: kept.bytes.length, bytes: kept.bytes.subarray(Math.min(at, end), end) };
  }

  /**
   * FAISS's bytes of the index as every acknowledged write left it: with deleted
   * ids, of a copy rebuilt without them (the loaded index stays as the log made
   * it: a replica's state changes only by the log, durable-index.ts applyTo).
   */
  export(): Promise<Buffer> {
    return this.exclusiveInUse(async () => {
      // A mapped index would serialize as a reference to its snapshot file.
      const { index, ids } = await this.loadedState();
      if (isBinaryIndex(index)) return serializeIndexBinary(index);
      if (ids.deleted.size === 0) return serializeIndex(index);
      const copy = await rebuiltWithoutDeleted(index, { ...ids, deleted: new Set(ids.deleted), idSet: ids.idSet && new Set(ids.idSet), visible: null });
      try {
        return await serializeIndex(copy);
      } finally {
        copy.dispose();
      }
    });
  }

  /**
   * Replaces the index wholesale (an import, or a new index's first state), with
   * no deleted ids (durable.ts replaceState: new files first, then the catalog).
   */
  async replace(index: AnyIndex, next: IndexRecord, commit: () => void, imported = false): Promise<void> {
    // A cluster's import reaches the other replicas as FAISS's bytes (durable.ts importReplicated).
    const file = imported && this.o.replication ? await (isBinaryIndex(index) ? serializeIndexBinary(index) : serializeIndex(index)) : undefined;
    const placed = await this.onDevice(index, next);
    try {
      await this.replaceState({ index: placed, ids: emptyIdState() }, next, commit, file);
    } catch (e) {
      if (placed !== index) placed.dispose();
      throw e;
    }
  }

  /** Moves the loaded state onto its GPU, if its record names one (gpu-placement.ts). */
  protected async placed(s: IndexState): Promise<IndexState> {
    return { index: await this.onDevice(s.index, this.record), ids: s.ids };
  }

  /** `index` on the device `record` names (the CPU one disposed once it is copied), noting which. */
  private async onDevice(index: AnyIndex, record: IndexRecord): Promise<AnyIndex> {
    const placed = this.o.placement ? await this.o.placement.place(index, record.device, `index ${record.tenant}/${record.name}`) : index;
    this.onGpu = placed === index ? undefined : gpuNumber(record.device);
    return placed;
  }

  protected notFound(): ServiceError {
    return new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(this.record.name)}`);
  }

  protected emptyState(): IndexState {
    const { record } = this;
    // A cluster's imported index before its log's first record, the import, replaces it: an empty flat index stands in (never seen).
    const imported = record.factory.startsWith('imported ');
    const index = imported
      ? buildIndex(record.dimension, isBinaryFactory(record.factory) ? 'BFlat' : 'Flat', METRIC_L2)
      : buildIndex(record.dimension, record.factory, record.metric);
    // A cluster's replica builds a new index from its record: with the parameters it was created with.
    const p = record.params;
    try {
      if (p?.nprobe !== undefined) index.nprobe = p.nprobe;
      if (p?.efSearch !== undefined) index.efSearch = p.efSearch;
      if (p?.efConstruction !== undefined) index.efConstruction = p.efConstruction;
    } catch (e) {
      index.dispose();
      throw e;
    }
    return { index, ids: emptyIdState() };
  }

  protected restoreState(snap: Snapshot): IndexState {
    const ids: IdState = {
      deleted: new Set((snap.state.tombstones ?? []).map(BigInt)),
      nextId: snap.state.nextId ?? null,
      idSet: null,
      visible: null,
    };
    return { index: snap.index, ids };
  }

  /** A cluster's import record: the file was checked in the sandbox by the node that took it, and is these bytes (its digest says so). */
  protected async importedState(file: Uint8Array): Promise<{ applied: Applied; state: IndexState }> {
    const binary = file.length >= 2 && file[0] === 0x49 && file[1] === 0x42; // "IB": a binary index's type tag
    const index: AnyIndex = binary ? await deserializeIndexBinary(file, { trusted: true }) : await deserializeIndex(file, { trusted: true });
    return { applied: { added: 0, removed: 0, firstId: null }, state: { index, ids: emptyIdState() } };
  }

  /**
   * One record, live or replayed, on a single node or a cluster's replica. A
   * record that leaves the deleted ids past --rebuild-threshold rebuilds the
   * index without them, as part of it: the point is decided by the log alone
   * (never by timing or by this node's memory), so every replica, and a node
   * replaying from any snapshot, rebuilds after the same record, and a cluster's
   * node adds to a graph on one thread (server.ts setGraphAddThreads), so the
   * rebuilt graph is the same everywhere. Shipping one node's rebuilt graph
   * through the object store instead would keep all cores on the rebuild but
   * hold every other replica's log at that record until the file arrived, and
   * would make one node's failure everyone's; the rebuild's cost on one thread
   * is in bench/RESULTS.md (rebuild threads). A rebuild that fails (the
   * per-call memory limit) leaves the ids hidden and the record applied; the
   * next record tries again.
   */
  protected async applyTo(s: IndexState, m: Mutation): Promise<{ applied: Applied; state?: IndexState }> {
    const { replaced, ...applied } = await applyMutation(s.index, s.ids, m);
    const index = replaced ?? s.index;
    const rebuilt = await this.rebuiltIfDue(index, s.ids);
    // A replaced index no search has seen is freed at once; the state's own, when searches may be on it, by the caller.
    if (rebuilt && replaced) replaced.dispose();
    const next = rebuilt ?? replaced;
    return next ? { applied, state: { index: next, ids: s.ids } } : { applied };
  }

  /** The index rebuilt without its deleted ids, if they are past the threshold (undefined: not due, or it failed). */
  private async rebuiltIfDue(index: AnyIndex, ids: IdState): Promise<AnyIndex | undefined> {
    // Binary indexes hide no ids (lib/id-policy.ts): nothing to rebuild away.
    if (isBinaryIndex(index) || !needsRebuild(index, ids, this.o.rebuildThreshold)) return undefined;
    try {
      return await rebuiltWithoutDeleted(index, ids);
    } catch (e) {
      console.error(`faiss-proxy: rebuilding ${this.record.name} without its deleted ids failed (they stay hidden; the next write tries again):`, e);
      return undefined;
    }
  }

  protected snapshotOf(s: IndexState): StateSnapshot {
    const { index, ids } = s;
    return {
      index,
      state: {
        tombstones: [...ids.deleted].map(String),
        nextId: ids.nextId,
        summary: { type: index.typeName, ntotal: visibleCount(index, ids), bytes: index.bytes, isTrained: index.isTrained },
      },
    };
  }

  protected disposeState(s: IndexState): void {
    s.index.dispose();
  }

  protected bytesOf(s: IndexState): number {
    return s.index.bytes;
  }

  protected typeOf(s: IndexState): string {
    return s.index.typeName;
  }

  protected isLive(s: IndexState): boolean {
    return !s.index.disposed;
  }

  protected mayMap(): boolean {
    return this.record.mmap;
  }

  /**
   * Deleted ids FAISS cannot filter out of this index's searches (a snapshot
   * from before searches were filtered): rebuilt away now, as a remove would.
   */
  protected async afterReplay(s: IndexState): Promise<IndexState> {
    if (s.ids.deleted.size > 0 && !isBinaryIndex(s.index) && !s.index.filterable) {
      const rebuilt = await rebuiltWithoutDeleted(s.index, s.ids);
      s.index.dispose();
      return { index: rebuilt, ids: s.ids };
    }
    return s;
  }
}
