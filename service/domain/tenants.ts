// Tenants and their quotas. Deleting a tenant deletes its indexes and keys.
import type { Catalog, Quotas, TenantRecord } from '../storage/catalog';
import { ServiceError } from './errors';
import type { IndexService } from './indexes';
import { requireName } from './names';

export class TenantService {
  /** Tenants being deleted: their name cannot be taken again until that is done. */
  private readonly deleting = new Set<string>();

  constructor(
    private readonly catalog: Catalog,
    private readonly indexes: IndexService,
    private readonly defaults: Quotas,
    /** The least maxTenantMemory a tenant may have: the per-request limit (less, and one request could fill it). */
    private readonly minTenantMemory = 0,
  ) {}

  private requireQuotas(quotas: Partial<Quotas>): void {
    const m = quotas.maxTenantMemory;
    if (m !== undefined && m !== null && m < this.minTenantMemory) {
      throw new ServiceError(
        'ERR_INVALID_ARGUMENT',
        `maxTenantMemory must be at least the per-request memory limit (--max-request-memory), ${this.minTenantMemory} bytes, but received ${m}`,
      );
    }
  }

  create(name: string, quotas: Partial<Quotas> = {}): TenantRecord {
    requireName(name, 'the tenant name');
    this.requireQuotas(quotas);
    if (this.catalog.getTenant(name) || this.deleting.has(name)) throw new ServiceError('ERR_TENANT_EXISTS', `Tenant ${name} already exists`);
    const record: TenantRecord = { name, createdAt: new Date().toISOString(), ...this.defaults, ...quotas };
    this.catalog.insertTenant(record);
    return record;
  }

  list(): TenantRecord[] {
    return this.catalog.listTenants();
  }

  get(name: string): TenantRecord {
    const t = this.deleting.has(name) ? undefined : this.catalog.getTenant(name);
    if (!t) throw new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(name)}`);
    return t;
  }

  /** Only the quotas given change: a racing change of another quota (another node's, in a cluster) is kept. */
  setQuotas(name: string, quotas: Partial<Quotas>): TenantRecord {
    this.get(name);
    this.requireQuotas(quotas);
    const after = this.catalog.updateQuotas(name, quotas);
    if (!after) throw new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(name)}`);
    return after;
  }

  /**
   * Its indexes are closed first (none can be used or made meanwhile, indexes.ts
   * dropTenant); then one catalog transaction removes the tenant, its keys and its
   * indexes' rows; then the files go. The name stays taken until all is done, so
   * a new tenant of that name starts empty.
   */
  async delete(name: string): Promise<void> {
    this.get(name); // also refuses a tenant already being deleted
    this.deleting.add(name);
    try {
      await this.indexes.dropTenant(name, () => this.catalog.deleteTenant(name)); // cascades to keys and indexes
    } finally {
      this.deleting.delete(name);
    }
  }
}
