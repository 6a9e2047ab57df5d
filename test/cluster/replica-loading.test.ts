// A replica's load (domain/durable.ts recoverReplicated) hands its state over only
// once the record being applied to it is applied. The follower delivers the next
// record as soon as the last is applied, also while the load's "caught up" is on its
// way; a record in flight then went on applying to the loading state after the
// handover, and every record after it too: a state it replaced was disposed under
// the loaded one, and a state swapped meanwhile (a rebuild) missed the records after
// (test/cluster/replicas' remove-by-filter flake: a replica kept ids every other one
// removed). Over a log in memory the test steps by hand, with a durable object whose
// state is a list of ids, so the interleaving is forced rather than hoped for.
import { strict as assert } from 'node:assert';
import { DurableObject, type DurableOptions, type DurableRecord, type Follower, type ReplicatedLog, type StateSnapshot } from '../../service/domain/durable';
import { ServiceError } from '../../service/domain/errors';
import type { Applied } from '../../service/domain/mutations';
import type { ImportedFile, Mutation } from '../../service/storage/mutation-log';
import type { LogStore } from '../../service/storage/storage';
import type { SnapshotStore } from '../../service/storage/snapshots';

/** A log whose follower delivers a record, and says it is caught up, only when the test says so. */
class SteppedLog implements ReplicatedLog {
  readonly records: Mutation[] = [];
  private deliver: ((seq: number, m: Mutation) => Promise<void>) | undefined;
  private reached: (() => void) | undefined;
  private next = 1;

  async create(): Promise<void> {}
  beforeCommit(): void {}
  async remove(): Promise<void> {}
  async lastSeq(): Promise<number> {
    return this.records.length;
  }
  async putImport(): Promise<ImportedFile> {
    throw new Error('no imports here');
  }
  async importedFile(): Promise<Uint8Array> {
    throw new Error('no imports here');
  }
  async append(_id: string, m: Mutation): Promise<{ seq: number; duplicate: boolean }> {
    this.records.push(m);
    return { seq: this.records.length, duplicate: false };
  }
  follow(_id: string, afterSeq: number, deliver: (seq: number, m: Mutation) => Promise<void>): Follower {
    this.deliver = deliver;
    this.next = afterSeq + 1;
    const caughtUp = new Promise<void>((resolve) => (this.reached = resolve));
    const records = this.records;
    return {
      caughtUp,
      get lastSeen() {
        return records.length;
      },
      stop: () => undefined,
    };
  }
  async shareSnapshot(): Promise<void> {}
  async fetchSnapshot(): Promise<number> {
    return 0;
  }

  get following(): boolean {
    return this.deliver !== undefined;
  }
  /** Delivers the next record (resolves once the replica has taken it). */
  deliverNext(): Promise<void> {
    const seq = this.next++;
    return this.deliver!(seq, this.records[seq - 1]);
  }
  caughtUp(): void {
    this.reached!();
  }
}

interface Ids {
  ids: bigint[];
  disposed: boolean;
}

/** A durable object whose state is the ids added: an add appends its ids, a reset replaces the state with an empty one. */
class IdList extends DurableObject<Ids> {
  readonly what = 'index';
  /** While set, applying a record waits for it (a record in flight). */
  gate: Promise<void> | undefined;

  get liveNtotal(): number | undefined {
    return this.currentState?.ids.length;
  }
  read(): Promise<Ids> {
    return this.readState(async (s) => s);
  }
  /** Swaps the state for a copy, in turn with the records (as a record that replaces the state does: durable-index.ts's rebuild). */
  swap(): Promise<void> {
    return this.exclusive(async () => {
      const old = this.state!;
      this.state = { ids: [...old.ids], disposed: false };
    });
  }
  protected notFound(): ServiceError {
    return new ServiceError('ERR_INDEX_NOT_FOUND', 'gone');
  }
  protected emptyState(): Ids {
    return { ids: [], disposed: false };
  }
  protected restoreState(): Ids {
    throw new Error('no snapshots here');
  }
  protected async applyTo(state: Ids, m: Mutation): Promise<{ applied: Applied; state?: Ids }> {
    if (this.gate) await this.gate;
    assert.equal(state.disposed, false, 'a record applied to a disposed state');
    if (m.type === 'reset') return { applied: { added: 0, removed: state.ids.length, firstId: null }, state: { ids: [], disposed: false } };
    if (m.type !== 'add' || !m.ids) throw new Error(`unexpected ${m.type}`);
    state.ids.push(...m.ids);
    return { applied: { added: m.ids.length, removed: 0, firstId: null } };
  }
  protected snapshotOf(): StateSnapshot {
    throw new Error('no snapshots here');
  }
  protected disposeState(state: Ids): void {
    state.disposed = true;
  }
  protected bytesOf(state: Ids): number {
    return state.ids.length * 8;
  }
  protected typeOf(): string {
    return 'ids';
  }
}

const add = (...ids: number[]): Mutation => ({ type: 'add', x: new Float32Array(ids.length), d: 1, ids: BigInt64Array.from(ids, BigInt) });

function replica(log: SteppedLog): IdList {
  const snapshots = { latestSeq: () => 0, load: async () => undefined, peekState: () => undefined } as unknown as SnapshotStore;
  const options: DurableOptions = {
    snapshots,
    logs: {} as LogStore,
    snapshotLogBytes: Number.MAX_SAFE_INTEGER,
    onResident: () => undefined,
    onLoad: () => undefined,
    onOperation: () => undefined,
    onLogDamage: () => undefined,
    replication: log,
  };
  const record: DurableRecord = { tenant: 't', name: 'x', id: 'x-1' };
  return new IdList(record, options);
}

/** Lets every pending callback and timer run (the load's continuations). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

/**
 * Starts loading `object`, delivers record 1, then delivers record 2 held at a gate
 * while the follower says it is caught up (record 2 arrived just after the follower
 * read the stream's last sequence); lets the load go on; returns the gate's opener
 * and record 2's delivery.
 */
async function caughtUpWhileApplying(object: IdList, log: SteppedLog): Promise<{ loaded: Promise<Ids>; open: () => void; second: Promise<void> }> {
  const loaded = object.read();
  for (let i = 0; i < 100 && !log.following; i++) await settle();
  assert.ok(log.following, 'the load follows the log');
  await log.deliverNext();
  let open!: () => void;
  object.gate = new Promise<void>((r) => (open = r));
  const second = log.deliverNext();
  log.caughtUp();
  await settle();
  return { loaded, open, second };
}

describe('cluster: a replica hands its loaded state over once the record in flight is applied', () => {
  it('a record that replaces the state, in flight at the handover: the loaded state is the new one, not disposed, and the records after reach it', async () => {
    const log = new SteppedLog();
    log.records.push(add(1, 2), { type: 'reset' }, add(7));
    const object = replica(log);
    const { loaded, open, second } = await caughtUpWhileApplying(object, log);
    open();
    object.gate = undefined;
    await second;
    await log.deliverNext();
    await loaded;
    await object.appliedThrough(3);
    const now = await object.read();
    assert.equal(now.disposed, false, 'the loaded state was disposed by the record in flight');
    assert.deepEqual(now.ids, [7n]);
    assert.equal(object.version, 3);
  });

  it('a record in flight at the handover, then a swap of the state (a rebuild): the records after reach the swapped state', async () => {
    const log = new SteppedLog();
    log.records.push(add(1, 2), add(3), add(7));
    const object = replica(log);
    const { loaded, open, second } = await caughtUpWhileApplying(object, log);
    open();
    object.gate = undefined;
    await second;
    await loaded;
    await object.swap();
    await log.deliverNext();
    await object.appliedThrough(3);
    assert.deepEqual((await object.read()).ids, [1n, 2n, 3n, 7n], 'record 3 went to the state before the swap');
    assert.equal(object.version, 3);
  });
});
