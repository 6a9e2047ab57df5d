// The points of a collection beside its FAISS index: string id ↔ int64 label,
// and each point's payload. Every upsert gives a point a fresh label (labels only
// increase, never reused), so replacing a vector is "remove the old label, add
// the new one", which every index type can do through the id policy; and a
// search that found an old label can tell it is no longer the point's.
//
// Labels are numbers (exact below 2^53: a collection would need 2^53 upserts to
// run out). Maps iterate in insertion order, and labels are inserted in
// increasing order, so iterating `byLabel` gives the live labels sorted.
import type { Payload } from './types';

export interface StoredPoint {
  readonly id: string;
  readonly label: number;
  readonly payload: Payload | null;
  /** Bytes of the payload's JSON (0 without one): what quotas count. */
  readonly payloadBytes: number;
}

export class PointStore {
  private readonly byId = new Map<string, StoredPoint>();
  private readonly byLabel = new Map<number, StoredPoint>();
  private sortedIds: string[] | null = null;
  private sortedLabels: Float64Array | null = null;
  private bytes = 0;

  /** `nextLabel`: the label the next upserted point gets. */
  constructor(private next = 0) {}

  get size(): number {
    return this.byId.size;
  }
  get nextLabel(): number {
    return this.next;
  }
  get payloadBytes(): number {
    return this.bytes;
  }

  byIdOf(id: string): StoredPoint | undefined {
    return this.byId.get(id);
  }
  byLabelOf(label: number): StoredPoint | undefined {
    return this.byLabel.get(label);
  }

  /** Stores a point under the next label; answers the point it replaced, if any. */
  put(id: string, payload: Payload | null, payloadBytes: number): { stored: StoredPoint; replaced?: StoredPoint } {
    const replaced = this.byId.get(id);
    if (replaced) this.drop(replaced);
    else this.sortedIds = null;
    return { stored: this.insert({ id, label: this.next++, payload, payloadBytes }), ...(replaced ? { replaced } : {}) };
  }

  /** Stores a point under its own label (restoring a snapshot: labels arrive in increasing order). */
  restorePoint(p: StoredPoint): void {
    if (p.label < this.next || this.byId.has(p.id)) throw new Error(`point ${JSON.stringify(p.id)} (label ${p.label}) is out of order or repeated`);
    this.next = p.label + 1;
    this.sortedIds = null;
    this.insert(p);
  }

  /** Raises the next label to `next` (a snapshot's, when its last points were deleted). */
  advanceTo(next: number): void {
    if (next < this.next) throw new Error(`next label ${next} is below a stored label`);
    this.next = next;
  }

  /** Removes the point of `id`; answers it, or undefined when there is none. */
  remove(id: string): StoredPoint | undefined {
    const p = this.byId.get(id);
    if (!p) return undefined;
    this.drop(p);
    this.byId.delete(id);
    this.sortedIds = null;
    return p;
  }

  /** Every point, in label order (oldest upsert first). */
  values(): IterableIterator<StoredPoint> {
    return this.byLabel.values();
  }

  /** The live labels, sorted (cached until the next change). */
  labels(): Float64Array {
    return (this.sortedLabels ??= Float64Array.from(this.byLabel.keys()));
  }

  /** The ids in scroll order (JavaScript string order: by UTF-16 code unit), cached until an id comes or goes. */
  idsInOrder(): readonly string[] {
    return (this.sortedIds ??= [...this.byId.keys()].sort(compareIds));
  }

  private insert(p: StoredPoint): StoredPoint {
    this.byId.set(p.id, p);
    this.byLabel.set(p.label, p);
    this.bytes += p.payloadBytes;
    this.sortedLabels = null;
    return p;
  }

  private drop(p: StoredPoint): void {
    this.byLabel.delete(p.label);
    this.bytes -= p.payloadBytes;
    this.sortedLabels = null;
  }
}

export const compareIds = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
