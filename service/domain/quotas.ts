// The quotas of tenants: what each uses (indexes, vectors, bytes; a collection
// counts as an index, its points as vectors, its payloads' JSON as bytes), the checks
// that refuse growth past its quotas, and the reservations that make the checks
// hold under concurrency: quota promised to creates, imports and adds in flight
// is taken in the same turn of the event loop as the check, so concurrent
// requests cannot all pass it, and given back when each finishes (its index then
// counts itself).
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

export class TenantQuotas {
  private readonly reserved = new Map<string, Reservation>();

  constructor(
    private readonly registry: IndexRegistry,
    /** undefined: no such tenant (deleted meanwhile). */
    private readonly quotasOf: (tenant: string) => Quotas | undefined,
  ) {}

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

  /** Checks and reserves room for `n` more vectors in `l`, loaded and holding `ntotal` (its size per vector is known then). */
  reserveVectors(tenant: string, l: DurableIndex, ntotal: number, n: number): () => void {
    const perVector = ntotal > 0 ? l.residentBytes / ntotal : l.record.dimension * 4;
    return this.reserve(tenant, { indexes: 0, ...this.requireRoom(tenant, n, Math.ceil(perVector * n)) });
  }

  /** A tenant gone since its request began has no quota to grow into: it is not found. */
  private quotas(tenant: string): Quotas {
    const q = this.quotasOf(tenant);
    if (!q) throw tenantGone(tenant);
    return q;
  }
}
