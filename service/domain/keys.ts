// API keys: "fp_<id>_<secret>". The id (public, 64 bits) finds the record; the
// secret (256 random bits) is only ever stored as its SHA-256 and compared in
// constant time. Every request is checked this way; what the check reads of a
// key (its role, tenant and secret's digest) is kept while the catalog's key
// generation stays the same, which any change to the keys moves, this process's
// at once, another's (the CLI revoking a key while the service runs) within
// OTHER_CONNECTIONS_SEEN_WITHIN_MS (storage/catalog.ts): a key revoked by the API
// stops working at once, one revoked by the CLI within that bound.
import { hash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Catalog, KeyRecord, Role, TenantId } from '../storage/catalog';
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
  /**
   * The id of the tenant record the key was checked under: what the request creates lands only while it is the
   * tenant's (a tenant deleted and made again under the name meanwhile, through any node, has another).
   */
  tenantId: TenantId;
  role: Role;
}

export type PublicKey = Omit<KeyRecord, 'hash'>;

const KEY = /^fp_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;
/** One-shot (crypto.hash, Node >= 20.12): no Hash object per request. */
const sha256 = (s: string): Buffer => hash('sha256', s, 'buffer');

const publicOf = ({ hash: _hash, ...pub }: KeyRecord): PublicKey => pub;

/** What a valid key's check needs of its record. */
interface KnownKey {
  principal: Principal;
  /** The SHA-256 of its secret. */
  digest: Buffer;
}

/** Keys known at most; past it the cache starts over (a flood of distinct valid keys cannot grow it). */
const KNOWN_KEYS_LIMIT = 10_000;

export class KeyService {
  /** Valid keys by id, as read in generation `knownGeneration` of the catalog's keys; unknown and revoked ids are not kept. */
  private readonly known = new Map<string, KnownKey>();
  private knownGeneration = -1;

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
    const tenantId = this.catalog.tenantId(tenant);
    if (tenantId === undefined) throw new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(tenant)}`);
    this.catalog.insertKey(record, tenantId);
    return { id: record.id, tenant, role, label, createdAt: record.createdAt, key };
  }

  /** The principal a presented key stands for, or undefined (unknown, malformed or revoked). */
  verify(presented: string): Principal | undefined {
    const parsed = KEY.exec(presented);
    if (!parsed) return undefined;
    const known = this.knownKey(parsed[1]);
    if (!known) return undefined;
    const ok = timingSafeEqual(sha256(parsed[2]), known.digest);
    return ok ? known.principal : undefined;
  }

  /**
   * Whether a principal checked earlier still stands: its key still works, under the same tenant record. Not so
   * once its tenant was deleted (and perhaps made again under the name), through any node, or its key revoked.
   */
  stillValid(p: Principal): boolean {
    const known = this.knownKey(p.keyId);
    return known !== undefined && (known.principal === p || known.principal.tenantId === p.tenantId);
  }

  /** The valid key of this id, from the cache while the catalog's keys are unchanged. */
  private knownKey(id: string): KnownKey | undefined {
    const generation = this.catalog.keyGeneration();
    if (generation !== this.knownGeneration || this.known.size >= KNOWN_KEYS_LIMIT) {
      this.known.clear();
      this.knownGeneration = generation;
    }
    let known = this.known.get(id);
    if (known) return known;
    const record = this.catalog.getKey(id);
    if (!record || record.revokedAt) return undefined;
    const tenantId = this.catalog.tenantId(record.tenant);
    if (tenantId === undefined) return undefined;
    known = { principal: Object.freeze({ keyId: record.id, tenant: record.tenant, tenantId, role: record.role }), digest: Buffer.from(record.hash, 'hex') };
    this.known.set(id, known);
    return known;
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
    if (record.revokedAt) return publicOf(record);
    // A key deleted meanwhile (its tenant's deletion, through another node) stays deleted.
    const revoked = this.catalog.revokeKey(id, new Date().toISOString());
    if (!revoked) throw new ServiceError('ERR_KEY_NOT_FOUND', `No key with id ${JSON.stringify(id)}`);
    return publicOf(revoked);
  }

  /** Whether the tenant has an admin key that still works. */
  hasAdmin(tenant: string): boolean {
    return this.catalog.listKeys(tenant).some((k) => k.role === 'admin' && !k.revokedAt);
  }
}
