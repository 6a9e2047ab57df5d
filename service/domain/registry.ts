// The registry: which indexes and collections exist, by tenant and name (each
// kind its own namespace), and the lifecycle rules around the names. A name being created or imported is taken before its index is
// registered; a tenant being deleted has no index to use or make, and a create
// that began under one tenant record cannot finish into a later tenant of the
// same name (its tenant id, the catalog's).
import type { DurableObject } from './durable';
import type { DurableCollection } from './durable-collection';
import type { DurableIndex } from './durable-index';
import { ServiceError } from './errors';
import type { TenantId } from '../storage/catalog';

const key = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

export const tenantGone = (tenant: string): ServiceError => new ServiceError('ERR_TENANT_NOT_FOUND', `Tenant ${tenant} was deleted`);

export class IndexRegistry {
  private readonly indexes = new Map<string, DurableIndex>();
  private readonly collections = new Map<string, DurableCollection>();
  /** Index names being created or imported (not yet registered): a second create of one is ERR_INDEX_EXISTS. */
  private readonly creating = new Set<string>();
  /** Creates and imports in flight per tenant: deleting the tenant waits for them. */
  private readonly installing = new Map<string, Set<Promise<unknown>>>();
  /** Tenants being deleted: none of their indexes can be used or made meanwhile. */
  private readonly closing = new Set<string>();
  /** The id of a tenant's record in the catalog (undefined: none), read when a create or import is to land. */
  constructor(private readonly tenantIdOf: (tenant: string) => TenantId | undefined) {}

  /** Every registered index and collection (what memory, quotas and shutdown cover). */
  all(): DurableObject[] {
    return [...this.indexes.values(), ...this.collections.values()];
  }

  /** The registered indexes and collections of one tenant. */
  *ofTenant(tenant: string): Iterable<DurableObject> {
    for (const l of this.all()) if (l.record.tenant === tenant) yield l;
  }

  /** Every registered index. */
  allIndexes(): DurableIndex[] {
    return [...this.indexes.values()];
  }

  /** The registered indexes of one tenant. */
  *indexesOf(tenant: string): Iterable<DurableIndex> {
    for (const l of this.indexes.values()) if (l.record.tenant === tenant) yield l;
  }

  /** Every registered collection. */
  allCollections(): DurableCollection[] {
    return [...this.collections.values()];
  }

  /** The collection of that name if registered (undefined also while its tenant is being deleted). */
  findCollection(tenant: string, name: string): DurableCollection | undefined {
    return typeof name === 'string' && !this.closing.has(tenant) ? this.collections.get(key(tenant, name)) : undefined;
  }

  registerCollection(c: DurableCollection): void {
    this.collections.set(key(c.record.tenant, c.record.name), c);
  }

  /** The index of that name, or ERR_INDEX_NOT_FOUND (also while its tenant is being deleted). */
  get(tenant: string, name: string): DurableIndex {
    const l = typeof name === 'string' && !this.closing.has(tenant) ? this.indexes.get(key(tenant, name)) : undefined;
    if (!l) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(name)}`);
    return l;
  }

  /** The index of that name if registered (being created does not count). */
  find(tenant: string, name: string): DurableIndex | undefined {
    return this.indexes.get(key(tenant, name));
  }

  isCreating(tenant: string, name: string): boolean {
    return this.creating.has(key(tenant, name));
  }

  register(l: DurableIndex): void {
    this.indexes.set(key(l.record.tenant, l.record.name), l);
  }

  /** Unregisters `l`, unless its name now belongs to another index or collection. */
  unregister(l: DurableObject): void {
    const k = key(l.record.tenant, l.record.name);
    if (this.indexes.get(k) === l) this.indexes.delete(k);
    if (this.collections.get(k) === l) this.collections.delete(k);
  }

  clear(): void {
    this.indexes.clear();
    this.collections.clear();
  }

  /** Takes a name for a create or import (of a collection: `kind`) until the returned function is called. */
  claimName(tenant: string, name: string, kind: 'index' | 'collection' = 'index'): () => void {
    const k = kind === 'index' ? key(tenant, name) : `collection\u0000${key(tenant, name)}`;
    this.creating.add(k);
    return () => this.creating.delete(k);
  }

  isCreatingCollection(tenant: string, name: string): boolean {
    return this.creating.has(`collection\u0000${key(tenant, name)}`);
  }

  /**
   * The id of the tenant's record now, for a create or import to carry (`given`: the one its request was let in
   * under, Principal.tenantId); ERR_TENANT_NOT_FOUND when there is no such tenant.
   */
  tenantIdFor(tenant: string, given?: TenantId): TenantId {
    const id = given !== undefined ? given : this.tenantIdOf(tenant);
    if (id === undefined) throw tenantGone(tenant);
    return id;
  }

  /** The tenant is not being deleted, nor (given `tenantId`, the id of its record then) deleted, or deleted and made again, since. */
  requireOpen(tenant: string, tenantId?: TenantId): void {
    if (this.closing.has(tenant) || (tenantId !== undefined && this.tenantIdOf(tenant) !== tenantId)) throw tenantGone(tenant);
  }

  /**
   * Runs `work` (the deletion of a tenant) with the tenant closed: from the first
   * moment none of its indexes can be used or made, and creates and imports in
   * flight are waited for before `work` starts (they fail rather than finish).
   */
  async closingTenant<T>(tenant: string, work: () => Promise<T>): Promise<T> {
    this.closing.add(tenant);
    try {
      await Promise.allSettled([...(this.installing.get(tenant) ?? [])]);
      return await work();
    } finally {
      this.closing.delete(tenant);
    }
  }

  /** Registers a create or import in flight, for closingTenant to wait for. */
  tracked<T>(tenant: string, work: Promise<T>): Promise<T> {
    let set = this.installing.get(tenant);
    if (!set) this.installing.set(tenant, (set = new Set()));
    const inFlight = set;
    inFlight.add(work);
    const forget = () => {
      inFlight.delete(work);
      if (inFlight.size === 0 && this.installing.get(tenant) === inFlight) this.installing.delete(tenant);
    };
    work.then(forget, forget);
    return work;
  }
}
