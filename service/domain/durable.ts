// The durable object: one state machine (an index with its id state, or a
// collection) at run time and on disk. Loaded lazily (latest snapshot + the log's
// tail: recovery), mutated one operation at a time in arrival order (the mutation
// queue), each mutation logged and flushed before it is acknowledged (group
// commit), remembered by idempotency key, snapshotted when its log grows, and
// evictable from memory at any time. What the state is and how a mutation changes
// it is the subclass's (durable-index.ts, durable-collection.ts); everything that
// makes it durable is here, once.
import type { AnyIndex } from '../../lib/any-index';
import { LogCorruptError, type LogDamage, type LogRecord, type Mutation } from '../storage/mutation-log';
import type { IndexLog, LogStore } from '../storage/storage';
import { SnapshotCorruptError, type Snapshot, type SnapshotState, type SnapshotStore } from '../storage/snapshots';
import { storageFault } from '../storage/storage-io';
import { ServiceError } from './errors';
import { fingerprintOf, keyReused } from './idempotency';
import type { Applied } from './mutations';

/** What every durable object's catalog row has: a stable storage id naming its files. */
export interface DurableRecord {
  tenant: string;
  name: string;
  id: string;
}

export interface DurableOptions {
  snapshots: SnapshotStore;
  logs: LogStore;
  /** Snapshot once the log holds this many bytes. */
  snapshotLogBytes: number;
  /** Told after every load and eviction, and after operations change the size. */
  onResident: (l: DurableObject) => void;
  onLoad: () => void;
  /** Told how long each FAISS operation took (for metrics). */
  onOperation: (operation: string, indexType: string, seconds: number) => void;
  /** Told when loading cut damage off the end of the log (operators must hear of it). */
  onLogDamage: (l: DurableObject, damage: LogDamage) => void;
}

/** What the last load of an index or collection found wrong with its files (shown to operators). */
export interface StorageReport {
  at: string;
  /** Damage cut off the end of the log at the last load (it is online). */
  logDamage?: LogDamage;
  /** Why it cannot be loaded (it answers 503 until repaired). */
  error?: { code: string; message: string };
}

/** What a snapshot of a state holds: FAISS's index, what FAISS's file cannot hold, and (a collection's) the points. */
export interface StateSnapshot {
  index: AnyIndex;
  state: Omit<SnapshotState, 'recentKeys' | 'file' | 'points'>;
  points?: Uint8Array;
}

/**
 * A mutation decided inside the queue, against the state as every mutation before
 * it left it (a collection's delete by filter: the ids the filter matches then are
 * what is logged). `key` and `fingerprint` are the request's, known before.
 */
export interface ResolvedMutation<S> {
  key?: string;
  fingerprint: string;
  resolve: (state: S) => Mutation | Promise<Mutation>;
}

type RecentMap = Map<string, { applied: Applied; durable: Promise<void>; fingerprint?: string }>;

export abstract class DurableObject<S = unknown, R extends DurableRecord = DurableRecord> {
  protected state: S | undefined;
  private loading: Promise<S> | undefined;
  private log: IndexLog | undefined;
  /** Sequence number of the last mutation applied. */
  protected seq = 0;
  private queue: Promise<unknown> = Promise.resolve();
  private active = 0;
  /**
   * Results of recent mutations by idempotency key: a retried request gets the
   * first answer, if it is the same request (its fingerprint, idempotency.ts).
   */
  private recent: RecentMap = new Map();
  lastUsed = 0;
  /** As of the last snapshot: what listing an object that is not loaded shows. */
  summary: SnapshotState['summary'];
  /** Loaded memory-mapped (read-only in FAISS): a write reloads it fully first. */
  mapped = false;
  /** Set when the object is deleted: nothing may touch its files any more. */
  dropped = false;
  /** What loading it last found wrong on disk (undefined: nothing). */
  storage: StorageReport | undefined;
  /** When the last snapshot was written by this process (undefined: none yet). */
  lastSnapshotAt: number | undefined;

  constructor(
    public record: R,
    protected readonly o: DurableOptions,
  ) {
    this.summary = o.snapshots.peekState(record.id)?.summary;
  }

  /** "index" or "collection", for messages. */
  abstract readonly what: 'index' | 'collection';
  protected abstract notFound(): ServiceError;
  /** The state of an object with no snapshot. */
  protected abstract emptyState(): S;
  /** The state a snapshot holds (its index is the subclass's from here on). */
  protected abstract restoreState(snap: Snapshot): S;
  /** Applies one logged mutation, live or in replay; `state` replaces the old one when given. */
  protected abstract applyTo(state: S, m: Mutation): Promise<{ applied: Applied; state?: S }>;
  protected abstract snapshotOf(state: S): StateSnapshot;
  protected abstract disposeState(state: S): void;
  protected abstract bytesOf(state: S): number;
  /** The FAISS index type, for the operation metrics. */
  protected abstract typeOf(state: S): string;
  /** Whether a snapshot with nothing to replay may be loaded memory-mapped. */
  protected mayMap(): boolean {
    return false;
  }
  /** After replaying the log at a load: a last change of the state (durable-index.ts rebuilds unfilterable ids). */
  protected async afterReplay(state: S): Promise<S> {
    return state;
  }
  /**
   * After a load, where the state is to live (durable-index.ts moves a GPU index's
   * onto its GPU); the state is recovered on the CPU, from CPU files, first. If it
   * throws, the recovered state is disposed and the load fails with its error.
   */
  protected async placed(state: S): Promise<S> {
    return state;
  }
  /** After a mutation is durable (durable-index.ts rebuilds past its threshold). */
  protected afterApplied(): void {}
  /** Whether a loaded state is still usable (not disposed). */
  protected isLive(state: S): boolean {
    return state !== undefined;
  }

  get loaded(): boolean {
    return this.state !== undefined;
  }
  /** The state if it is in memory (for describing the object without loading it). */
  protected get currentState(): S | undefined {
    return this.state !== undefined && this.isLive(this.state) ? this.state : undefined;
  }
  /** Whether a mutation with this idempotency key was applied (the object must be loaded). */
  hasApplied(key: string): boolean {
    return this.recent.has(key);
  }
  get busy(): boolean {
    return this.active > 0;
  }
  get residentBytes(): number {
    const state = this.currentState;
    return state === undefined ? 0 : this.bytesOf(state);
  }
  get logBytes(): number {
    return this.log?.bytes ?? 0;
  }
  /** The vectors (points) a client can see, without loading (undefined when not loaded). */
  abstract get liveNtotal(): number | undefined;
    /** Changes with every mutation (the log's sequence number); survives restarts. */
  get version(): number {
    return this.seq;
  }

  /** Runs fn with the loaded state; it stays loaded (not evicted) meanwhile. */
  async readState<T>(fn: (state: S) => Promise<T>, operation?: string): Promise<T> {
    this.active++;
    try {
      const state = await this.load();
      return operation ? await this.timed(operation, state, () => fn(state)) : await fn(state);
    } catch (e) {
      throw this.dropped ? this.notFound() : e;
    } finally {
      this.active--;
      this.lastUsed = Date.now();
    }
  }

  /** Applies a mutation in arrival order, logs it, and resolves once it is durable. */
  async mutate(m: Mutation | ResolvedMutation<S>): Promise<Applied> {
    this.active++;
    try {
      const { result, durable, log } = await this.exclusive(async () => {
        if (this.mapped) await this.loadFully();
        let state: S = await this.load();
        const log = this.log!; // load() opened it; only this queue closes it while loaded
        const seen = m.key !== undefined ? this.recent.get(m.key) : undefined;
        const fingerprint = m.key === undefined ? undefined : 'resolve' in m ? m.fingerprint : fingerprintOf(m);
        if (seen) {
          if (seen.fingerprint !== undefined && seen.fingerprint !== fingerprint) throw keyReused(m.key!, this.what);
          return { result: seen.applied, durable: seen.durable, log };
        }
        let applied: Applied;
        let mutation: Mutation;
        try {
          mutation = 'resolve' in m ? await m.resolve(state) : m;
          const done = await this.timed(mutation.type === 'collection' ? `collection_${mutation.header.op}` : mutation.type, state, () => this.applyTo(state, mutation));
          applied = done.applied;
          // Searches in flight on the old state finish on it; GC frees it after.
          if (done.state !== undefined) this.state = state = done.state;
        } catch (e) {
          throw this.dropped ? this.notFound() : e;
        }
        // Deleted while this write ran: it is not acknowledged, and its log is gone.
        if (this.dropped) throw this.notFound();
        const appended = log.append(mutation);
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

  protected async timed<T>(operation: string, state: S, fn: () => Promise<T>): Promise<T> {
    const started = process.hrtime.bigint();
    try {
      return await fn();
    } finally {
      this.o.onOperation(operation, this.typeOf(state), Number(process.hrtime.bigint() - started) / 1e9);
    }
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

  /** Counts as in use (not evicted) while fn runs alone. */
  protected exclusiveInUse<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    return this.exclusive(fn).finally(() => this.active--);
  }

  /** The loaded state, inside exclusive(). */
  protected async loadedState(): Promise<S> {
    await this.load();
    if (this.mapped) await this.loadFully();
    return this.state!;
  }

  /**
   * Replaces the state wholesale (an import, or a new object's first state). The
   * new state is written under `next.id`, a storage id no file has yet, and made
   * durable (snapshot and an empty log); then `commit` switches the catalog to
   * it in one transaction; then the old files go. A crash before the switch
   * leaves the old object whole and the new files orphans; after it, the new one
   * (orphans.ts removes what is left either way).
   */
  replaceState(state: S, next: R, commit: () => void): Promise<void> {
    return this.exclusive(async () => {
      if (this.dropped) throw this.notFound();
      const previous = this.record;
      // Loaded for its version (a replacement must not reuse one); a damaged object is replaced all the same.
      const old = this.o.snapshots.latestSeq(previous.id) > 0 ? await this.load().catch(() => undefined) : this.state;
      const seq = Math.max(this.seq, this.o.snapshots.latestSeq(previous.id)) + 1;
      const log = await this.o.logs.create(next.id, seq);
      const snap = this.snapshotOf(state);
      try {
        await this.o.snapshots.save(next.id, snap.index, seq, { ...snap.state, recentKeys: [] }, snap.points);
        commit();
      } catch (e) {
        await log.close().catch(() => undefined);
        if (next.id !== previous.id) await this.removeFiles(next.id).catch(() => undefined);
        throw e;
      }
      const oldLog = this.log;
      this.record = next;
      this.state = state;
      this.loading = undefined;
      this.log = log;
      this.seq = seq;
      this.recent = new Map();
      this.mapped = false;
      this.storage = undefined;
      this.summary = snap.state.summary;
      this.lastSnapshotAt = Date.now();
      if (old !== undefined && old !== state) this.disposeState(old);
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

  /** Takes a snapshot now if anything was logged since the last one. */
  snapshot(): Promise<void> {
    return this.exclusive(async () => {
      if (this.state !== undefined && this.logBytes > 0) await this.snapshotNow();
    });
  }

  /** Frees the memory; the next use loads it back. Snapshots first if the log is long. */
  evict(): Promise<boolean> {
    return this.exclusive(async () => {
      if (this.state === undefined || this.active > 0) return false;
      if (this.logBytes > 0) await this.snapshotNow();
      await this.log?.close();
      this.log = undefined;
      this.disposeState(this.state);
      this.state = undefined;
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
        if (this.state !== undefined) this.disposeState(this.state);
        this.state = undefined;
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
    if (this.state !== undefined) this.disposeState(this.state);
    this.state = undefined;
    void this.log?.close().catch(() => undefined);
    this.log = undefined;
  }

  protected load(): Promise<S> {
    if (this.dropped) return Promise.reject(this.notFound());
    if (this.state !== undefined) return Promise.resolve(this.state);
    this.loading ??= this.recover().then((s) => this.placedOrClosed(s)).then(
      (state) => {
        this.state = state;
        this.o.onLoad();
        this.o.onResident(this);
        return state;
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

  private async placedOrClosed(state: S): Promise<S> {
    try {
      return await this.placed(state);
    } catch (e) {
      this.disposeState(state);
      await this.log?.close().catch(() => undefined);
      this.log = undefined;
      throw e;
    }
  }

  /** Replaces a memory-mapped state with one read into memory (before a write). */
  private async loadFully(): Promise<void> {
    const mapped = this.state;
    await this.log?.close();
    this.log = undefined;
    this.state = undefined;
    this.loading = undefined;
    this.state = await this.recover(false);
    this.mapped = false;
    if (mapped !== undefined) this.disposeState(mapped);
  }

  private corrupt(why: string): ServiceError {
    const What = this.what[0].toUpperCase() + this.what.slice(1);
    return new ServiceError('ERR_STORAGE_CORRUPT', `${What} ${this.record.name} cannot be loaded: ${why}`);
  }

  /**
   * Latest snapshot, then every log record after it. A state with nothing to
   * replay is mapped rather than read where the subclass allows (`allowMmap`).
   */
  private async recover(allowMmap = true): Promise<S> {
    const { record, o } = this;
    const snapshotSeq = o.snapshots.latestSeq(record.id);
    const corrupt = (e: Error) => this.corrupt(`${e.message}. See faiss-proxy check / repair (docs/operations.md)`);
    let opened: { records: LogRecord[]; log: IndexLog; damage?: LogDamage };
    try {
      opened = await o.logs.open(record.id, snapshotSeq);
    } catch (e) {
      if (e instanceof LogCorruptError) throw corrupt(e);
      throw storageFault('log.open', undefined, e);
    }
    const mmap = allowMmap && this.mayMap() && snapshotSeq > 0 && !opened.records.some((r) => r.seq > snapshotSeq);
    let snap: Snapshot | undefined;
    try {
      snap = await o.snapshots.load(record.id, { mmap });
    } catch (e) {
      await opened.log.close();
      if (e instanceof SnapshotCorruptError) throw corrupt(e);
      throw storageFault('snapshot.load', undefined, e);
    }
    this.mapped = mmap && snap !== undefined;
    let state: S;
    try {
      // No snapshot: an empty state of the recorded kind. A new import has neither
      // (its factory reads "imported ..."); the log opened above must not leak.
      state = snap ? this.restoreState(snap) : this.emptyState();
    } catch (e) {
      await opened.log.close();
      (snap?.index as { dispose?: () => void } | undefined)?.dispose?.();
      // Only an imported index has a factory FAISS cannot build, and it always has a snapshot: it is gone.
      throw corrupt(new Error(snap ? `its snapshot cannot be read (${(e as Error).message})` : `its snapshot is missing (${(e as Error).message})`));
    }
    this.seq = snap?.seq ?? 0;
    this.recent = new Map();
    for (const [key, removed, firstId, added, fingerprint] of snap?.state.recentKeys ?? []) {
      this.remember(key, { added: added ?? 0, removed, firstId }, Promise.resolve(), fingerprint ?? undefined); // JSON keeps a missing one as null
    }
    try {
      for (const r of opened.records) {
        if (r.seq <= this.seq) continue; // already in the snapshot
        const done = await this.applyTo(state, r.mutation);
        if (done.state !== undefined) {
          this.disposeState(state);
          state = done.state;
        }
        if (r.mutation.key !== undefined) this.remember(r.mutation.key, done.applied, Promise.resolve(), fingerprintOf(r.mutation));
        this.seq = r.seq;
      }
      state = await this.afterReplay(state);
    } catch (e) {
      this.disposeState(state);
      await opened.log.close();
      throw this.corrupt(`replaying its log failed (${(e as Error).message})`);
    }
    this.log = opened.log;
    this.storage = opened.damage && { at: new Date().toISOString(), logDamage: opened.damage };
    if (opened.damage) o.onLogDamage(this, opened.damage);
    return state;
  }

  /** Saves the state as of `seq`, then empties the log (every record in it is in the snapshot). */
  protected async snapshotNow(): Promise<void> {
    if (this.state === undefined || this.dropped) return;
    await this.log?.drain();
    // Already saved at this version (the log's trim failed after it): only the trim is left to do.
    if (this.o.snapshots.latestSeq(this.record.id) !== this.seq) {
      const snap = this.snapshotOf(this.state);
      const recentKeys = [...this.recent].map(
        ([key, { applied, fingerprint }]) => [key, applied.removed, applied.firstId, applied.added, fingerprint] as [string, number, number | null, number, string?],
      );
      await this.o.snapshots.save(this.record.id, snap.index, this.seq, { ...snap.state, recentKeys }, snap.points);
      this.summary = snap.state.summary;
    }
    this.lastSnapshotAt = Date.now();
    await this.log?.truncate();
  }

  /** Takes a sequence number for a change only the next snapshot records (a rebuild). */
  protected advance(): void {
    if (this.log) this.seq = this.log.advance();
  }

  private afterMutation(): void {
    if (this.dropped || this.state === undefined) return;
    if (this.logBytes > this.o.snapshotLogBytes) void this.snapshot().catch((e) => console.error(`faiss-proxy: snapshot of ${this.record.name} failed:`, e));
    this.afterApplied();
  }
}
