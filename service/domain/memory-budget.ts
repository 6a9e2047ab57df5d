// The memory a tenant's requests in flight may hold, together. The per-request
// limit (--max-request-memory) bounds one request; without this, one tenant
// running many such requests at once (N x 256 MiB) could take the memory every
// other tenant needs. Each request reserves its bound before any work and gives
// it back when it is done (answered, failed, or its client gone). A request is
// refused only while the tenant's other requests hold memory: alone, it runs
// (within the per-request limits), so no request the server allows is refused
// for ever, however small the tenant's budget.
import { ServiceError } from './errors';

/** Formats bytes the way the library's ERR_RESOURCE_LIMIT messages do. */
export function formatBytes(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${bytes} bytes` : `${v.toFixed(1)} ${units[u]}`;
}

/** One request's reservations; release() gives all of them back, once. */
export interface Reservation {
  /** Holds `bytes` more for `what`; throws ERR_TENANT_MEMORY (nothing held for it) when they do not fit beside the tenant's other requests. */
  hold(bytes: number, what: string): void;
  release(): void;
}

export class TenantMemoryBudget {
  private readonly reserved = new Map<string, number>();

  /**
   * `limitOf`: the tenant's budget in bytes (its quota, or the server's default).
   * `floor`: what every tenant's budget is at least (the per-request limit:
   * loadConfig and TenantService refuse less). A reservation that keeps the tenant
   * within it needs no look-up: most are small, and a catalog read for each
   * would be paid by every search on the event loop.
   */
  constructor(
    private readonly limitOf: (tenant: string) => number,
    private readonly floor = 0,
  ) {}

  /** A request of `tenant`, holding nothing yet. */
  open(tenant: string): Reservation {
    let held = 0;
    let released = false;
    return {
      hold: (bytes, what) => {
        if (released) throw new Error('hold() after release()');
        this.take(tenant, bytes, held, what);
        held += bytes;
      },
      release: () => {
        if (released) return;
        released = true;
        this.give(tenant, held);
      },
    };
  }

  /** Bytes the tenant's requests in flight hold now. */
  reservedBy(tenant: string): number {
    return this.reserved.get(tenant) ?? 0;
  }

  /** Every tenant holding something now, with its bytes. */
  holders(): Array<{ tenant: string; bytes: number }> {
    return [...this.reserved].map(([tenant, bytes]) => ({ tenant, bytes }));
  }

  /** `own`: what the same request holds already (it is not in the way of itself). */
  private take(tenant: string, bytes: number, own: number, what: string): void {
    const now = this.reservedBy(tenant);
    if (now !== own && now + bytes > this.floor) {
      const limit = this.limitOf(tenant);
      if (now + bytes > limit) {
        throw new ServiceError(
          'ERR_TENANT_MEMORY',
          `${what} needs ${formatBytes(bytes)}, and tenant ${tenant}'s requests in flight hold ${formatBytes(now)} of its memory budget (maxTenantMemory, --max-tenant-memory) of ${formatBytes(limit)}; retry when some have finished`,
        );
      }
    }
    if (bytes > 0) this.reserved.set(tenant, now + bytes);
  }

  private give(tenant: string, bytes: number): void {
    if (bytes === 0) return;
    const left = this.reservedBy(tenant) - bytes;
    if (left > 0) this.reserved.set(tenant, left);
    else this.reserved.delete(tenant);
  }
}
