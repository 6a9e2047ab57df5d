// The catalog: tenants, API key hashes, quotas, index and collection metadata and
// aliases, in SQLite
// (better-sqlite3) in the data directory. Behind the Catalog interface so another
// backend can replace it without touching the domain or the routes.
import Database from 'better-sqlite3';
import { randomUUID } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { CollectionSpec } from '../../lib/collections/types';
import type { StorageIO } from './storage-io';
import { ServiceError } from '../domain/errors';

/**
 * How long another connection's commit (the CLI revoking a key while the service
 * runs) may go unseen by keyGeneration(): it reads SQLite's data_version at most
 * this often. This connection's own changes count at once. Reading it on every
 * request cost the search path more than any other step of the key check
 * (npm run bench -- --only targets --profile-server; bench/RESULTS.md).
 */
export const OTHER_CONNECTIONS_SEEN_WITHIN_MS = 10;

export interface Quotas {
  maxIndexes: number;
  maxVectors: number;
  maxBytes: number;
  /** Bytes its requests in flight may hold together (domain/memory-budget.ts); null: the server's --max-tenant-memory. */
  maxTenantMemory: number | null;
}

export interface TenantRecord extends Quotas {
  name: string;
  createdAt: string;
}

export type Role = 'admin' | 'write' | 'read';

export interface KeyRecord {
  id: string;
  tenant: string;
  role: Role;
  hash: string; // hex sha256 of the secret part
  label: string | null;
  createdAt: string;
  revokedAt: string | null;
}

export interface IndexRecord {
  tenant: string;
  name: string;
  /** Stable internal id: names the index's files, so names never reach paths. */
  id: string;
  dimension: number;
  factory: string;
  metric: number;
  createdAt: string;
  /** Load IVF inverted lists memory-mapped from the snapshot while the index is not written to. */
  mmap: boolean;
  /**
   * The search and build parameters it was created with. A snapshot holds them
   * too; a cluster's replicas build the index from its record (no snapshot yet),
   * so the cluster's catalog keeps them (SQLite's does not need to).
   */
  params?: { nprobe?: number; efSearch?: number; efConstruction?: number };
  /** Where it lives when loaded: "gpu:<n>" (serve --gpu; domain/gpu-placement.ts); absent: the CPU. */
  device?: string;
  /** A cluster's sharded index: its points partitioned over this many shards (domain/sharded-indexes.ts); absent: whole. */
  shards?: number;
}

/** A collection (domain/collections.ts): its spec as created, and the storage id naming its files. */
export interface CollectionRecord {
  tenant: string;
  name: string;
  /** Stable internal id: names the collection's files (beside the indexes'), so names never reach paths. */
  id: string;
  spec: CollectionSpec;
  createdAt: string;
  /** A cluster's sharded collection: its points partitioned over this many shards (domain/sharded-collections.ts); absent: whole. */
  shards?: number;
}

/** An alias of a tenant: a second name for one of its collections, switched atomically. */
export interface AliasRecord {
  tenant: string;
  alias: string;
  collection: string;
}

/**
 * The id of a tenant's record: made when the tenant is made, never made again, so a tenant of a name made again
 * after a deletion has another. null: a cluster's tenant made before tenant ids (docs/cluster.md).
 */
export type TenantId = string | null;

export interface Catalog {
  listTenants(): TenantRecord[];
  getTenant(name: string): TenantRecord | undefined;
  /** The id of the tenant's record (undefined: no tenant of that name). */
  tenantId(name: string): TenantId | undefined;
  /** With a new id (tenantId). */
  insertTenant(t: TenantRecord): void;
  /** Sets the quotas given, keeping the others as they are then; the tenant after, or undefined when there is none. */
  updateQuotas(name: string, q: Partial<Quotas>): TenantRecord | undefined;
  deleteTenant(name: string): void;
  listKeys(tenant?: string): KeyRecord[];
  getKey(id: string): KeyRecord | undefined;
  /**
   * A number that changes whenever a key may have changed: at once on this
   * connection's changes, and within OTHER_CONNECTIONS_SEEN_WITHIN_MS of any
   * commit by another (the CLI revoking a key while the service runs). What was
   * read of the keys holds while it is the same.
   */
  keyGeneration(): number;
  /**
   * The creates of records under a tenant (insertKey, insertIndex, insertCollection, insertAlias) land only while
   * the tenant's record has `tenantId` (the one the caller was let in under), as the change lands: else
   * ERR_TENANT_NOT_FOUND, and nothing is written.
   */
  insertKey(k: KeyRecord, tenantId: TenantId): void;
  /** Revokes a key not revoked yet; the key after (revoked, at `at` or before), or undefined when there is none. */
  revokeKey(id: string, at: string): KeyRecord | undefined;
  listIndexes(tenant?: string): IndexRecord[];
  getIndex(tenant: string, name: string): IndexRecord | undefined;
  insertIndex(r: IndexRecord, tenantId: TenantId): void;
  /**
   * Switches an index's row to `next` (an import: new storage id, dimension, type) in one transaction,
   * if it still has storage id `replaces`: ERR_INDEX_NOT_FOUND when it is gone (never brought back).
   */
  replaceIndex(next: IndexRecord, replaces: string): void;
  /** Only the index of storage id `id` (the one the caller looked up), never one made under its name since. */
  deleteIndex(tenant: string, name: string, id: string): void;
  listCollections(tenant?: string): CollectionRecord[];
  insertCollection(r: CollectionRecord, tenantId: TenantId): void;
  /**
   * Only the collection of storage id `id`. The domain refuses while an alias points at it; a cluster's catalog
   * also refuses (ERR_INVALID_ARGUMENT) when an alias was switched to it through another node meanwhile.
   */
  deleteCollection(tenant: string, name: string, id: string): void;
  listAliases(tenant?: string): AliasRecord[];
  getAlias(tenant: string, alias: string): AliasRecord | undefined;
  insertAlias(a: AliasRecord, tenantId: TenantId): void;
  /**
   * Points an alias at another collection (one statement: atomic). A cluster's catalog checks both as the change
   * lands: ERR_ALIAS_NOT_FOUND or ERR_COLLECTION_NOT_FOUND when one was deleted through another node meanwhile.
   */
  switchAlias(a: AliasRecord): void;
  deleteAlias(tenant: string, alias: string): void;
  /** Throws unless the catalog file is still the one this connection writes (not deleted under the service). */
  checkFile(): void;
  /**
   * A cluster's (cluster/kv-catalog.ts): resolves once this node's copy holds every
   * change acknowledged before the call. A single node's catalog is always current: absent.
   */
  caughtUp?(): Promise<void>;
  close(): void;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS tenants (
  name TEXT PRIMARY KEY,
  created_at TEXT NOT NULL,
  max_indexes INTEGER NOT NULL,
  max_vectors INTEGER NOT NULL,
  max_bytes INTEGER NOT NULL,
  max_tenant_memory INTEGER,
  id TEXT
);
CREATE TABLE IF NOT EXISTS api_keys (
  id TEXT PRIMARY KEY,
  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  role TEXT NOT NULL CHECK (role IN ('admin', 'write', 'read')),
  hash TEXT NOT NULL,
  label TEXT,
  created_at TEXT NOT NULL,
  revoked_at TEXT
);
CREATE TABLE IF NOT EXISTS indexes (
  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  dimension INTEGER NOT NULL,
  factory TEXT NOT NULL,
  metric INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  mmap INTEGER NOT NULL DEFAULT 0,
  device TEXT NOT NULL DEFAULT 'cpu',
  PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS collections (
  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  name TEXT NOT NULL,
  id TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  created_at TEXT NOT NULL,
  PRIMARY KEY (tenant, name)
);
CREATE TABLE IF NOT EXISTS aliases (
  tenant TEXT NOT NULL REFERENCES tenants(name) ON DELETE CASCADE,
  alias TEXT NOT NULL,
  collection TEXT NOT NULL,
  PRIMARY KEY (tenant, alias),
  FOREIGN KEY (tenant, collection) REFERENCES collections(tenant, name) ON DELETE CASCADE
);
`;

interface Row {
  [k: string]: unknown;
}

const tenantOf = (r: Row): TenantRecord => ({
  name: r.name as string,
  createdAt: r.created_at as string,
  maxIndexes: r.max_indexes as number,
  maxVectors: r.max_vectors as number,
  maxBytes: r.max_bytes as number,
  maxTenantMemory: (r.max_tenant_memory as number | null) ?? null,
});
const keyOf = (r: Row): KeyRecord => ({
  id: r.id as string,
  tenant: r.tenant as string,
  role: r.role as Role,
  hash: r.hash as string,
  label: (r.label as string | null) ?? null,
  createdAt: r.created_at as string,
  revokedAt: (r.revoked_at as string | null) ?? null,
});
const indexOf = (r: Row): IndexRecord => ({
  tenant: r.tenant as string,
  name: r.name as string,
  id: r.id as string,
  dimension: r.dimension as number,
  factory: r.factory as string,
  metric: r.metric as number,
  createdAt: r.created_at as string,
  mmap: r.mmap === 1,
  ...(r.device !== 'cpu' && { device: r.device as string }),
});

const collectionOf = (r: Row): CollectionRecord => ({
  tenant: r.tenant as string,
  name: r.name as string,
  id: r.id as string,
  spec: JSON.parse(r.spec as string) as CollectionSpec,
  createdAt: r.created_at as string,
});
const aliasOf = (r: Row): AliasRecord => ({ tenant: r.tenant as string, alias: r.alias as string, collection: r.collection as string });

export class SqliteCatalog implements Catalog {
  private readonly db: Database.Database;
  private readonly statements = new Map<string, Database.Statement>();
  /**
   * keyGeneration(): counts this connection's changes and the commits of others
   * it has seen. SQLite changes PRAGMA data_version whenever another connection
   * (the CLI revoking a key) commits; it is read at most every
   * OTHER_CONNECTIONS_SEEN_WITHIN_MS (performance.now() clock), so such a
   * revocation is seen by every request whose check starts that long after it.
   */
  private generation = 0;
  private seenDataVersion = -1;
  private dataVersionReadAt = -Infinity;
  private readonly dataVersion: Database.Statement;

  private readonly file: string;
  private readonly identity: fs.Stats;

  /**
   * Runs a change to the catalog through the storage I/O (one transaction,
   * named for fault injection). It may change a key: a new key generation.
   */
  private change(point: string, sql: string, ...params: unknown[]): Database.RunResult {
    this.generation++;
    return this.io.catalog(point, () => {
      this.checkFile();
      return this.stmt(sql).run(...params);
    });
  }

  /**
   * A change that makes a record under `tenant`: `sql` an INSERT ... SELECT, made only while the tenant's record
   * has `tenantId` as it commits; else ERR_TENANT_NOT_FOUND (deleted meanwhile, or deleted and made again, by this
   * process or another connection), as a cluster's catalog refuses it. The tenant's deletion cascades in one
   * transaction, so no record made before it outlives it.
   */
  private changeUnder(tenant: string, tenantId: TenantId, point: string, sql: string, ...params: unknown[]): void {
    const { changes } = this.change(point, `${sql} WHERE EXISTS (SELECT 1 FROM tenants WHERE name = ? AND id IS ?)`, ...params, tenant, tenantId);
    if (changes === 0) throw new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(tenant)} (deleted meanwhile)`);
  }

  checkFile(): void {
    // SQLite keeps writing to a deleted database file (and its WAL) without a
    // word: every change would be acknowledged and then lost at restart.
    let now: fs.Stats | undefined;
    try {
      now = fs.statSync(this.file);
    } catch {
      now = undefined;
    }
    if (!now || now.ino !== this.identity.ino || now.dev !== this.identity.dev) {
      throw new Error(`the catalog ${this.file} was deleted or replaced under the running service`);
    }
  }

  /** Prepared once, reused: key checks run on every request. */
  private stmt(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  constructor(
    dataDir: string,
    private readonly io: StorageIO,
  ) {
    this.file = path.join(dataDir, 'catalog.db');
    this.db = new Database(this.file);
    this.identity = fs.statSync(this.file);
    // WAL + synchronous=FULL: a committed catalog change survives a power cut.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = FULL');
    this.db.pragma('foreign_keys = ON');
    this.dataVersion = this.db.prepare('PRAGMA data_version').pluck();
    this.db.exec(SCHEMA);
    // Catalogs written before the mmap column existed.
    const columns = (this.db.prepare('PRAGMA table_info(indexes)').all() as Row[]).map((c) => c.name);
    if (!columns.includes('mmap')) this.db.exec('ALTER TABLE indexes ADD COLUMN mmap INTEGER NOT NULL DEFAULT 0');
    // Catalogs written before GPU indexes (issue 16): every index on the CPU.
    if (!columns.includes('device')) this.db.exec("ALTER TABLE indexes ADD COLUMN device TEXT NOT NULL DEFAULT 'cpu'");
    // Catalogs written before the per-tenant memory budget: their tenants follow --max-tenant-memory.
    const tenantColumns = (this.db.prepare('PRAGMA table_info(tenants)').all() as Row[]).map((c) => c.name);
    if (!tenantColumns.includes('max_tenant_memory')) this.db.exec('ALTER TABLE tenants ADD COLUMN max_tenant_memory INTEGER');
    // Catalogs written before tenant ids: each tenant gets its id now.
    if (!tenantColumns.includes('id')) this.db.exec('ALTER TABLE tenants ADD COLUMN id TEXT');
    const unnumbered = this.db.prepare('SELECT name FROM tenants WHERE id IS NULL').pluck().all() as string[];
    const number = this.db.prepare('UPDATE tenants SET id = ? WHERE name = ? AND id IS NULL');
    for (const name of unnumbered) number.run(randomUUID(), name);
  }

  listTenants(): TenantRecord[] {
    return (this.stmt('SELECT * FROM tenants ORDER BY name').all() as Row[]).map(tenantOf);
  }
  getTenant(name: string): TenantRecord | undefined {
    const r = this.stmt('SELECT * FROM tenants WHERE name = ?').get(name) as Row | undefined;
    return r && tenantOf(r);
  }
  tenantId(name: string): TenantId | undefined {
    const r = this.stmt('SELECT id FROM tenants WHERE name = ?').get(name) as Row | undefined;
    return r && ((r.id as string | null) ?? null);
  }
  insertTenant(t: TenantRecord): void {
    this.change(
      'catalog.insert-tenant',
      'INSERT INTO tenants (name, created_at, max_indexes, max_vectors, max_bytes, max_tenant_memory, id) VALUES (?, ?, ?, ?, ?, ?, ?)',
      t.name, t.createdAt, t.maxIndexes, t.maxVectors, t.maxBytes, t.maxTenantMemory, randomUUID(),
    );
  }
  updateQuotas(name: string, q: Partial<Quotas>): TenantRecord | undefined {
    // One statement: a quota not given keeps the value it has then (another connection's change included).
    const given = (v: unknown) => (v === undefined ? 0 : 1);
    this.change(
      'catalog.update-quotas',
      `UPDATE tenants SET max_indexes = CASE WHEN ? THEN ? ELSE max_indexes END, max_vectors = CASE WHEN ? THEN ? ELSE max_vectors END,
       max_bytes = CASE WHEN ? THEN ? ELSE max_bytes END, max_tenant_memory = CASE WHEN ? THEN ? ELSE max_tenant_memory END WHERE name = ?`,
      given(q.maxIndexes), q.maxIndexes ?? null, given(q.maxVectors), q.maxVectors ?? null,
      given(q.maxBytes), q.maxBytes ?? null, given(q.maxTenantMemory), q.maxTenantMemory ?? null, name,
    );
    return this.getTenant(name);
  }
  deleteTenant(name: string): void {
    this.change('catalog.delete-tenant', 'DELETE FROM tenants WHERE name = ?', name);
  }
  listKeys(tenant?: string): KeyRecord[] {
    const rows = tenant
      ? this.stmt('SELECT * FROM api_keys WHERE tenant = ? ORDER BY created_at, id').all(tenant)
      : this.stmt('SELECT * FROM api_keys ORDER BY tenant, created_at, id').all();
    return (rows as Row[]).map(keyOf);
  }
  getKey(id: string): KeyRecord | undefined {
    const r = this.stmt('SELECT * FROM api_keys WHERE id = ?').get(id) as Row | undefined;
    return r && keyOf(r);
  }
  keyGeneration(): number {
    const now = performance.now();
    if (now - this.dataVersionReadAt >= OTHER_CONNECTIONS_SEEN_WITHIN_MS) {
      this.dataVersionReadAt = now;
      const version = this.dataVersion.get() as number;
      if (version !== this.seenDataVersion) {
        this.seenDataVersion = version;
        this.generation++;
      }
    }
    return this.generation;
  }
  insertKey(k: KeyRecord, tenantId: TenantId): void {
    this.changeUnder(
      k.tenant,
      tenantId,
      'catalog.insert-key',
      'INSERT INTO api_keys (id, tenant, role, hash, label, created_at, revoked_at) SELECT ?, ?, ?, ?, ?, ?, ?',
      k.id, k.tenant, k.role, k.hash, k.label, k.createdAt, k.revokedAt,
    );
  }
  revokeKey(id: string, at: string): KeyRecord | undefined {
    this.change('catalog.revoke-key', 'UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL', at, id);
    return this.getKey(id);
  }
  listIndexes(tenant?: string): IndexRecord[] {
    const rows = tenant
      ? this.stmt('SELECT * FROM indexes WHERE tenant = ? ORDER BY name').all(tenant)
      : this.stmt('SELECT * FROM indexes ORDER BY tenant, name').all();
    return (rows as Row[]).map(indexOf);
  }
  getIndex(tenant: string, name: string): IndexRecord | undefined {
    const r = this.stmt('SELECT * FROM indexes WHERE tenant = ? AND name = ?').get(tenant, name) as Row | undefined;
    return r && indexOf(r);
  }
  insertIndex(r: IndexRecord, tenantId: TenantId): void {
    this.changeUnder(
      r.tenant,
      tenantId,
      'catalog.insert-index',
      'INSERT INTO indexes (tenant, name, id, dimension, factory, metric, created_at, mmap, device) SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?',
      r.tenant, r.name, r.id, r.dimension, r.factory, r.metric, r.createdAt, r.mmap ? 1 : 0, r.device ?? 'cpu',
    );
  }
  replaceIndex(r: IndexRecord, replaces: string): void {
    const { changes } = this.change(
      'catalog.replace-index',
      'UPDATE indexes SET id = ?, dimension = ?, factory = ?, metric = ?, mmap = ?, device = ? WHERE tenant = ? AND name = ? AND id = ?',
      r.id, r.dimension, r.factory, r.metric, r.mmap ? 1 : 0, r.device ?? 'cpu', r.tenant, r.name, replaces,
    );
    if (changes === 0) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(r.name)} (deleted while the import was written)`);
  }
  deleteIndex(tenant: string, name: string, id: string): void {
    this.change('catalog.delete-index', 'DELETE FROM indexes WHERE tenant = ? AND name = ? AND id = ?', tenant, name, id);
  }
  listCollections(tenant?: string): CollectionRecord[] {
    const rows = tenant
      ? this.stmt('SELECT * FROM collections WHERE tenant = ? ORDER BY name').all(tenant)
      : this.stmt('SELECT * FROM collections ORDER BY tenant, name').all();
    return (rows as Row[]).map(collectionOf);
  }
  insertCollection(r: CollectionRecord, tenantId: TenantId): void {
    this.changeUnder(
      r.tenant,
      tenantId,
      'catalog.insert-collection',
      'INSERT INTO collections (tenant, name, id, spec, created_at) SELECT ?, ?, ?, ?, ?',
      r.tenant, r.name, r.id, JSON.stringify(r.spec), r.createdAt,
    );
  }
  deleteCollection(tenant: string, name: string, id: string): void {
    this.change('catalog.delete-collection', 'DELETE FROM collections WHERE tenant = ? AND name = ? AND id = ?', tenant, name, id);
  }
  listAliases(tenant?: string): AliasRecord[] {
    const rows = tenant
      ? this.stmt('SELECT * FROM aliases WHERE tenant = ? ORDER BY alias').all(tenant)
      : this.stmt('SELECT * FROM aliases ORDER BY tenant, alias').all();
    return (rows as Row[]).map(aliasOf);
  }
  getAlias(tenant: string, alias: string): AliasRecord | undefined {
    const r = this.stmt('SELECT * FROM aliases WHERE tenant = ? AND alias = ?').get(tenant, alias) as Row | undefined;
    return r && aliasOf(r);
  }
  insertAlias(a: AliasRecord, tenantId: TenantId): void {
    this.changeUnder(a.tenant, tenantId, 'catalog.insert-alias', 'INSERT INTO aliases (tenant, alias, collection) SELECT ?, ?, ?', a.tenant, a.alias, a.collection);
  }
  switchAlias(a: AliasRecord): void {
    this.change('catalog.switch-alias', 'UPDATE aliases SET collection = ? WHERE tenant = ? AND alias = ?', a.collection, a.tenant, a.alias);
  }
  deleteAlias(tenant: string, alias: string): void {
    this.change('catalog.delete-alias', 'DELETE FROM aliases WHERE tenant = ? AND alias = ?', tenant, alias);
  }
  close(): void {
    this.db.close();
  }
}
