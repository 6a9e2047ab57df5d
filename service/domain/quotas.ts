// The quotas of tenants: what each uses (indexes, vectors, bytes; a collection
// counts as an index, its points as vectors, its payloads' JSON as bytes), the checks
// that refuse growth past its quotas, and the reservations that make the checks
// hold under concurrency: quota promised to creates, imports and adds in flight
// is taken in the same turn of the event loop as the check, so concurrent
// requests cannot all pass it, and given back when each finishes (its index then
// counts itself). In a cluster (serve --cluster) the same checks are made against
// the tenant's usage as the whole cluster has it (SharedUsage: cluster/quota-ledger.ts),
// so that writes through several nodes at once cannot pass a quota either.
import type { Quotas } from '../storage/catalog';
import type { DurableObject } from './durable';
import type { DurableIndex } from './durable-index';
import { ServiceError } from './errors';
import { tenantGone, type IndexRegistry } from './registry';

/** What a tenant's work in flight has been promised against its quotas. */
export interface Reservation {
  indexes: number;
  vectors: number;
  bytes: number;
}

/** An object's usage once its log is applied through `seq`: a fact every replica at that sequence agrees on. */
export interface UsageCount {
  vectors: number;
  bytes: number;
  seq: number;
}

/** How a write that held quota ended (what the cluster's shared usage settles with). */
export interface WriteOutcome {
  /**
   * Its hold may go: the write was applied, or it never will be (refused before
   * its append). Else (its append failed, and may yet have landed) the hold stays
   * until its append is seen applied, or it expires and the object is counted again.
   */
  final: boolean;
  /** Its object's usage as this node has applied it (after the write, when final). */
  count?: UsageCount;
  /** The sequence at which this node's copy of the object applied the append of that id (undefined: not known): holds of appends at or before `count`'s are counted by it. */
  applied?: (appendId: string) => number | undefined;
}

/** What a write holds of its tenant's quotas until it ends. */
export interface Admission {
  end(outcome: WriteOutcome): void;
}

/** What an admission for a retry already applied holds: nothing. */
export const NOTHING_HELD: Admission = { end: () => undefined };

/** Which write a hold is for: its object's storage id, and (a replicated write's) the id it is appended under. */
export interface HoldTarget {
  object: string;
  appendId?: string;
}

/** How the shared usage learns a tenant's objects and counts one at the head of its log (to settle what a dead node held). */
export interface TenantObjects {
  ids(): string[];
  /** undefined: no such object (deleted). `applied`: as in WriteOutcome. */
  count(id: string): Promise<{ count: UsageCount; applied: (appendId: string) => number | undefined } | undefined>;
}

/**
 * A cluster's usage of each tenant, one record shared by every node
 * (cluster/quota-ledger.ts): a write's growth is checked against it and held
 * there before it is appended, and settled after.
 */
export interface SharedUsage {
  /** Refuses `growth` past `quotas` (ERR_QUOTA_EXCEEDED), else holds it until the admission ends. */
  hold(tenant: string, quotas: Quotas, growth: Reservation, target: HoldTarget, objects: TenantObjects): Promise<Admission>;
  /** An object's usage as this node applied it (`applied`: as in WriteOutcome), with no write of its own to end. */
  settle(tenant: string, object: string, count: UsageCount, applied?: (appendId: string) => number | undefined): Promise<void>;
  /** A deleted object: its usage is given back. */
  forget(tenant: string, object: string): Promise<void>;
  /** A deleted tenant: its usage record goes. */
  dropTenant(tenant: string): void;
  /** What the tenant uses as the shared record has it: every object's usage and every hold. */
  usage(tenant: string): Promise<{ indexes: number; vectors: number; bytes: number }>;
}

/** A loaded object's usage as applied here (not loaded: as of its last snapshot). */
export function usageCountOf(l: DurableObject): UsageCount {
  // Not loaded: its summary is as of its last snapshot, which may be older than its version (sequence 0: any count replaces it).
  return l.loaded ? { vectors: l.liveNtotal ?? 0, bytes: l.residentBytes, seq: l.version } : { vectors: l.summary?.ntotal ?? 0, bytes: l.summary?.bytes ?? 0, seq: 0 };
}

export class TenantQuotas {
  private readonly reserved = new Map<string, Reservation>();

  constructor(
    private readonly registry: IndexRegistry,
    /** undefined: no such tenant (deleted meanwhile). */
    private readonly quotasOf: (tenant: string) => Quotas | undefined,
    /** A cluster's: the tenants' usage shared by every node, and how an object is counted at its log's head. */
    private readonly shared?: { usage: SharedUsage; count: (l: DurableObject) => Promise<UsageCount | undefined> },
  ) {}

  /**
   * Checks `growth` against the tenant's quotas and holds it until the admission
   * ends. A single node checks and reserves in one turn of the event loop
   * (requireRoom, reserve); a cluster's node holds it in the shared usage.
   */
  async admit(tenant: string, growth: Reservation, target: HoldTarget): Promise<Admission> {
    if (!this.shared) {
      if (growth.indexes > 0) this.requireIndexQuota(tenant);
      const room = growth.vectors > 0 || growth.bytes > 0 || growth.indexes === 0 ? this.requireRoom(tenant, growth.vectors, growth.bytes) : { vectors: 0, bytes: 0 };
      const release = this.reserve(tenant, { indexes: growth.indexes, ...room });
      return { end: release };
    }
    const quotas = this.quotas(tenant);
    const { usage, count } = this.shared;
    return usage.hold(tenant, quotas, growth, target, {
      ids: () => [...this.registry.ofTenant(tenant)].map((l) => l.record.id),
      count: async (id) => {
        const l = [...this.registry.ofTenant(tenant)].find((o) => o.record.id === id);
        const counted = l && (await count(l));
        return counted && { count: counted, applied: (appendId: string) => l.appliedAt(appendId) };
      },
    });
  }

  /**
   * After a write that may have shrunk `l` (a remove, a reset, a delete of
   * points): a cluster's shared usage moves to what it holds now (`count`: a
   * sharded index's, gathered), which gives quota back. A single node counts its
   * registry: nothing to do.
   */
  async counted(tenant: string, l: DurableObject, count?: UsageCount): Promise<void> {
    // Answered once given back (a next write through any node sees the room); if it cannot be, the usage is counted again later.
    await this.shared?.usage.settle(tenant, l.record.id, count ?? usageCountOf(l), (id) => l.appliedAt(id)).catch(() => undefined);
  }

  /** A deleted object's usage is given back (a cluster's shared usage; a single node's counts the registry). */
  async forget(tenant: string, object: string): Promise<void> {
    await this.shared?.usage.forget(tenant, object).catch(() => undefined);
  }

  /** A deleted tenant's usage goes with it. */
  dropTenant(tenant: string): void {
    this.shared?.usage.dropTenant(tenant);
  }

  /** What quotas are checked against: a cluster's shared usage (every node's writes and holds), a single node's own. */
  async checkedUsage(tenant: string): Promise<{ indexes: number; vectors: number; bytes: number }> {
    return this.shared ? this.shared.usage.usage(tenant) : this.usage(tenant);
  }

  /** Per-tenant usage (not-loaded indexes: as of their last snapshot). */
  usage(tenant: string): { indexes: number; vectors: number; bytes: number } {
    let vectors = 0;
    let bytes = 0;
    let indexes = 0;
    for (const l of this.registry.ofTenant(tenant)) {
      indexes++;
      vectors += l.liveNtotal ?? l.summary?.ntotal ?? 0;
      bytes += l.loaded ? l.residentBytes : (l.summary?.bytes ?? 0);
    }
    return { indexes, vectors, bytes };
  }

  requireIndexQuota(tenant: string): void {
    const { maxIndexes } = this.quotas(tenant);
    // A cluster's node may not have heard of another's delete yet: the shared usage decides (admit).
    if (this.shared) return;
    if (this.usage(tenant).indexes + (this.reserved.get(tenant)?.indexes ?? 0) >= maxIndexes) {
      throw new ServiceError('ERR_QUOTA_EXCEEDED', `Tenant ${tenant} already has its maximum of ${maxIndexes} indexes (its collections count as indexes)`);
    }
  }

  /** Refuses growth past the tenant's quotas (counting what is reserved); answers the net growth to reserve. */
  requireRoom(tenant: string, vectors: number, bytes: number, replacing?: DurableObject): { vectors: number; bytes: number } {
    const quotas = this.quotas(tenant);
    const usage = this.usage(tenant);
    const freedVectors = replacing ? (replacing.liveNtotal ?? replacing.summary?.ntotal ?? 0) : 0;
    const freedBytes = replacing ? replacing.residentBytes : 0;
    const reserved = this.reserved.get(tenant) ?? { indexes: 0, vectors: 0, bytes: 0 };
    if (usage.vectors - freedVectors + reserved.vectors + vectors > quotas.maxVectors) {
      throw new ServiceError(
        'ERR_QUOTA_EXCEEDED',
        `Tenant ${tenant} would exceed its quota of ${quotas.maxVectors} vectors (it has ${usage.vectors}, this adds ${vectors})`,
      );
    }
    if (usage.bytes - freedBytes + reserved.bytes + bytes > quotas.maxBytes) {
      throw new ServiceError(
        'ERR_QUOTA_EXCEEDED',
        `Tenant ${tenant} would exceed its quota of ${quotas.maxBytes} bytes (it uses ${usage.bytes}, this adds about ${bytes})`,
      );
    }
    return { vectors: Math.max(0, vectors - freedVectors), bytes: Math.max(0, bytes - freedBytes) };
  }

  /** Holds `r` of the tenant's quotas until the returned function is called. */
  reserve(tenant: string, r: Reservation): () => void {
    const add = (sign: number) => {
      const now = this.reserved.get(tenant) ?? { indexes: 0, vectors: 0, bytes: 0 };
      const next = { indexes: now.indexes + sign * r.indexes, vectors: now.vectors + sign * r.vectors, bytes: now.bytes + sign * r.bytes };
      if (next.indexes <= 0 && next.vectors <= 0 && next.bytes <= 0) this.reserved.delete(tenant);
      else this.reserved.set(tenant, next);
    };
    add(1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      add(-1);
    };
  }

  /** Checks and holds room for `n` more vectors in `l`, loaded and holding `ntotal` (its size per vector is known then). */
  admitVectors(tenant: string, l: DurableIndex, ntotal: number, n: number, appendId: string | undefined): Promise<Admission> {
    const perVector = ntotal > 0 ? l.residentBytes / ntotal : l.record.dimension * 4;
    return this.admit(tenant, { indexes: 0, vectors: n, bytes: Math.ceil(perVector * n) }, { object: l.record.id, appendId });
  }

  /** A tenant gone since its request began has no quota to grow into: it is not found. */
  private quotas(tenant: string): Quotas {
    const q = this.quotasOf(tenant);
    if (!q) throw tenantGone(tenant);
    return q;
  }
}
