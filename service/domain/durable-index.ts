// The durable index: one index at run time and on disk. Loaded lazily (latest
// snapshot + the log's tail: recovery), mutated one operation at a time in
// arrival order (the mutation queue), each mutation logged and flushed before it
// is acknowledged, snapshotted when its log grows, and evictable from memory at
// any time. Its answers and ids follow the id policy (lib/id-policy.ts).
import { FaissError, serializeIndex, serializeIndexBinary, type BinarySearchResult, type SearchParams } from '../../lib';
import { buildIndex, isBinaryIndex, type AnyIndex, type AnyRangeSearchResult, type AnySearchResult, type Rows } from '../../lib/any-index';
import type { IndexRecord } from '../storage/catalog';
import { LogCorruptError, type LogDamage, type Mutation } from '../storage/mutation-log';
import type { IndexLog, LogStore } from '../storage/storage';
import { SnapshotCorruptError, type SnapshotState, type SnapshotStore } from '../storage/snapshots';
import { storageFault } from '../storage/storage-io';
import { ServiceError } from './errors';
import { fingerprintOf, keyReused } from './idempotency';
import { emptyIdState, needsRebuild, rangeSearchVisible, rebuiltWithoutDeleted, requireVisible, searchVisible, visibleCount, type IdState } from '../../lib/id-policy';
import { applyMutation, type Applied } from './mutations';
import type { SearchAnswer, SearchTarget } from './search-scheduler';

export interface DurableIndexOptions {
  snapshots: SnapshotStore;
  logs: LogStore;
  /** Snapshot once the log holds this many bytes. */
  snapshotLogBytes: number;
  /** Rebuild once hidden (deleted) ids exceed this fraction of the stored vectors. */
  rebuildThreshold: number;
  /** Told after every load and eviction, and after operations change the size. */
  onResident: (l: DurableIndex) => void;
  onLoad: () => void;
  /** Told how long each FAISS operation took (for metrics). */
  onOperation: (operation: string, indexType: string, seconds: number) => void;
  /** Told when loading cut damage off the end of the log (operators must hear of it). */
  onLogDamage: (l: DurableIndex, damage: LogDamage) => void;
}

/** What the last load of an index found wrong with its files (shown to operators). */
export interface StorageReport {
  at: string;
  /** Damage cut off the end of the log at the last load (the index is online). */
  logDamage?: LogDamage;
  /** Why the index cannot be loaded (it answers 503 until repaired). */
  error?: { code: string; message: string };
}

export class DurableIndex implements SearchTarget {
  private index: AnyIndex | undefined;
  private loading: Promise<AnyIndex> | undefined;
  private log: IndexLog | undefined;
  private ids: IdState = emptyIdState();
  /** Sequence number of the last mutation applied. */
  private seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private active = 0;
  private rebuilding = false;
  /**
   * Results of recent mutations by idempotency key: a retried request gets the
   * first answer, if it is the same request (its fingerprint, idempotency.ts).
   */
  private recent = new Map<string, { applied: Applied; durable: Promise<void>; fingerprint?: string }>();
  lastUsed = 0;
  /** As of the last snapshot: what listing an index that is not loaded shows. */
  summary: SnapshotState['summary'];
  /** Loaded memory-mapped (read-only in FAISS): a write reloads it fully first. */
  mapped = false;
  /** Set when the index is deleted: nothing may touch its files any more. */
  dropped = false;
  /** What loading it last found wrong on disk (undefined: nothing). */
  storage: StorageReport | undefined;

  constructor(
    public record: IndexRecord,
    private readonly o: DurableIndexOptions,
  ) {
    this.summary = o.snapshots.peekState(record.id)?.summary;
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
  get loaded(): boolean {
    return this.index !== undefined;
  }
  /** The index if it is in memory (for describing it without loading it). */
  get current(): AnyIndex | undefined {
    return this.index && !this.index.disposed ? this.index : undefined;
  }
  /** Whether a mutation with this idempotency key was applied (the index must be loaded). */
  hasApplied(key: string): boolean {
    return this.recent.has(key);
  }
  get busy(): boolean {
    return this.active > 0;
  }
  get residentBytes(): number {
    return this.index && !this.index.disposed ? this.index.bytes : 0;
  }
  get logBytes(): number {
    return this.log?.bytes ?? 0;
  }
  /** Vectors FAISS still holds under deleted ids (lib/id-policy.ts). */
  get hidden(): number {
    return this.ids.deleted.size;
  }

  /** Runs fn with the loaded index; the index stays loaded (not evicted) meanwhile. */
  async read<T>(fn: (index: AnyIndex) => Promise<T>, operation?: string): Promise<T> {
    this.active++;
    try {
      const index = await this.load();
      return operation ? await this.timed(operation, index, () => fn(index)) : await fn(index);
    } catch (e) {
      throw this.dropped ? this.notFound() : e;
    } finally {
      this.active--;
      this.lastUsed = Date.now();
    }
  }

  /** Applies a mutation in arrival order, logs it, and resolves once it is durable. */
  async mutate(m: Mutation): Promise<Applied> {
    this.active++;
    try {
      const { result, durable, log } = await this.exclusive(async () => {
        if (this.mapped) await this.loadFully();
        const index = await this.load();
        const log = this.log!; // load() opened it; only this queue closes it while loaded
        const seen = m.key !== undefined ? this.recent.get(m.key) : undefined;
        const fingerprint = m.key !== undefined ? fingerprintOf(m) : undefined;
        if (seen) {
          if (seen.fingerprint !== undefined && seen.fingerprint !== fingerprint) throw keyReused(m.key!);
          return { result: seen.applied, durable: seen.durable, log };
        }
        let applied: Applied;
        try {
          const { replaced, ...result } = await this.timed(m.type, index, () => applyMutation(index, this.ids, m));
          applied = result;
          // Searches in flight on the old index finish on it; GC frees it after.
          if (replaced) this.index = replaced;
        } catch (e) {
          throw this.dropped ? this.notFound() : e;
        }
        // Deleted while this write ran: it is not acknowledged, and its log is gone.
        if (this.dropped) throw this.notFound();
        const appended = log.append(m);
        this.seq = appended.seq;
        if (m.key !== undefined) this.remember(m.key, applied, appended.durable, fingerprint);
        return { result: applied, durable: appended.durable, log };
      });
      try {
        await durable;
      } catch (e) {
        // Applied in memory but not on disk: forget the memory (in turn with the
        // other writes, so none of them is half way through), reload from disk.
        await this.exclusive(async () => {
          if (this.log === log) this.unload();
        });
        if (this.dropped) throw this.notFound();
        throw storageFault('log.append', undefined, e);
      }
      this.afterMutation();
      return result;
    } finally {
      this.active--;
      this.lastUsed = Date.now();
      this.o.onResident(this);
    }
  }

  private async timed<T>(operation: string, index: AnyIndex, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.o.onOperation(operation, index.typeName, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** When the last snapshot was written by this process (undefined: none yet). */
  lastSnapshotAt: number | undefined;

  /** Changes with every mutation (the log's sequence number); survives restarts. */
  get version(): number {
    return this.seq;
  }

  private remember(key: string, applied: Applied, durable: Promise<void>, fingerprint: string | undefined): void {
    this.recent.set(key, { applied, durable, fingerprint });
    // Keep the last 10,000 keys: enough for any client's retry window.
    if (this.recent.size > 10_000) this.recent.delete(this.recent.keys().next().value!);
  }

  /** Runs fn alone (no mutation in between), e.g. for a consistent export. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The vectors a client can see (loads the index). */
  async ntotal(): Promise<number> {
    return this.read(async (index) => visibleCount(index, this.ids));
  }

  /** The vectors a client can see, without loading (undefined when not loaded). */
  get liveNtotal(): number | undefined {
    return this.index && !this.index.disposed ? visibleCount(this.index, this.ids) : undefined;
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
    return this.read(async (index) => {
      const version = this.seq; // the answer reflects at least this version
      return { ...(await searchVisible(index, this.ids, x, k, params)), version };
    }, 'search');
  }

  rangeSearch(x: Rows, radius: number, params?: SearchParams): Promise<AnyRangeSearchResult> {
    return this.read((index) => rangeSearchVisible(index, this.ids, x, radius, params), 'range_search');
  }

  /** The stored vector (float index) or code (binary index) of `id`. */
  reconstruct(id: bigint): Promise<Rows> {
    return this.read(async (index) => {
      requireVisible(this.ids, id);
      try {
        return await index.reconstruct(id);
      } catch (e) {
        // IVF indexes find a vector by id only through a direct map: build one
        // (a hashtable, which also works for caller ids) the first time it is needed.
        if (!(e instanceof FaissError && e.code === 'ERR_UNSUPPORTED' && index.nprobe !== undefined) || isBinaryIndex(index)) throw e;
        const current = await this.exclusive(async () => {
          if (this.mapped) await this.loadFully(); // a mapped index cannot change
          const loaded = this.index!;
          if (!isBinaryIndex(loaded)) await loaded.makeDirectMap('hashtable');
          return loaded;
        });
        return current.reconstruct(id);
      }
    }, 'reconstruct');
  }

  /** FAISS's bytes of the index as every acknowledged write left it (deleted ids rebuilt away first). */
  export(): Promise<Buffer> {
    this.active++;
    return this.exclusive(async () => {
      await this.load();
      // A mapped index would serialize as a reference to its snapshot file.
      if (this.mapped) await this.loadFully();
      if (this.ids.deleted.size > 0) await this.rebuildNow();
      const index = this.index!;
      return isBinaryIndex(index) ? serializeIndexBinary(index) : serializeIndex(index);
    }).finally(() => this.active--);
  }

  /**
   * Replaces the index wholesale (an import, or a new index's first state). The
   * new index is written under `next.id`, a storage id no file has yet, and made
   * durable (snapshot and an empty log); then `commit` switches the catalog to
   * it in one transaction; then the old files go. A crash before the switch
   * leaves the old index whole and the new files orphans; after it, the new one
   * (orphans.ts removes what is left either way).
   */
  replace(index: AnyIndex, next: IndexRecord, commit: () => void): Promise<void> {
    return this.exclusive(async () => {
      if (this.dropped) throw this.notFound();
      const previous = this.record;
      // Loaded for its version (a replacement must not reuse one); a damaged index is replaced all the same.
      const old = this.o.snapshots.latestSeq(previous.id) > 0 ? await this.load().catch(() => undefined) : this.index;
      const seq = Math.max(this.seq, this.o.snapshots.latestSeq(previous.id)) + 1;
      const ids = emptyIdState();
      const log = await this.o.logs.create(next.id, seq);
      try {
        await this.o.snapshots.save(next.id, index, seq, this.stateOf(index, ids, new Map()));
        commit();
      } catch (e) {
        await log.close().catch(() => undefined);
        if (next.id !== previous.id) await this.removeFiles(next.id).catch(() => undefined);
        throw e;
      }
      const oldLog = this.log;
      this.record = next;
      this.index = index;
      this.loading = undefined;
      this.log = log;
      this.seq = seq;
      this.ids = ids;
      this.recent = new Map();
      this.mapped = false;
      this.storage = undefined;
      this.summary = this.stateOf(index, ids, this.recent).summary;
      this.lastSnapshotAt = Date.now();
      if (old && old !== index) old.dispose();
      await oldLog?.close().catch(() => undefined);
      if (next.id !== previous.id) {
        await this.removeFiles(previous.id).catch((e) => console.error(`faiss-proxy: removing the replaced files of ${next.name} failed (removed at next start):`, e));
      }
      this.o.onResident(this);
    });
  }

  /** Removes every file of storage id `id` (its log, then its snapshots). */
  async removeFiles(id: string): Promise<void> {
    await this.o.logs.remove(id);
    await this.o.snapshots.remove(id);
  }

  private notFound(): ServiceError {
    return new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(this.record.name)}`);
  }

  /** Takes a snapshot now if anything was logged since the last one. */
  snapshot(): Promise<void> {
    return this.exclusive(async () => {
      if (this.index && this.logBytes > 0) await this.snapshotNow();
    });
  }

  /** Frees the memory; the next use loads it back. Snapshots first if the log is long. */
  evict(): Promise<boolean> {
    return this.exclusive(async () => {
      if (!this.index || this.active > 0) return false;
      if (this.logBytes > 0) await this.snapshotNow();
      await this.log?.close();
      this.log = undefined;
      this.index.dispose();
      this.index = undefined;
      this.loading = undefined;
      this.o.onResident(this);
      return true;
    });
  }

  /** Saves what is unsaved, frees everything (shutdown). */
  async close(): Promise<void> {
    try {
      await this.snapshot();
    } finally {
      // Saved or not (the log still holds what a failed snapshot missed), the files are closed.
      await this.exclusive(async () => {
        await this.log?.close();
        this.log = undefined;
        this.index?.dispose();
        this.index = undefined;
      });
    }
  }

  /** Deletion: frees memory; in-flight native calls finish on their own. */
  drop(): void {
    this.dropped = true;
    this.unload();
  }

  private unload(): void {
    this.loading = undefined;
    this.index?.dispose();
    this.index = undefined;
    void this.log?.close().catch(() => undefined);
    this.log = undefined;
  }

  private load(): Promise<AnyIndex> {
    if (this.dropped) return Promise.reject(this.notFound());
    if (this.index) return Promise.resolve(this.index);
    this.loading ??= this.recover().then(
      (index) => {
        this.index = index;
        this.o.onLoad();
        this.o.onResident(this);
        return index;
      },
      (e) => {
        this.loading = undefined;
        if (e instanceof ServiceError && e.code === 'ERR_STORAGE_CORRUPT') {
          this.storage = { at: new Date().toISOString(), error: { code: e.code, message: e.message } };
        }
        throw e;
      },
    );
    return this.loading;
  }

  /** Replaces a memory-mapped index with one read into memory (before a write). */
  private async loadFully(): Promise<void> {
    const mapped = this.index;
    await this.log?.close();
    this.log = undefined;
    this.index = undefined;
    this.loading = undefined;
    this.index = await this.recover(false);
    this.mapped = false;
    mapped?.dispose();
  }

  /**
   * Latest snapshot, then every log record after it. An mmap index with nothing
   * to replay is mapped rather than read (`allowMmap`).
   */
  private async recover(allowMmap = true): Promise<AnyIndex> {
    const { record, o } = this;
    const snapshotSeq = o.snapshots.latestSeq(record.id);
    const corrupt = (e: Error) =>
      new ServiceError('ERR_STORAGE_CORRUPT', `Index ${record.name} cannot be loaded: ${e.message}. See faiss-proxy check / repair (docs/operations.md)`);
    let opened;
    try {
      opened = await o.logs.open(record.id, snapshotSeq);
    } catch (e) {
      if (e instanceof LogCorruptError) throw corrupt(e);
      throw storageFault('log.open', undefined, e);
    }
    const mmap = allowMmap && record.mmap && snapshotSeq > 0 && !opened.records.some((r) => r.seq > snapshotSeq);
    let snap;
    try {
      snap = await o.snapshots.load(record.id, { mmap });
    } catch (e) {
      await opened.log.close();
      if (e instanceof SnapshotCorruptError) throw corrupt(e);
      throw storageFault('snapshot.load', undefined, e);
    }
    this.mapped = mmap && snap !== undefined;
    let index: AnyIndex;
    try {
      // No snapshot: an empty index of the recorded kind. A new import has neither
      // (its factory reads "imported ..."); the log opened above must not leak.
      index = snap?.index ?? buildIndex(record.dimension, record.factory, record.metric);
    } catch (e) {
      await opened.log.close();
      // Only an imported index has a factory FAISS cannot build, and it always has a snapshot: it is gone.
      throw corrupt(new Error(`its snapshot is missing (${(e as Error).message})`));
    }
    this.ids = {
      deleted: new Set((snap?.state.tombstones ?? []).map(BigInt)),
      nextId: snap?.state.nextId ?? null,
      idSet: null,
      visible: null,
    };
    this.seq = snap?.seq ?? 0;
    this.recent = new Map();
    for (const [key, removed, firstId, added, fingerprint] of snap?.state.recentKeys ?? []) {
      this.remember(key, { added: added ?? 0, removed, firstId }, Promise.resolve(), fingerprint ?? undefined); // JSON keeps a missing one as null
    }
    try {
      for (const r of opened.records) {
        if (r.seq <= this.seq) continue; // already in the snapshot
        const { replaced, ...applied } = await applyMutation(index, this.ids, r.mutation);
        if (replaced) {
          index.dispose();
          index = replaced;
        }
        if (r.mutation.key !== undefined) this.remember(r.mutation.key, applied, Promise.resolve(), fingerprintOf(r.mutation));
        this.seq = r.seq;
      }
      // Deleted ids FAISS cannot filter out of this index's searches (a snapshot
      // from before searches were filtered): rebuilt away now, as a remove would.
      if (this.ids.deleted.size > 0 && !isBinaryIndex(index) && !index.filterable) {
        const rebuilt = await rebuiltWithoutDeleted(index, this.ids);
        index.dispose();
        index = rebuilt;
      }
    } catch (e) {
      index.dispose();
      await opened.log.close();
      throw new ServiceError('ERR_STORAGE_CORRUPT', `Index ${record.name} cannot be loaded: replaying its log failed (${(e as Error).message})`);
    }
    this.log = opened.log;
    this.storage = opened.damage && { at: new Date().toISOString(), logDamage: opened.damage };
    if (opened.damage) o.onLogDamage(this, opened.damage);
    return index;
  }

  private stateOf(index: AnyIndex, ids: IdState, recent: DurableIndex['recent']): SnapshotState {
    return {
      tombstones: [...ids.deleted].map(String),
      nextId: ids.nextId,
      recentKeys: [...recent].map(
        ([key, { applied, fingerprint }]) => [key, applied.removed, applied.firstId, applied.added, fingerprint] as [string, number, number | null, number, string?],
      ),
      summary: { type: index.typeName, ntotal: visibleCount(index, ids), bytes: index.bytes, isTrained: index.isTrained },
    };
  }

  /** Saves the index as of `seq`, then empties the log (every record in it is in the snapshot). */
  private async snapshotNow(): Promise<void> {
    if (!this.index || this.dropped) return;
    await this.log?.drain();
    const index = this.index;
    // Already saved at this version (the log's trim failed after it): only the trim is left to do.
    if (this.o.snapshots.latestSeq(this.record.id) !== this.seq) {
      const state = this.stateOf(index, this.ids, this.recent);
      await this.o.snapshots.save(this.record.id, index, this.seq, state);
      this.summary = state.summary;
    }
    this.lastSnapshotAt = Date.now();
    await this.log?.truncate();
  }

  private afterMutation(): void {
    if (this.dropped || !this.index) return;
    if (this.logBytes > this.o.snapshotLogBytes) void this.snapshot().catch((e) => console.error(`faiss-proxy: snapshot of ${this.record.name} failed:`, e));
    if (!this.rebuilding && needsRebuild(this.index, this.ids, this.o.rebuildThreshold)) {
      this.rebuilding = true;
      void this.exclusive(() => this.rebuildNow())
        .catch((e) => console.error(`faiss-proxy: rebuild of ${this.record.name} failed:`, e))
        .finally(() => (this.rebuilding = false));
    }
  }

  /** Swaps in a rebuilt index (call inside exclusive()). */
  private async rebuildNow(): Promise<void> {
    const old = this.index;
    // Binary indexes hide no ids (lib/id-policy.ts): nothing to rebuild away.
    if (!old || isBinaryIndex(old) || this.dropped || this.ids.deleted.size === 0) return;
    // Searches in flight on the old index finish on it; GC frees it after.
    this.index = await rebuiltWithoutDeleted(old, this.ids);
    // A new version for the rebuilt index, so its snapshot never overwrites the state of the one on disk.
    if (this.log) this.seq = this.log.advance();
    await this.snapshotNow();
    this.o.onResident(this);
  }
}
