// Tenants and their quotas. Deleting a tenant deletes its indexes and keys.
import type { Catalog, Quotas, TenantRecord } from '../storage/catalog';
import { ServiceError } from './errors';
import type { IndexService } from './indexes';
import { requireName } from './names';

export class TenantService {
  constructor(
    private readonly catalog: Catalog,
    private readonly indexes: IndexService,
    private readonly defaults: Quotas,
  ) {}

  create(name: string, quotas: Partial<Quotas> = {}): TenantRecord {
    requireName(name, 'the tenant name');
    if (this.catalog.getTenant(name)) throw new ServiceError('ERR_TENANT_EXISTS', `Tenant ${name} already exists`);
    const record: TenantRecord = { name, createdAt: new Date().toISOString(), ...this.defaults, ...quotas };
    this.catalog.insertTenant(record);
    return record;
  }

  list(): TenantRecord[] {
    return this.catalog.listTenants();
  }

  get(name: string): TenantRecord {
    const t = this.catalog.getTenant(name);
    if (!t) throw new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(name)}`);
    return t;
  }

  setQuotas(name: string, quotas: Partial<Quotas>): TenantRecord {
    const t = this.get(name);
    const next = { maxIndexes: t.maxIndexes, maxVectors: t.maxVectors, maxBytes: t.maxBytes, ...quotas };
    this.catalog.updateQuotas(name, next);
    return { ...t, ...next };
  }

  /** One catalog transaction removes the tenant, its keys and its indexes' rows; the files go after. */
  async delete(name: string): Promise<void> {
    this.get(name);
    this.catalog.deleteTenant(name); // cascades to the tenant's keys and indexes
    await this.indexes.dropTenant(name);
  }
}
