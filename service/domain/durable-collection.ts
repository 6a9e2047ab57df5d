// The durable collection: one CollectionState (lib/collections: a FAISS index,
// its points, payloads and payload indexes) as a durable object (durable.ts: the
// same mutation queue, log, group commit, snapshots, recovery, idempotency and
// eviction as an index's). Each op is logged as a collection record: its JSON
// header (the op without its vectors) and the vectors' bytes; a snapshot is
// FAISS's file of its index plus its points file, both checksummed.
import type { Index } from '../../lib';
import { CollectionState, type CollectionOp } from '../../lib/collections/collection-state';
import type { CollectionLimits } from '../../lib/collections/limits';
import type { CollectionRecord } from '../storage/catalog';
import type { Mutation } from '../storage/mutation-log';
import type { Snapshot } from '../storage/snapshots';
import { DurableObject, type DurableOptions, type StateSnapshot } from './durable';
import { ServiceError } from './errors';
import type { Applied } from './mutations';

export interface DurableCollectionOptions extends DurableOptions {
  limits: CollectionLimits;
  /** Rebuild the index once hidden labels pass this fraction of it (--rebuild-threshold). */
  rebuildThreshold: number;
}

/** An op as its log record holds it; `fingerprint`: the request's (idempotency.ts). */
export function collectionMutation(op: CollectionOp, fingerprint: string, key?: string): Mutation {
  const { type, ...args } = op;
  const x = 'x' in args ? args.x : undefined;
  if ('x' in args) delete (args as { x?: Float32Array }).x;
  return { type: 'collection', header: { op: type, ...args, fingerprint }, ...(x && { x }), ...(key !== undefined && { key }) };
}

/** The op a collection record holds. */
function opOf(m: Mutation): CollectionOp {
  if (m.type !== 'collection') throw new Error(`an index's ${m.type} in a collection's log`);
  const { op, fingerprint: _fingerprint, ...args } = m.header;
  return { type: op, ...args, ...(m.x && { x: m.x }) } as CollectionOp;
}

export class DurableCollection extends DurableObject<CollectionState, CollectionRecord> {
  readonly what = 'collection';

  constructor(
    record: CollectionRecord,
    protected readonly o: DurableCollectionOptions,
  ) {
    super(record, o);
  }

  /** The state if it is in memory (for describing the collection without loading it). */
  get current(): CollectionState | undefined {
    return this.currentState;
  }

  get liveNtotal(): number | undefined {
    return this.currentState?.count();
  }

  /** Runs fn with the loaded state; the collection stays loaded (not evicted) meanwhile. */
  read<T>(fn: (state: CollectionState) => Promise<T>, operation?: string): Promise<T> {
    return this.readState(fn, operation && `collection_${operation}`);
  }

  /** A new collection's first state (durable.ts replaceState: its files first, then the catalog). */
  install(state: CollectionState, commit: () => void): Promise<void> {
    return this.replaceState(state, this.record, commit);
  }

  protected notFound(): ServiceError {
    return new ServiceError('ERR_COLLECTION_NOT_FOUND', `No collection named ${JSON.stringify(this.record.name)}`);
  }

  protected emptyState(): CollectionState {
    return CollectionState.create(this.record.spec, this.o.limits, { rebuildThreshold: this.o.rebuildThreshold });
  }

  protected restoreState(snap: Snapshot): CollectionState {
    // Every collection is created with a snapshot holding its points (collections.ts create).
    if (!snap.points) throw new Error('its snapshot has no points file');
    return CollectionState.restore(this.record.spec, snap.index as Index, snap.points, this.o.limits, { rebuildThreshold: this.o.rebuildThreshold });
  }

  protected async applyTo(state: CollectionState, m: Mutation): Promise<{ applied: Applied }> {
    const { upserted, deleted } = await state.apply(opOf(m));
    return { applied: { added: upserted ?? 0, removed: deleted ?? 0, firstId: null } };
  }

  protected snapshotOf(state: CollectionState): StateSnapshot {
    const info = state.info();
    const index = state.index;
    return {
      index,
      // Hidden labels live in the points file (CollectionState), not in tombstones.
      state: {
        tombstones: [],
        nextId: null,
        summary: {
          type: index.typeName,
          ntotal: info.count,
          bytes: index.bytes + state.payloadBytes,
          isTrained: info.isTrained,
          payloadBytes: state.payloadBytes,
          payloadIndexes: info.payloadIndexes,
        },
      },
      points: state.serializePoints(),
    };
  }

  protected disposeState(state: CollectionState): void {
    state.dispose();
  }

  protected bytesOf(state: CollectionState): number {
    return state.index.bytes + state.payloadBytes;
  }

  protected typeOf(state: CollectionState): string {
    return state.index.typeName;
  }
}
