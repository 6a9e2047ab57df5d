// API key checks (service/domain/keys.ts) keep what they read of a valid key
// while the catalog's keys are unchanged, and are exact all the same: a key
// revoked, created or taken with its tenant, by this service or by another
// connection to the same catalog (the CLI, while the service runs), counts from
// the very next check. The CLI itself, in another process:
// key-revocation-cli.test.ts.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeyService } from '../../service/domain/keys';
import { SqliteCatalog, type Catalog } from '../../service/storage/catalog';
import { FileIO } from '../../service/storage/storage-io';

const tenant = (name: string) => ({ name, createdAt: new Date().toISOString(), maxIndexes: 10, maxVectors: 1000, maxBytes: 1 << 20, maxTenantMemory: null });

describe('service: API key checks', () => {
  let dir: string;
  let catalog: SqliteCatalog;
  /** Another connection to the same catalog file, as the CLI has. */
  let other: SqliteCatalog;
  let keys: KeyService;
  let otherKeys: KeyService;
  let reads: number;

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-key-checks-'));
    catalog = new SqliteCatalog(dir, new FileIO());
    other = new SqliteCatalog(dir, new FileIO());
    catalog.insertTenant(tenant('acme'));
    reads = 0;
    // Counts the reads of key records that the service's checks make.
    const counted = new Proxy(catalog, {
      get(target, name) {
        const v = Reflect.get(target, name, target);
        if (name === 'getKey') return (id: string) => (reads++, target.getKey(id));
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Catalog;
    keys = new KeyService(counted);
    otherKeys = new KeyService(other);
  });
  afterEach(() => {
    catalog.close();
    other.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('reads a key once while nothing changes, and refuses a wrong secret for it', () => {
    const issued = keys.issue('acme', 'read');
    reads = 0;
    for (let i = 0; i < 5; i++) assert.deepEqual(keys.verify(issued.key), { keyId: issued.id, tenant: 'acme', role: 'read' });
    assert.equal(reads, 1, 'the record is read by the first check only');
    const wrong = issued.key.slice(0, -1) + (issued.key.endsWith('A') ? 'B' : 'A');
    assert.equal(keys.verify(wrong), undefined);
    assert.equal(keys.verify(`fp_${issued.id}_short`), undefined);
    assert.equal(keys.verify('not a key'), undefined);
  });

  it('refuses a key at once once this service revokes it', () => {
    const a = keys.issue('acme', 'read');
    const b = keys.issue('acme', 'write');
    assert.ok(keys.verify(a.key));
    assert.ok(keys.verify(b.key));
    keys.revoke(a.id);
    assert.equal(keys.verify(a.key), undefined);
    assert.equal(keys.verify(b.key)?.role, 'write', 'the other keys still work');
  });

  it('refuses a key at once once another connection revokes it', () => {
    const a = keys.issue('acme', 'read');
    const b = keys.issue('acme', 'admin');
    for (let i = 0; i < 3; i++) assert.ok(keys.verify(a.key));
    assert.ok(keys.verify(b.key));
    otherKeys.revoke(a.id);
    assert.equal(keys.verify(a.key), undefined, 'revoked by another connection: refused on the next check');
    assert.equal(keys.verify(b.key)?.role, 'admin');
  });

  it('takes a key created by another connection at once, and refuses it once its tenant is deleted there', () => {
    const created = otherKeys.issue('acme', 'write');
    assert.equal(keys.verify(created.key)?.tenant, 'acme');
    other.deleteTenant('acme');
    assert.equal(keys.verify(created.key), undefined);
  });
});
