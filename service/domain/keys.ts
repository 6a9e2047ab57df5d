// API keys: "fp_<id>_<secret>". The id (public, 64 bits) finds the record; the
// secret (256 random bits) is only ever stored as its SHA-256 and compared in
// constant time. Every check asks the catalog, whose record cache holds only
// while no other process has written it (storage/catalog.ts), so a key revoked by
// the API or the CLI stops working at once.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Catalog, KeyRecord, Role } from '../storage/catalog';
import { ServiceError } from './errors';

export const ROLES: readonly Role[] = ['admin', 'write', 'read'];

export interface IssuedKey {
  id: string;
  tenant: string;
  role: Role;
  label: string | null;
  createdAt: string;
  /** The full key: shown once, never stored. */
  key: string;
}

export interface Principal {
  keyId: string;
  tenant: string;
  role: Role;
}

export type PublicKey = Omit<KeyRecord, 'hash'>;

const KEY = /^fp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

const publicOf = ({ hash: _hash, ...pub }: KeyRecord): PublicKey => pub;

export class KeyService {
  constructor(private readonly catalog: Catalog) {}

  issue(tenant: string, role: Role, label: string | null = null, secret?: string): IssuedKey {
    if (!ROLES.includes(role)) throw new ServiceError('ERR_INVALID_ARGUMENT', `Expected role to be one of ${ROLES.join(', ')}`);
    const id = randomBytes(8).toString('hex');
    const key = secret ?? `fp_${id}_${randomBytes(32).toString('base64url')}`;
    const parsed = KEY.exec(key);
    if (!parsed) throw new ServiceError('ERR_INVALID_ARGUMENT', 'Expected a key of the form fp_<16 hex>_<43 base64url characters>');
    const record: KeyRecord = {
      id: parsed[1],
      tenant,
      role,
      hash: sha256(parsed[2]).toString('hex'),
      label,
      createdAt: new Date().toISOString(),
      revokedAt: null,
    };
    if (this.catalog.getKey(record.id)) throw new ServiceError('ERR_INVALID_ARGUMENT', 'A key with this id already exists');
    this.catalog.insertKey(record);
    return { id: record.id, tenant, role, label, createdAt: record.createdAt, key };
  }

  /** The principal a presented key stands for, or undefined (unknown, malformed or revoked). */
  verify(presented: string): Principal | undefined {
    const parsed = KEY.exec(presented);
    if (!parsed) return undefined;
    const record = this.catalog.getKey(parsed[1]);
    if (!record || record.revokedAt) return undefined;
    const ok = timingSafeEqual(sha256(parsed[2]), Buffer.from(record.hash, 'hex'));
    return ok ? { keyId: record.id, tenant: record.tenant, role: record.role } : undefined;
  }

  list(tenant?: string): PublicKey[] {
    return this.catalog.listKeys(tenant).map(publicOf);
  }

  /** The tenant a key belongs to, or undefined for an unknown id. */
  tenantOf(id: string): string | undefined {
    return this.catalog.getKey(id)?.tenant;
  }

  revoke(id: string): PublicKey {
    const record = this.catalog.getKey(id);
    if (!record) throw new ServiceError('ERR_KEY_NOT_FOUND', `No key with id ${JSON.stringify(id)}`);
    if (!record.revokedAt) {
      record.revokedAt = new Date().toISOString();
      this.catalog.revokeKey(id, record.revokedAt);
    }
    return publicOf(record);
  }

  /** Whether the tenant has an admin key that still works. */
  hasAdmin(tenant: string): boolean {
    return this.catalog.listKeys(tenant).some((k) => k.role === 'admin' && !k.revokedAt);
  }
}
