// Which tenant a record of the cluster's catalog belongs to (docs/cluster.md
// "A tenant's deletion"). A tenant's name can be deleted through one node while
// a key, index, collection or alias is created under it through another, and be
// taken again by a new tenant later: the name alone cannot tell the new tenant's
// records from the old one's. So each tenant record carries an id (a UUID made
// when it is created, never made again), and each record under it the id of the
// tenant it was made under (`tenantId`): a record belongs to the tenant record
// of its name only while the two ids are the same. Pure: the catalog's writer
// (catalog-writer.ts), its mirror (kv-catalog.ts) and the leak collector decide
// with these on the records as each has them.

/** A tenant's record as the bucket holds it: `id` absent on one made before tenant ids (see belongsTo). */
export interface StoredTenant {
  name: string;
  id?: string;
}

/** A key's, index's, collection's or alias's record as the bucket holds it. */
export interface StoredUnderTenant {
  tenant: string;
  tenantId?: string;
}

/**
 * Whether `record` belongs to `tenant` (its name's record, or undefined: none).
 * Records made before tenant ids have neither id: such a record belongs to a
 * tenant record made then too, never to one made since (every new tenant gets an
 * id), so a leftover of the old version's deletions is not honoured by a tenant
 * of that name made again.
 */
export function belongsTo(record: StoredUnderTenant, tenant: StoredTenant | undefined): boolean {
  return tenant !== undefined && (record.tenantId ?? null) === (tenant.id ?? null);
}

/** What a create under a tenant decides, on the record at its key and its tenant's record as the change lands. */
export type CreateUnderTenant = { write: true } | { write: false; exists: true } | { write: false; tenantGone: true };

/**
 * A create of `value` under its tenant lands only while the tenant record it was
 * made for (the same id) is there: a tenant deleted (or deleted and made again)
 * first wins, and no record of it outlives it unseen. A record at the key that
 * does not belong to its tenant's record (a leftover of a deleted tenant, not
 * collected yet) is no record: the new one takes its place.
 */
export function decideCreateUnderTenant(value: string, current: string | undefined, tenant: string | undefined): CreateUnderTenant {
  const tenantRecord = tenant === undefined ? undefined : (JSON.parse(tenant) as StoredTenant);
  if (!belongsTo(JSON.parse(value) as StoredUnderTenant, tenantRecord)) return { write: false, tenantGone: true };
  if (current !== undefined && belongsTo(JSON.parse(current) as StoredUnderTenant, tenantRecord)) return { write: false, exists: true };
  return { write: true };
}

/**
 * Whether the record at a key (undefined: none) is a leftover of a deleted tenant named `name`, by the record of
 * that name as it is (undefined: none). A record of another tenant's name is not judged here (false): a key's id
 * may have been taken by another tenant's key since.
 */
export function isLeftover(current: string | undefined, name: string, tenant: string | undefined): boolean {
  if (current === undefined) return false;
  const record = JSON.parse(current) as StoredUnderTenant;
  return record.tenant === name && !belongsTo(record, tenant === undefined ? undefined : (JSON.parse(tenant) as StoredTenant));
}
