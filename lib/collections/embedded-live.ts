// One open embedded collection: its CollectionState, the queue its mutations
// take in arrival order, its idempotency keys and, when the collections live
// in a directory, its op log and snapshots.
//
// A mutation is applied to the state (all or nothing), then logged with its
// key in one SQLite transaction, then acknowledged. If logging fails the state
// is ahead of the disk: it is loaded again from the disk (snapshot + log), so
// that what the collection answers is what survives, and the call fails with
// ERR_IO. Reads run beside the queue (the state orders them against its
// writes); dropping or closing the collection waits for the reads in flight.
import { FaissError } from '../errors';
import { CollectionState, type CollectionOp } from './collection-state';
import { RecentKeys, KEPT_KEYS } from './embedded-keys';
import { readSnapshot, removeSnapshot, writeSnapshot } from './embedded-snapshot';
import { encodeOp } from './embedded-log-rows';
import type { CollectionStore, StoredCollection } from './embedded-store';
import type { CollectionLimits } from './limits';
import { SerialQueue } from './serial-queue';
import type { CollectionSpec } from './types';

export interface LiveOptions {
  /** Absent: the collection lives in memory only. */
  store?: CollectionStore;
  limits: CollectionLimits;
  /** Bytes of logged ops after which the collection is snapshotted (and its log emptied). */
  snapshotLogBytes: number;
}

/** One mutation as the queue takes it: the op is built when its turn comes (a delete by filter sees the ops before it). */
export interface Mutation<A> {
  /** The caller's idempotency key, with what identifies the request (lib/request-fingerprint.ts). */
  idempotency?: { key: string; fingerprint: string };
  /** The op to apply, or null when there is nothing to apply (a delete that matches nothing). */
  op: (state: CollectionState) => CollectionOp | null;
  answer: (applied: { upserted?: number; deleted?: number }) => A;
}

const corrupt = (name: string, why: string): FaissError =>
  new FaissError(`Collection ${name} cannot be loaded: ${why}`, 'ERR_CORRUPT_INDEX');

export class LiveCollection {
  private readonly queue = new SerialQueue();
  private readonly keys = new RecentKeys();
  private seq = 0;
  private snapshotSeq = 0;
  private snapshotFile: string | null = null;
  /** Bytes logged since the snapshot, and the mark at which the next snapshot is taken. */
  private logBytes = 0;
  private nextSnapshotAt: number;
  private readers = 0;
  private readersGone: (() => void) | null = null;
  /** Set once the collection is dropped or closed, or when it could not be put back in step with its disk. */
  private unusable: FaissError | null = null;
  private disposed = false;
  /** While the state is loaded again from the disk: reads wait for it. */
  private reloading: Promise<void> | null = null;

  private constructor(
    readonly uid: number,
    readonly spec: CollectionSpec,
    private state: CollectionState,
    private readonly o: LiveOptions,
  ) {
    this.nextSnapshotAt = o.snapshotLogBytes;
  }

  get name(): string {
    return this.spec.name;
  }

  get dimension(): number {
    return this.spec.dimension;
  }

  get limits(): CollectionLimits {
    return this.o.limits;
  }

  /** A new, empty collection; `register` stores its spec (when durable) and gives its uid. */
  static create(spec: CollectionSpec, o: LiveOptions, register: () => number): LiveCollection {
    // Built first: a spec FAISS refuses is never registered (stored), so it cannot stop the next open.
    const state = CollectionState.create(spec, o.limits);
    try {
      return new LiveCollection(register(), spec, state, o);
    } catch (e) {
      state.dispose();
      throw e;
    }
  }

  /** A stored collection, from its snapshot and the ops logged after it. */
  static async load(stored: StoredCollection, o: LiveOptions & { store: CollectionStore }): Promise<LiveCollection> {
    const { state, seq, logBytes } = await loadState(stored, o);
    const live = new LiveCollection(stored.uid, stored.spec, state, o);
    live.seq = seq;
    live.snapshotSeq = stored.snapshotSeq;
    live.snapshotFile = stored.snapshotFile;
    live.logBytes = logBytes;
    for (const k of o.store.keys(stored.uid)) live.keys.remember(k);
    return live;
  }

  private check(): void {
    if (this.unusable) throw this.unusable;
  }

  /** Runs a read against the state; a drop or close waits for it. */
  async read<T>(body: (state: CollectionState) => Promise<T> | T): Promise<T> {
    while (this.reloading) await this.reloading;
    this.check();
    this.readers++;
    try {
      return await body(this.state);
    } finally {
      if (--this.readers === 0) this.readersGone?.();
    }
  }

  mutate<A>(m: Mutation<A>): Promise<A> {
    return this.queue.run(async () => {
      this.check();
      const keyed = m.idempotency;
      if (keyed) {
        const seen = this.keys.answerOf(keyed.key, keyed.fingerprint);
        if (seen !== undefined) return seen as A;
      }
      let op = m.op(this.state);
      // A keyed request is logged even when it changes nothing, so that its key outlives a restart.
      if (op === null && keyed) op = { type: 'delete', ids: [] };
      if (op === null) return m.answer({});
      // Encoded before it is applied: an op that cannot be logged (JSON.stringify failing) changes nothing.
      const row = this.o.store && encodeOp(op);
      const answer = m.answer(await this.state.apply(op));
      const key = keyed && { ...keyed, answer };
      if (this.o.store && row) {
        try {
          this.o.store.appendOp(this.uid, this.seq + 1, row, key, KEPT_KEYS);
          this.logBytes += row.bytes;
        } catch (e) {
          this.reloading = this.reloadFromDisk();
          await this.reloading;
          this.reloading = null;
          throw e;
        }
      }
      this.seq++;
      if (key) this.keys.remember(key);
      if (this.o.store && this.logBytes >= this.nextSnapshotAt) {
        // After the acknowledgement, in the queue's order; a failure leaves the log longer and is tried again later.
        void this.queue.run(() => this.snapshotNow()).catch(() => undefined);
      }
      return answer;
    });
  }

  /** Puts the state back in step with the disk after a failed log write, or makes the collection unusable. */
  private async reloadFromDisk(): Promise<void> {
    const store = this.o.store!;
    await this.disposeState();
    try {
      const stored = store.collections().find((c) => c.uid === this.uid);
      if (!stored) throw new Error('it is gone from the catalog');
      const { state, seq, logBytes } = await loadState(stored, { ...this.o, store });
      this.state = state;
      this.disposed = false;
      this.seq = seq;
      this.logBytes = logBytes;
    } catch (e) {
      this.unusable = new FaissError(
        `Collection ${this.name} is out of step with its files after a failed write and could not be reloaded (${(e as Error).message}); open the collections again`,
        'ERR_IO',
      );
    }
  }

  /** Writes a snapshot holding every op so far, then empties the log (in the queue: no mutation runs meanwhile). */
  private async snapshotNow(): Promise<void> {
    const store = this.o.store;
    if (!store || this.unusable || this.seq === this.snapshotSeq) return;
    try {
      // No op runs meanwhile (this is the queue): the index and the points are of one moment.
      const name = `${this.uid}.${this.seq}`;
      await writeSnapshot(store.snapshotPath(name), { seq: this.seq, index: this.state.index, points: this.state.serializePoints() });
      store.setSnapshot(this.uid, this.seq, name);
      const older = this.snapshotFile;
      this.snapshotFile = name;
      this.snapshotSeq = this.seq;
      this.logBytes = 0;
      this.nextSnapshotAt = this.o.snapshotLogBytes;
      // The new snapshot is recorded: the old file is garbage (removed at the next open if this fails).
      if (older && older !== name) await removeSnapshot(store.snapshotPath(older));
    } catch (e) {
      this.nextSnapshotAt = this.logBytes + this.o.snapshotLogBytes;
      throw e;
    }
  }

  private async disposeState(): Promise<void> {
    await this.waitForReaders();
    if (this.disposed) return;
    this.disposed = true;
    this.state.dispose();
  }

  private waitForReaders(): Promise<void> {
    if (this.readers === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.readersGone = () => {
        this.readersGone = null;
        resolve();
      };
    });
  }

  /**
   * Deletes the collection, after the mutations queued before it and the reads in
   * flight. Its rows go first: if that fails nothing changed. A collection made
   * unusable by a failed reload can still be deleted.
   */
  drop(): Promise<void> {
    return this.queue.run(async () => {
      if (this.unusable && this.unusable.code !== 'ERR_IO') throw this.unusable;
      const store = this.o.store;
      store?.deleteCollection(this.uid);
      this.unusable = new FaissError(`Collection ${this.name} was deleted`, 'ERR_COLLECTION_NOT_FOUND');
      await this.disposeState();
      // Gone from the catalog: a file left by a failure here is an orphan the next open removes.
      if (store && this.snapshotFile) await removeSnapshot(store.snapshotPath(this.snapshotFile));
    });
  }

  /** Snapshots the collection when it is durable and has ops since its snapshot, then frees it. */
  close(): Promise<void> {
    return this.queue.run(async () => {
      try {
        if (!this.unusable) await this.snapshotNow();
      } finally {
        this.unusable ??= new FaissError('The collections are closed; open them again to use them', 'ERR_DISPOSED');
        await this.disposeState();
      }
    });
  }
}

async function loadState(
  stored: StoredCollection,
  o: LiveOptions & { store: CollectionStore },
): Promise<{ state: CollectionState; seq: number; logBytes: number }> {
  let state: CollectionState;
  if (stored.snapshotFile !== null) {
    const snap = await readSnapshot(o.store.snapshotPath(stored.snapshotFile), stored.snapshotSeq);
    try {
      state = CollectionState.restore(stored.spec, snap.index, snap.points, o.limits);
    } catch (e) {
      snap.index.dispose();
      throw corrupt(stored.name, `its snapshot's points cannot be read (${(e as Error).message})`);
    }
  } else {
    try {
      state = CollectionState.create(stored.spec, o.limits);
    } catch (e) {
      throw corrupt(stored.name, `its stored spec cannot be built (${(e as Error).message})`);
    }
  }
  let seq = stored.snapshotSeq;
  let logBytes = 0;
  try {
    for (const r of o.store.ops(stored.uid, stored.snapshotSeq)) {
      try {
        await state.apply(r.op);
      } catch (e) {
        throw corrupt(stored.name, `replaying op ${r.seq} of its log failed (${(e as Error).message})`);
      }
      seq = r.seq;
      logBytes += r.bytes;
    }
  } catch (e) {
    state.dispose();
    throw e;
  }
  return { state, seq, logBytes };
}
