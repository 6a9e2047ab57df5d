// The single node's catalog (SQLite) against a tenant deleted by another
// connection (the CLI, or the service, on one catalog file) while a key, index,
// collection or alias is made under it: the cluster's catalog's cases
// (test/cluster/tenant-deletion.test.ts) on SQLite. A create that lands after the
// deletion is refused with ERR_TENANT_NOT_FOUND, as the cluster's is (before, the
// foreign key's raw SqliteError), and one made before goes with the tenant (one
// transaction): a tenant of that name made again has none of them.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { SqliteCatalog } from '../../service/storage/catalog';
import { FileIO } from '../../service/storage/storage-io';
import type { CollectionSpec } from '../../lib/collections/types';

const now = () => new Date().toISOString();
const tenant = { name: 'shop', createdAt: now(), maxIndexes: 10, maxVectors: 1000, maxBytes: 1 << 20, maxTenantMemory: null };

describe('service: the catalog when a tenant is deleted by another connection while records are made under it', () => {
  let dir: string;
  let catalog: SqliteCatalog;
  let other: SqliteCatalog;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-tenant-deletion-'));
    catalog = new SqliteCatalog(dir, new FileIO());
    other = new SqliteCatalog(dir, new FileIO());
    catalog.insertTenant(tenant);
  });
  afterEach(() => {
    catalog.close();
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Each create under the tenant record of id `tenantId` (the one its request was let in under). */
  const creates: [string, (c: SqliteCatalog, tag: string, tenantId: string | null) => void][] = [
    ['key', (c, tag, id) => c.insertKey({ id: `key-${tag}`, tenant: 'shop', role: 'write', hash: '00', label: null, createdAt: now(), revokedAt: null }, id)],
    ['index', (c, tag, id) => c.insertIndex({ tenant: 'shop', name: `i-${tag}`, id: `index-${tag}`, dimension: 4, factory: 'Flat', metric: 1, createdAt: now(), mmap: false }, id)],
    ['collection', (c, tag, id) => c.insertCollection({ tenant: 'shop', name: `c-${tag}`, id: `collection-${tag}`, spec: { name: `c-${tag}`, dimension: 4 } as CollectionSpec, createdAt: now() }, id)],
    ['alias', (c, tag, id) => c.insertAlias({ tenant: 'shop', alias: `a-${tag}`, collection: `c-${tag}` }, id)],
  ];

  it('a create after the deletion is refused with ERR_TENANT_NOT_FOUND; the tenant made again has nothing of it', () => {
    const id = catalog.tenantId('shop')!;
    other.deleteTenant('shop');
    for (const [what, create] of creates) {
      assert.throws(() => create(catalog, 'after', id), (e: { code?: string }) => e.code === 'ERR_TENANT_NOT_FOUND', what);
    }
    other.insertTenant(tenant);
    assert.deepEqual([catalog.listKeys('shop'), catalog.listIndexes('shop'), catalog.listCollections('shop'), catalog.listAliases('shop')], [[], [], [], []]);
  });

  it('a create let in under the tenant before it was deleted and made again is refused: the new tenant has nothing of it', () => {
    const id = catalog.tenantId('shop')!;
    other.deleteTenant('shop');
    other.insertTenant(tenant);
    assert.notEqual(catalog.tenantId('shop'), id, 'the tenant made again has another id');
    for (const [what, create] of creates) {
      assert.throws(() => create(catalog, 'again', id), (e: { code?: string }) => e.code === 'ERR_TENANT_NOT_FOUND', what);
    }
    assert.deepEqual([catalog.listKeys('shop'), catalog.listIndexes('shop'), catalog.listCollections('shop'), catalog.listAliases('shop')], [[], [], [], []]);
  });

  it('what was made before the deletion goes with the tenant: the tenant made again has none of it', () => {
    for (const [, create] of creates) create(catalog, 'before', catalog.tenantId('shop')!);
    other.deleteTenant('shop');
    other.insertTenant(tenant);
    assert.equal(catalog.getKey('key-before'), undefined);
    assert.equal(catalog.getIndex('shop', 'i-before'), undefined);
    assert.equal(catalog.getAlias('shop', 'a-before'), undefined);
    assert.deepEqual([catalog.listKeys('shop'), catalog.listIndexes('shop'), catalog.listCollections('shop'), catalog.listAliases('shop')], [[], [], [], []]);
  });
});
