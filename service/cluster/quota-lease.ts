// A node's leases on a tenant's quota (docs/cluster.md "Quota leases"): a slice
// of the room left, taken in the tenant's usage record (quota-ledger.ts) by one
// compare-and-set, that this node's writes to one object then spend with no
// round trip. In the record a lease is a hold marked `lease` that counts what
// it covers: this node's writes spent from it and not yet counted in the
// object's usage, and its free part. The record's copy is never less than
// what this node may still spend plus what it spent and has not counted: what
// a change gives back is taken from the free part here before the change is
// sent, what it adds only once it is written. Writes counted in the object's
// usage leave the lease in the next change (within LEASE_SETTLE_MS); one whose
// append failed becomes a hold of its own (settled, or expired and counted
// again, as any hold). A lease unused for LEASE_IDLE_MS is given back; one whose
// node died expires as a hold does (HOLD_TTL_MS after it was last renewed) and
// its object is counted again; this node stops spending it LEASE_USE_MS after
// it was renewed, so every write spent from it was appended (or failed) before
// it can expire. Near the limit (the slice would be smaller than the write) a
// write takes a hold of its own instead, so no unit is left on an idle node; a
// write refused only for other leases marks the record (`reclaim`): every node
// then gives back its free parts at its next change and takes holds only, and
// the write is checked again until RECLAIM_WAIT_MS.
import { randomUUID } from 'node:crypto';
import type { Quotas } from '../storage/catalog';
import type { Reservation, UsageCount, WriteOutcome } from '../domain/quotas';
import type { ServiceError } from '../domain/errors';
import type { LedgerHold } from './quota-ledger';

/** Vectors and bytes of quota. */
export interface Amount {
  vectors: number;
  bytes: number;
}
export const NONE: Amount = { vectors: 0, bytes: 0 };

/**
 * How long after its last renewal a lease may be spent: a write spent from it
 * is then appended or failed (APPEND_TIMEOUT_MS, 15 s) before the lease can
 * expire on another node (HOLD_TTL_MS, 30 s), with 5 s for clocks and queues.
 */
export const LEASE_USE_MS = 10_000;
/** A lease unused this long gives its free part back. */
export const LEASE_IDLE_MS = 1_000;
/** How long writes counted (or failed) wait to leave their lease, so that one change carries many. */
export const LEASE_SETTLE_MS = 250;
/** A lease's free part: at most this fraction of the room left after the write... */
export const LEASE_SHARE = 1 / 8;
/** ...and at most this many more writes of the size of the one that asked. */
export const LEASE_WRITES = 64;
/** A record marked `reclaim` this recently: every node gives back its free parts and takes holds only. */
export const RECLAIM_MS = 5_000;
/** How long a write refused only for other nodes' leases waits for them to be given back, checked every RECLAIM_RETRY_MS. */
export const RECLAIM_WAIT_MS = 5_000;
export const RECLAIM_RETRY_MS = 50;

/** A write waiting for its lease to grow (or for a hold of its own). */
export interface LeaseNeed extends Amount {
  id: string;
  at: number;
  appendId?: string;
  /** It may wait for other nodes' leases to be given back (else it is refused). */
  mayWait: boolean;
}

/** What a change does to one lease: a copy of this node's state when the change is made. */
export interface LeaseState {
  id: string;
  node: string;
  object: string;
  /** The record held it after this node's last change (else: none yet, or given back). */
  known: boolean;
  /** What may still be spent here. */
  free: Amount;
  /** Spent and not yet counted in the object's usage: stays in the lease. */
  charged: Amount;
  /** Spent and counted: leaves the lease, the object's count (the newest of theirs) set with it. */
  counted?: { ids: string[]; count: UsageCount; amount: Amount; applied?: (appendId: string) => number | undefined };
  /** Spent, and their append failed (it may yet land): holds of their own from now. */
  failed: LedgerHold[];
  needs: LeaseNeed[];
  /** Give the free part back (unused, or its object gone). */
  giveBack: boolean;
}

/** A need's answer: spent from the lease, held on its own, to be checked again (other leases in the way), or refused. */
export type Grant = 'lease' | 'hold' | 'wait' | ServiceError;

export interface LeaseResult {
  grants: Grant[];
  /** The free part after the change. */
  free: Amount;
  /** The record holds the lease after the change. */
  present: boolean;
  /** It was known and the record no longer holds it: expired and its object counted again, or its object deleted. */
  vanished: boolean;
  /** When the change renewed it (this node's clock). */
  at: number;
  changed: boolean;
}

export const plus = (a: Amount, b: Amount): Amount => ({ vectors: a.vectors + b.vectors, bytes: a.bytes + b.bytes });
export const minus = (a: Amount, b: Amount): Amount => ({ vectors: a.vectors - b.vectors, bytes: a.bytes - b.bytes });
export const atMost = (a: Amount, b: Amount): Amount => ({ vectors: Math.min(a.vectors, b.vectors), bytes: Math.min(a.bytes, b.bytes) });
export const fits = (a: Amount, room: Amount): boolean => a.vectors <= room.vectors && a.bytes <= room.bytes;
export const isNone = (a: Amount): boolean => a.vectors <= 0 && a.bytes <= 0;

/** The free part a lease may take of `room` (left after its writes) for writes the size of `need`. */
export function sliceOf(room: Amount, need: Amount): Amount {
  return {
    vectors: Math.max(0, Math.min(Math.floor(room.vectors * LEASE_SHARE), need.vectors * LEASE_WRITES)),
    bytes: Math.max(0, Math.min(Math.floor(room.bytes * LEASE_SHARE), need.bytes * LEASE_WRITES)),
  };
}

interface Charge extends Amount {
  id: string;
  started: number;
  appendId?: string;
  state: 'open' | 'counted' | 'failed';
  count?: UsageCount;
  applied?: (appendId: string) => number | undefined;
}

interface Waiting extends LeaseNeed {
  answer: (grant: Grant) => void;
  fail: (e: Error) => void;
}

/** One lease of this node on one object of a tenant: what it may spend, and what it spent. */
export class LocalLease {
  readonly id = randomUUID();
  known = false;
  /** When the record last renewed it (ms, this node's clock). */
  at = 0;
  free: Amount = NONE;
  lastUsed = Date.now();
  giveBack = false;
  /** The quotas the next change is checked against (the newest a write brought). */
  quotas?: Quotas;
  /** The quotas the record's copy was last checked against: spending here stops when a write brings one lower. */
  private limits?: Quotas;
  private readonly charges = new Map<string, Charge>();
  needs: Waiting[] = [];

  constructor(
    readonly object: string,
    private readonly node: string,
  ) {}

  /** Spends `growth` with no round trip, when it fits the free part of a lease renewed recently under quotas not lowered since. */
  trySpend(growth: Reservation, quotas: Quotas, appendId: string | undefined, now: number): string | undefined {
    if (!this.known || now - this.at >= LEASE_USE_MS || !this.limits) return undefined;
    if (quotas.maxVectors < this.limits.maxVectors || quotas.maxBytes < this.limits.maxBytes) return undefined;
    if (!fits(growth, this.free)) return undefined;
    this.free = minus(this.free, growth);
    return this.charge(randomUUID(), growth, appendId, now);
  }

  /** Waits for the next change to grant `need` (the caller queues that change). */
  ask(need: LeaseNeed, quotas: Quotas): Promise<Grant> {
    this.quotas = quotas;
    this.giveBack = false;
    return new Promise((answer, fail) => this.needs.push({ ...need, answer, fail }));
  }

  private charge(id: string, growth: Amount, appendId: string | undefined, now: number): string {
    this.lastUsed = now;
    this.giveBack = false;
    this.charges.set(id, { id, vectors: growth.vectors, bytes: growth.bytes, started: now, ...(appendId !== undefined && { appendId }), state: 'open' });
    return id;
  }

  /** A write spent from it ended: true when the record must learn it (counted, or failed after it may have been appended). */
  ended(id: string, outcome: WriteOutcome): boolean {
    const c = this.charges.get(id);
    if (!c || c.state !== 'open') return false;
    const at = c.appendId !== undefined && outcome.count && outcome.applied?.(c.appendId);
    if (outcome.count && (outcome.final || (typeof at === 'number' && at <= outcome.count.seq))) {
      c.state = 'counted';
      c.count = outcome.count;
      c.applied = outcome.applied;
      return true;
    }
    if (outcome.final) {
      // Never appended: back to the free part.
      this.charges.delete(id);
      this.free = plus(this.free, c);
      return false;
    }
    c.state = 'failed';
    return true;
  }

  /** Whether a change has something to do for it. */
  pending(): boolean {
    return this.needs.length > 0 || this.giveBack || [...this.charges.values()].some((c) => c.state !== 'open');
  }

  /** Nothing held here or in the record: it may be forgotten. */
  idle(): boolean {
    return !this.known && this.charges.size === 0 && this.needs.length === 0;
  }

  /** This node's state, for a change (undefined: nothing to do). */
  state(): LeaseState | undefined {
    if (!this.pending()) return undefined;
    let charged = NONE;
    let counted: LeaseState['counted'];
    const failed: LedgerHold[] = [];
    for (const c of this.charges.values()) {
      if (c.state === 'open') charged = plus(charged, c);
      else if (c.state === 'counted') {
        const newer = !counted || c.count!.seq > counted.count.seq;
        counted = {
          ids: [...(counted?.ids ?? []), c.id],
          count: newer ? c.count! : counted!.count,
          amount: plus(counted?.amount ?? NONE, c),
          applied: newer ? c.applied : counted!.applied,
        };
      } else failed.push({ id: c.id, node: this.node, at: c.started, object: this.object, indexes: 0, vectors: c.vectors, bytes: c.bytes, ...(c.appendId !== undefined && { appendId: c.appendId }) });
    }
    return {
      id: this.id,
      node: this.node,
      object: this.object,
      known: this.known,
      free: this.free,
      charged,
      ...(counted && { counted }),
      failed,
      needs: this.needs.map(({ answer: _a, fail: _f, ...need }) => need),
      giveBack: this.giveBack,
    };
  }

  /** The change is about to be sent: what it gives back is not spent here from now on. */
  sending(result: LeaseResult): void {
    this.free = atMost(this.free, result.free);
  }

  /** The change was written: the record holds `result` for the lease made from `sent`, checked against `quotas`. */
  written(sent: LeaseState, result: LeaseResult, quotas: Quotas): void {
    const now = Date.now();
    if (result.vanished) {
      // Expired and counted again at its object's head (nothing spent from it could land after), or its object deleted.
      this.charges.clear();
      this.free = NONE;
    } else {
      for (const id of [...(sent.counted?.ids ?? []), ...sent.failed.map((f) => f.id)]) this.charges.delete(id);
    }
    const grown = minus(result.free, sent.free);
    this.free = plus(this.free, { vectors: Math.max(0, grown.vectors), bytes: Math.max(0, grown.bytes) });
    if (!result.present) this.free = NONE;
    this.known = result.present;
    if (result.present) this.at = result.at;
    this.limits = quotas;
    if (sent.giveBack) this.giveBack = false;
    const answered = new Set(sent.needs.map((n) => n.id));
    const waiting = this.needs.filter((n) => answered.has(n.id));
    this.needs = this.needs.filter((n) => !answered.has(n.id));
    for (const need of waiting) {
      const grant = result.grants[sent.needs.findIndex((n) => n.id === need.id)];
      if (grant === 'lease') this.charge(need.id, need, need.appendId, now);
      need.answer(grant);
    }
  }

  /** The change could not be written: the needs it carried fail (what was spent stays, for a later change). */
  failed(sent: LeaseState | undefined, e: Error): void {
    const carried = new Set((sent?.needs ?? this.needs).map((n) => n.id));
    const failing = this.needs.filter((n) => carried.has(n.id));
    this.needs = this.needs.filter((n) => !carried.has(n.id));
    for (const need of failing) need.fail(e);
  }
}
