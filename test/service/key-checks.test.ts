// API key checks (service/domain/keys.ts) keep what they read of a valid key
// while the catalog's keys are unchanged: a key revoked, created or taken with
// its tenant by this service counts from the very next check; by another
// connection to the same catalog (the CLI, while the service runs), from every
// check that starts OTHER_CONNECTIONS_SEEN_WITHIN_MS after its commit (a key it
// creates, at once: an unknown id is always looked up). The CLI itself, in
// another process: key-revocation-cli.test.ts.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { KeyService } from '../../service/domain/keys';
import { OTHER_CONNECTIONS_SEEN_WITHIN_MS, SqliteCatalog, type Catalog } from '../../service/storage/catalog';
import { FileIO } from '../../service/storage/storage-io';

/** Past the bound within which another connection's commits are seen, with a margin for the timer's coarser clock. */
const pastTheBound = () => new Promise((resolve) => setTimeout(resolve, OTHER_CONNECTIONS_SEEN_WITHIN_MS + 5));

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
    for (let i = 0; i < 5; i++) assert.deepEqual(keys.verify(issued.key), { keyId: issued.id, tenant: 'acme', tenantId: catalog.tenantId('acme'), role: 'read' });
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

  it('refuses a key once another connection revokes it, within the bound', async () => {
    const a = keys.issue('acme', 'read');
    const b = keys.issue('acme', 'admin');
    for (let i = 0; i < 3; i++) assert.ok(keys.verify(a.key));
    assert.ok(keys.verify(b.key));
    otherKeys.revoke(a.id);
    await pastTheBound();
    assert.equal(keys.verify(a.key), undefined, 'revoked by another connection: refused by the checks after the bound');
    assert.equal(keys.verify(b.key)?.role, 'admin');
  });

  it('takes a key created by another connection at once, and refuses it once its tenant is deleted there, within the bound', async () => {
    const created = otherKeys.issue('acme', 'write');
    assert.equal(keys.verify(created.key)?.tenant, 'acme');
    other.deleteTenant('acme');
    await pastTheBound();
    assert.equal(keys.verify(created.key), undefined);
  });

  it('reads the catalog once per bound while checks repeat, not once per check', async () => {
    const issued = keys.issue('acme', 'read');
    let dataVersionReads = 0;
    const statement = (catalog as unknown as { dataVersion: { get(): unknown } }).dataVersion;
    const get = statement.get.bind(statement);
    statement.get = () => (dataVersionReads++, get());
    await pastTheBound();
    for (let i = 0; i < 1000; i++) assert.ok(keys.verify(issued.key));
    assert.ok(dataVersionReads >= 1, 'the first check after the bound reads it');
    assert.ok(dataVersionReads < 100, `${dataVersionReads} reads of data_version for 1,000 checks`);
  });
});
