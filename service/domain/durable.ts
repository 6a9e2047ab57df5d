// The durable object: one state machine (an index with its id state, or a
// collection) at run time and on disk. Loaded lazily (latest snapshot + the log's
// tail: recovery), mutated one operation at a time in arrival order (the mutation
// queue), each mutation logged and flushed before it is acknowledged (group
// commit), remembered by idempotency key, snapshotted when its log grows, and
// evictable from memory at any time. What the state is and how a mutation changes
// it is the subclass's (durable-index.ts, durable-collection.ts); everything that
// makes it durable is here, once.
import type { AnyIndex } from '../../lib/any-index';
import { LogCorruptError, type ImportedFile, type LogDamage, type LogRecord, type Mutation } from '../storage/mutation-log';
import type { IndexLog, LogStore } from '../storage/storage';
import { SnapshotCorruptError, type Snapshot, type SnapshotState, type SnapshotStore } from '../storage/snapshots';
import { storageFault } from '../storage/storage-io';
import { randomUUID } from 'node:crypto';
import { OutcomeUnknown, ServiceError } from './errors';
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
  /**
   * A cluster's replicated log (serve --cluster: cluster/replicated-log.ts) in place
   * of the local log: a mutation is appended there first, and every replica
   * (this node included) applies the log in its order (see mutateReplicated).
   */
  replication?: ReplicatedLog;
}

/** A log every replica of an object follows, in one order (a JetStream stream in a cluster). */
export interface ReplicatedLog {
  /** Makes the log of a new object, its records numbered past `seq` (a version never goes back). */
  create(id: string, seq: number): Promise<void>;
  /**
   * Right before the catalog record naming the new logs `ids` is written: throws
   * when they were made too long ago to be named safely (a cluster's collector may
   * be deleting them: cluster/collector.ts); the caller removes them then.
   */
  beforeCommit(...ids: string[]): void;
  remove(id: string): Promise<void>;
  /** The sequence of the last record appended to the log of `id`. */
  lastSeq(id: string): Promise<number>;
  /** Stores an imported FAISS file for the import record of `id` to name (too large for a record). */
  putImport(id: string, file: Uint8Array): Promise<ImportedFile>;
  /** The file an import record names, checked against its length and digest (throws when it cannot be had). */
  importedFile(f: ImportedFile): Promise<Uint8Array>;
  /**
   * Appends `m`, resolving with its sequence once the log is durable on its
   * replicas. `appendId`: the same id appended again within the log's
   * deduplication window is not appended twice (duplicate: the first's sequence).
   * `expectLast`: refused (SequenceMoved) unless the log's last record is that one.
   */
  append(id: string, m: Mutation, appendId: string, expectLast?: number): Promise<{ seq: number; duplicate: boolean }>;
  /**
   * Delivers every record after `afterSeq` in order, each once its `deliver`
   * promise before it settled, until stopped. `caughtUp` resolves once every
   * record in the log when following began is delivered.
   */
  follow(id: string, afterSeq: number, deliver: (seq: number, m: Mutation, appendId?: string) => Promise<void>): Follower;
  /** The sequence of the log's last record (0: empty). */
  lastSeq(id: string): Promise<number>;
  /** Shares this node's snapshot `seq` with the other replicas; the log may drop the records it holds. */
  shareSnapshot(id: string, seq: number): Promise<void>;
  /** Puts the shared snapshot in this node's snapshots if it is newer than `localSeq`; its sequence (0: none newer). */
  fetchSnapshot(id: string, localSeq: number): Promise<number>;
}

/**
 * A record after a gap: the log dropped records this replica had not applied (a
 * shared snapshot holds them). Thrown by applying the next record there is, or by
 * a follower that finds the records it waits for trimmed (replicated-log.ts).
 */
export class LogGap extends Error {
  constructor(readonly at: number, readonly expected: number) {
    super(`record ${at} follows ${expected - 1}: the records between are in a shared snapshot`);
    this.name = 'LogGap';
  }
}

/**
 * An import record whose file this replica cannot fetch now (the object store
 * unreachable, or the file deleted once a shared snapshot held the import): the
 * record is not applied (a failure here is not every replica's), and the replica
 * loads again, from the shared snapshot if there is one by then.
 */
class ImportUnavailable extends Error {
  constructor(readonly at: number, cause: unknown) {
    super(`the file of the import at record ${at} cannot be fetched: ${(cause as Error)?.message ?? String(cause)}`);
    this.name = 'ImportUnavailable';
  }
}

export interface Follower {
  caughtUp: Promise<void>;
  /** The log's last sequence as last seen (for the replica's lag). */
  readonly lastSeen: number;
  stop(): void;
}

/** An append refused because another record was appended since the one expected last. */
export class SequenceMoved extends Error {
  constructor(readonly last: number) {
    super(`the log moved past ${last}`);
    this.name = 'SequenceMoved';
  }
}

/** How long a read sent with a minimum sequence waits for this replica to reach it before 503. */
export const MIN_SEQUENCE_WAIT_MS = 5_000;
/** Tries of a remove by filter whose resolution another node's write overtook, before 503. */
const RESOLVE_TRIES = 20;

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

/** What a mutation with an idempotency key gave, and when it is durable. */
type Remembered = { applied: Applied; durable: Promise<void>; fingerprint?: string };
type RecentMap = Map<string, Remembered>;

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
  /** A replica's (serve --cluster): what follows the replicated log while loaded. */
  private follower: Follower | undefined;
  /** A replica's: results of the records applied lately, by sequence (the node that appended one answers with it). */
  private readonly results = new Map<number, Applied | Error>();
  /** Who waits for this replica to have applied a sequence. */
  private waiters: { seq: number; resolve: () => void }[] = [];
  /** A replica's: bytes of the records applied since the last snapshot (what the log's size is to a local one). */
  private replicatedBytes = 0;
  /** A replica's: the sequence of each record it applied lately, by append id (the cluster's quota holds of those appends are settled: quotas.ts). */
  private readonly appends = new Map<string, number>();

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
  /** A cluster's import record: the state a FAISS file (the service's own serialization of a checked import) holds. */
  protected importedState(_file: Uint8Array): Promise<{ applied: Applied; state: S }> {
    throw new ServiceError('ERR_UNSUPPORTED', `A ${this.what} cannot be imported from a FAISS file`);
  }
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
    return this.o.replication ? this.replicatedBytes : (this.log?.bytes ?? 0);
  }
  /** A replica's: records in the replicated log it has not applied yet (0 when not loaded). */
  get lag(): number {
    return this.follower ? Math.max(0, this.follower.lastSeen - this.seq) : 0;
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

  /**
   * Applies a mutation in arrival order, logs it, and resolves once it is durable
   * (on this node's log, or a cluster's replicated log). In use (not evicted)
   * meanwhile. `appendId`: a replicated mutation's (appendIdFor), when the caller
   * needs to know it before.
   */
  async mutate(m: Mutation | ResolvedMutation<S>, appendId?: string): Promise<Applied> {
    this.active++;
    try {
      return await (this.o.replication ? this.mutateReplicated(m, this.o.replication, appendId) : this.mutateLocal(m));
    } finally {
      this.active--;
      this.lastUsed = Date.now();
      this.o.onResident(this);
    }
  }

  /**
   * What a mutation with `m`'s idempotency key gave before (undefined: none, or
   * no key), and the request's fingerprint; the same key with another request
   * is refused (keyReused).
   */
  private recall(m: Mutation | ResolvedMutation<S>): { seen?: Remembered; fingerprint?: string } {
    if (m.key === undefined) return {};
    const fingerprint = 'resolve' in m ? m.fingerprint : fingerprintOf(m);
    const seen = this.recent.get(m.key);
    if (seen && seen.fingerprint !== undefined && seen.fingerprint !== fingerprint) throw keyReused(m.key, this.what);
    return { seen, fingerprint };
  }

  /** A single node's mutation: applied, then appended to the local log. */
  private async mutateLocal(m: Mutation | ResolvedMutation<S>): Promise<Applied> {
    const { result, durable, log } = await this.exclusive(async () => {
      if (this.mapped) await this.loadFully();
      let state: S = await this.load();
      const log = this.log!; // load() opened it; only this queue closes it while loaded
      const { seen, fingerprint } = this.recall(m);
      if (seen) return { result: seen.applied, durable: seen.durable, log };
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
      this.wake();
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
  }

  /**
   * A replica's mutation (serve --cluster): appended to the replicated log first,
   * and applied by every replica, this one included, in the log's order
   * (applyReplicated), so every replica makes the same ids and state. The answer
   * is what applying it here gave, once the log has it on its replicas. A remove
   * by filter is resolved against this replica's state at the log's last record,
   * and appended only if the log is still there (else it is resolved again).
   * Idempotency: the key is the append's id (the log drops a second append within
   * its deduplication window) and, past that window, every replica remembers
   * the keys it applied (the last 10,000), so the same key's second record is
   * answered with the first's result wherever it lands.
   */
  private async mutateReplicated(m: Mutation | ResolvedMutation<S>, replication: ReplicatedLog, given?: string): Promise<Applied> {
    await this.load();
    const { seen } = this.recall(m);
    if (seen) return seen.applied;
    const appendId = given ?? this.appendIdFor(m.key);
    let seq: number | undefined;
    for (let tries = 0; seq === undefined; tries++) {
      if (this.dropped) throw this.notFound();
      try {
        seq = 'resolve' in m
          ? await this.exclusive(async () => {
              const state = await this.load();
              const mutation = await m.resolve(state);
              return (await replication.append(this.record.id, mutation, appendId, this.seq)).seq;
            })
          : (await replication.append(this.record.id, m, appendId)).seq;
      } catch (e) {
        if (!(e instanceof SequenceMoved) || tries >= RESOLVE_TRIES) throw this.dropped ? this.notFound() : storageFault('log.append', undefined, e);
        await this.appliedThrough(e.last, MIN_SEQUENCE_WAIT_MS);
      }
    }
    await this.appliedThrough(seq, MIN_SEQUENCE_WAIT_MS * 6);
    const result = this.results.get(seq) ?? (m.key !== undefined ? this.recent.get(m.key)?.applied : undefined);
    if (result === undefined) throw storageFault('log.apply', undefined, new Error(`the result of record ${seq} is no longer known`));
    if (result instanceof Error) throw result;
    this.afterMutation();
    return result;
  }

  /**
   * The id a replicated mutation is appended under: with an idempotency key, the
   * same on every node (the log drops a retry's second append); without, one of
   * its own (the append's own retries are not appended twice).
   */
  appendIdFor(key: string | undefined): string {
    return key !== undefined ? `${this.record.id}:${key}` : `${this.record.id}:${randomUUID()}`;
  }

  /** A replica's: the sequence at which it applied the record appended under `appendId` (undefined: not among the last 10,000). */
  appliedAt(appendId: string): number | undefined {
    return this.appends.get(appendId);
  }

  /** Loaded and (a replica) caught up with every record its log held when called. */
  async catchUp(): Promise<void> {
    if (!this.o.replication) {
      await this.readState(async () => undefined);
      return;
    }
    const last = await this.o.replication.lastSeq(this.record.id);
    await this.appliedThrough(last);
  }

  /**
   * Resolves once this replica has applied the log through `seq` (loading it
   * first); past `waitMs`, ERR_REPLICA_BEHIND (a 503 to retry).
   */
  async appliedThrough(seq: number, waitMs = MIN_SEQUENCE_WAIT_MS): Promise<void> {
    this.active++;
    try {
      await this.load();
      if (this.seq >= seq) return;
      if (!this.o.replication) {
        throw new ServiceError('ERR_REPLICA_BEHIND', `The ${this.what} ${this.record.name} is at version ${this.seq}, below ${seq}`);
      }
      let waiter: { seq: number; resolve: () => void } | undefined;
      const reached = new Promise<void>((resolve) => {
        waiter = { seq, resolve };
        this.waiters.push(waiter);
      });
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          this.waiters = this.waiters.filter((w) => w !== waiter);
          reject(new ServiceError('ERR_REPLICA_BEHIND', `This node has applied the ${this.what} ${this.record.name}'s log through ${this.seq}, not yet ${seq} (within ${waitMs} ms)`));
        }, waitMs);
      });
      try {
        await Promise.race([reached, late]);
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.active--;
      this.lastUsed = Date.now();
    }
  }

  /** Wakes who waits for a sequence now applied. */
  private wake(): void {
    if (this.waiters.length === 0) return;
    const ready = this.waiters.filter((w) => w.seq <= this.seq);
    if (ready.length === 0) return;
    this.waiters = this.waiters.filter((w) => w.seq > this.seq);
    for (const w of ready) w.resolve();
  }

  /**
   * Applies record `seq` of the replicated log to `state` (live, or loading):
   * its result is kept for the node that appended it. A record that fails (an
   * add to an untrained index) fails the same way on every replica and changes
   * nothing; a key's second record is answered with the first's result.
   */
  private async applyReplicated(state: S, seq: number, m: Mutation, live: boolean, appendId?: string): Promise<S> {
    if (seq <= this.seq) return state; // in the snapshot already
    // An import replaces the whole state: nothing before it matters (it is an imported object's first record, numbered after the replaced one's last).
    if (seq > this.seq + 1 && m.type !== 'import') throw new LogGap(seq, this.seq + 1);
    if (appendId !== undefined) {
      this.appends.set(appendId, seq);
      if (this.appends.size > 10_000) this.appends.delete(this.appends.keys().next().value!);
    }
    let result: Applied | Error;
    const fingerprint = m.key !== undefined ? fingerprintOf(m) : undefined;
    const seen = m.key !== undefined ? this.recent.get(m.key) : undefined;
    let file: Uint8Array | undefined;
    if (m.type === 'import') {
      try {
        file = await this.o.replication!.importedFile(m);
      } catch (e) {
        throw new ImportUnavailable(seq, e);
      }
    }
    if (seen) {
      result = seen.fingerprint !== undefined && seen.fingerprint !== fingerprint ? keyReused(m.key!, this.what) : seen.applied;
    } else {
      try {
        const done = await this.timed(m.type === 'collection' ? `collection_${m.header.op}` : m.type, state, () => (file ? this.importedState(file) : this.applyTo(state, m)));
        if (done.state !== undefined) {
          // Searches in flight on the old state finish on it; GC frees it after (while loading: nothing else has it).
          if (!live) this.disposeState(state);
          state = done.state;
        }
        result = done.applied;
        if (m.key !== undefined) this.remember(m.key, done.applied, Promise.resolve(), fingerprint);
      } catch (e) {
        result = e instanceof Error ? e : new Error(String(e));
      }
    }
    this.seq = seq;
    this.replicatedBytes += 'x' in m && m.x ? m.x.byteLength : file ? file.length : 64;
    this.results.set(seq, result);
    // The node that appended a record waits for its result right after: 1,000 is plenty.
    if (this.results.size > 1_000) this.results.delete(this.results.keys().next().value!);
    this.wake();
    return state;
  }

  /**
   * A replica's load: its latest local snapshot, then the replicated log from
   * there (follow: kept following while it is loaded).
   */
  private async recoverReplicated(replication: ReplicatedLog, retried = false): Promise<S> {
    const { record, o } = this;
    try {
      await replication.fetchSnapshot(record.id, o.snapshots.latestSeq(record.id));
    } catch (e) {
      throw storageFault('snapshot.fetch', undefined, e);
    }
    let snap: Snapshot | undefined;
    try {
      snap = await o.snapshots.load(record.id, { mmap: false });
    } catch (e) {
      if (e instanceof SnapshotCorruptError) throw this.corrupt(`${e.message}. See faiss-proxy check / repair (docs/operations.md)`);
      throw storageFault('snapshot.load', undefined, e);
    }
    this.mapped = false;
    let state: S;
    try {
      state = snap ? this.restoreState(snap) : this.emptyState();
    } catch (e) {
      (snap?.index as { dispose?: () => void } | undefined)?.dispose?.();
      throw this.corrupt(`its snapshot cannot be read (${(e as Error).message})`);
    }
    this.seq = snap?.seq ?? 0;
    this.recent = new Map();
    for (const [key, removed, firstId, added, fingerprint] of snap?.state.recentKeys ?? []) {
      this.remember(key, { added: added ?? 0, removed, firstId }, Promise.resolve(), fingerprint ?? undefined);
    }
    this.replicatedBytes = 0;
    // Until caught up, records apply to the state being loaded; then to the loaded one, in turn with the mutations.
    let loading: S | undefined = state;
    /**
     * The record being applied to `loading`. The follower delivers the next record as soon as the last one is
     * applied, also while caughtUp's continuation is on its way: the state is handed over only once that record
     * is applied, or it would go on in `loading` (a replaced state disposed under the loaded one; the records
     * after applied to a state no longer the loaded one, as a rebuild swaps it) and this replica would diverge.
     */
    let applying: Promise<unknown> | undefined;
    const follower = replication.follow(record.id, this.seq, async (seq, m, appendId) => {
      if (loading !== undefined) {
        const applied = this.applyReplicated(loading, seq, m, false, appendId);
        applying = applied;
        try {
          loading = await applied;
        } finally {
          applying = undefined;
        }
        return;
      }
      await this.exclusive(async () => {
        if (this.follower !== follower) return; // unloaded meanwhile: the next load follows from its snapshot
        if (this.state === undefined) await this.loading;
        if (this.state === undefined || this.follower !== follower) return;
        try {
          this.state = await this.applyReplicated(this.state, seq, m, true, appendId);
        } catch (e) {
          if (!(e instanceof LogGap || e instanceof ImportUnavailable)) throw e;
          // Trimmed behind a shared snapshot while this replica was behind (or an import's file not at hand): the next use loads again, from that snapshot.
          this.unload();
          this.o.onResident(this);
        }
      });
      // A replica that only follows snapshots as the one that writes does.
      this.afterMutation();
    });
    this.follower = follower;
    try {
      await follower.caughtUp;
      // Checked again after each wait, and the state handed over in the same turn as the last check (below).
      while (applying) await applying.catch(() => undefined);
    } catch (e) {
      follower.stop();
      this.follower = undefined;
      // A record still being applied to it (stop() does not cut a delivery short) finishes first.
      while (applying) await applying.catch(() => undefined);
      if (loading !== undefined) this.disposeState(loading);
      loading = undefined;
      // Trimmed while loading, or an import's file deleted once a shared snapshot held it: once more, from that snapshot.
      if ((e instanceof LogGap || e instanceof ImportUnavailable) && !retried) return this.recoverReplicated(replication, true);
      throw storageFault('log.follow', undefined, e);
    }
    state = loading;
    loading = undefined;
    this.storage = undefined;
    return state;
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
  replaceState(state: S, next: R, commit: () => void, imported?: Uint8Array): Promise<void> {
    if (this.o.replication) {
      return imported ? this.importReplicated(state, next, commit, imported, this.o.replication) : this.createReplicated(state, next, commit, this.o.replication);
    }
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

  /**
   * A replica's new object: its replicated log is made, then `commit` puts it in
   * the catalog. Every replica (this one too) starts it from the empty state its
   * record describes and the log (`state` only said what that is: it is freed).
   */
  private createReplicated(state: S, next: R, commit: () => void, replication: ReplicatedLog): Promise<void> {
    return this.exclusive(async () => {
      try {
        if (this.dropped) throw this.notFound();
        if (this.state !== undefined || next.id !== this.record.id) throw new Error(`a replica's ${this.what} is replaced only by an import`);
        await replication.create(next.id, 0);
        try {
          replication.beforeCommit(next.id);
          commit();
        } catch (e) {
          // A commit whose outcome is unknown may have named it: kept (the leak collector deletes it if no record does).
          if (!(e instanceof OutcomeUnknown)) await replication.remove(next.id).catch(() => undefined);
          throw e;
        }
      } finally {
        this.disposeState(state);
      }
    });
  }

  /**
   * A replica's import (a new object, or one replaced wholesale), as a single
   * node's replaceState but through the cluster: under `next.id`, a new storage
   * id, a new log numbered on from the replaced one's last record (a version
   * never goes back: read-your-writes), whose first record is the import; its
   * file (`imported`, the service's own serialization of `state`, which the
   * sandbox checked) goes to the object store first, too large for a record.
   * Once the record is acknowledged, `commit` switches the catalog to `next`;
   * every node then follows the new log (IndexService.followCatalog), and
   * this one answers once it has applied the import and snapshotted it (the
   * shared snapshot trims the import away, and its file with it). A failure
   * before the switch leaves the old object whole and removes the new log.
   */
  private importReplicated(state: S, next: R, commit: () => void, imported: Uint8Array, replication: ReplicatedLog): Promise<void> {
    return this.exclusive(async () => {
      let seq: number;
      const previous = this.record;
      const replacing = next.id !== previous.id;
      try {
        if (this.dropped) throw this.notFound();
        const after = replacing ? Math.max(this.seq, await replication.lastSeq(previous.id)) : 0;
        await replication.create(next.id, after);
        try {
          const file = await replication.putImport(next.id, imported);
          seq = (await replication.append(next.id, { type: 'import', ...file }, `${next.id}:import`)).seq;
          if (this.dropped) throw this.notFound();
          replication.beforeCommit(next.id);
          commit();
        } catch (e) {
          if (!(e instanceof OutcomeUnknown)) await replication.remove(next.id).catch(() => undefined);
          throw e;
        }
        // In the same turn as the catalog's switch: the registry's view of this object is never the old record with the new catalog.
        this.unload();
        this.record = next;
        this.recent = new Map();
        this.storage = undefined;
        this.summary = undefined;
      } catch (e) {
        throw e instanceof ServiceError ? e : storageFault('log.append', undefined, e);
      } finally {
        this.disposeState(state);
      }
      await this.load();
      const result = this.results.get(seq);
      if (result instanceof Error) throw result;
      await this.snapshotNow();
      if (replacing) {
        await this.removeFiles(previous.id).catch((e) => console.error(`faiss-proxy: removing the replaced stream and files of ${next.name} failed:`, e));
      }
      this.o.onResident(this);
    });
  }

  /** Removes every file of storage id `id` (its log, then its snapshots). */
  async removeFiles(id: string): Promise<void> {
    if (this.o.replication) await this.o.replication.remove(id);
    else await this.o.logs.remove(id);
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
      this.stopFollowing();
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
        this.stopFollowing();
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

  /** A replica's: stops following its log (evicted, closed, dropped); the next load follows again from its snapshot. */
  private stopFollowing(): void {
    this.follower?.stop();
    this.follower = undefined;
  }

  private unload(): void {
    this.stopFollowing();
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
    if (o.replication) return this.recoverReplicated(o.replication);
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
    this.replicatedBytes = 0;
    await this.log?.truncate();
    if (this.o.replication) {
      const seq = this.seq;
      // Shared after the queue moves on (an upload must not hold up the writes); a failure leaves the stream untrimmed.
      void this.o.replication.shareSnapshot(this.record.id, seq).catch((e) => console.error(`faiss-proxy: sharing the snapshot of ${this.record.name} failed (its stream is not trimmed):`, e));
    }
  }

  private afterMutation(): void {
    if (this.dropped || this.state === undefined) return;
    if (this.logBytes > this.o.snapshotLogBytes) void this.snapshot().catch((e) => console.error(`faiss-proxy: snapshot of ${this.record.name} failed:`, e));
  }
}
