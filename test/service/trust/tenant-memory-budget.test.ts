// The tenant memory budget as the domain sees it (no HTTP): reservations add up
// per tenant, are refused past the limit with a code that says whether waiting
// helps, and are given back once; and how --max-tenant-memory is configured.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { loadConfig } from '../../../service/config';
import { ServiceError } from '../../../service/domain/errors';
import { TenantMemoryBudget } from '../../../service/domain/memory-budget';
import { SqliteCatalog } from '../../../service/storage/catalog';
import { FileIO } from '../../../service/storage/storage-io';

const MiB = 2 ** 20;
const refusedWith = (code: string) => (e: unknown) => e instanceof ServiceError && e.code === code && /--max-tenant-memory/.test(e.message);

describe('domain: the memory budget of a tenant\'s requests in flight', () => {
  const limits: Record<string, number> = { a: 10 * MiB, b: 10 * MiB };
  const budget = () => new TenantMemoryBudget((t) => limits[t]);

  it('adds up per tenant, refuses past the limit, and holds nothing for what it refused', () => {
    const m = budget();
    const first = m.open('a');
    first.hold(6 * MiB, 'first');
    const second = m.open('a');
    assert.throws(() => second.hold(5 * MiB, 'second'), refusedWith('ERR_TENANT_MEMORY'));
    assert.equal(m.reservedBy('a'), 6 * MiB);
    second.hold(4 * MiB, 'second, smaller'); // exactly the limit
    // Another tenant has its own budget.
    m.open('b').hold(10 * MiB, 'b');
    assert.deepEqual(m.holders().sort((x, y) => x.tenant.localeCompare(y.tenant)), [
      { tenant: 'a', bytes: 10 * MiB },
      { tenant: 'b', bytes: 10 * MiB },
    ]);
  });

  it('a request alone in its tenant runs, even past the budget (and with its own holds); beside others it waits', () => {
    const m = budget();
    const big = m.open('a');
    big.hold(8 * MiB, 'body');
    big.hold(8 * MiB, 'answer'); // its own 8 MiB is not in its way
    assert.equal(m.reservedBy('a'), 16 * MiB);
    assert.throws(() => m.open('a').hold(1, 'beside it'), refusedWith('ERR_TENANT_MEMORY'));
    big.release();
    const other = m.open('a');
    other.hold(MiB, 'small');
    assert.throws(() => m.open('a').hold(10 * MiB, 'big, beside another'), refusedWith('ERR_TENANT_MEMORY'));
  });

  it('release gives back everything a request held, once', () => {
    const m = budget();
    const r = m.open('a');
    r.hold(3 * MiB, 'body');
    r.hold(4 * MiB, 'answer');
    const other = m.open('a');
    other.hold(2 * MiB, 'other');
    r.release();
    r.release();
    assert.equal(m.reservedBy('a'), 2 * MiB);
    other.release();
    assert.equal(m.reservedBy('a'), 0);
    assert.deepEqual(m.holders(), []);
    assert.throws(() => r.hold(1, 'late'), /after release/);
  });

  it('the limit is read at each reservation (a quota change applies to the next request)', () => {
    const m = budget();
    m.open('a').hold(8 * MiB, 'held');
    limits.a = 20 * MiB;
    try {
      m.open('a').hold(8 * MiB, 'fits now');
    } finally {
      limits.a = 10 * MiB;
    }
  });

  it('within the floor every budget has (the per-request limit), the limit is not looked up', () => {
    let lookups = 0;
    const m = new TenantMemoryBudget(() => {
      lookups++;
      return 10 * MiB;
    }, 4 * MiB);
    m.open('a').hold(3 * MiB, 'small');
    m.open('a').hold(MiB, 'up to the floor');
    assert.equal(lookups, 0);
    assert.throws(() => m.open('a').hold(7 * MiB, 'past the limit'), refusedWith('ERR_TENANT_MEMORY'));
    assert.equal(lookups, 1);
  });

  it('--max-tenant-memory: 4 x --max-request-memory unless given, never below it', () => {
    assert.equal(loadConfig([], {}).maxTenantMemory, 4 * 256 * MiB);
    assert.equal(loadConfig(['--max-request-memory', String(16 * MiB)], {}).maxTenantMemory, 64 * MiB);
    assert.equal(loadConfig(['--max-tenant-memory', String(500 * MiB)], {}).maxTenantMemory, 500 * MiB);
    assert.equal(loadConfig([], { FAISS_PROXY_MAX_TENANT_MEMORY: String(300 * MiB) }).maxTenantMemory, 300 * MiB);
    assert.throws(() => loadConfig(['--max-tenant-memory', String(MiB)], {}), /cannot be less than the max request memory/);
  });

  it("a catalog written before the budget opens, its tenants following the server's --max-tenant-memory", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-old-catalog-'));
    const old = new Database(path.join(dir, 'catalog.db'));
    old.exec('CREATE TABLE tenants (name TEXT PRIMARY KEY, created_at TEXT NOT NULL, max_indexes INTEGER NOT NULL, max_vectors INTEGER NOT NULL, max_bytes INTEGER NOT NULL)');
    old.prepare('INSERT INTO tenants VALUES (?, ?, ?, ?, ?)').run('old', '2026-01-01T00:00:00.000Z', 1, 2, 3);
    old.close();
    const catalog = new SqliteCatalog(dir, new FileIO());
    try {
      assert.deepEqual(catalog.getTenant('old'), { name: 'old', createdAt: '2026-01-01T00:00:00.000Z', maxIndexes: 1, maxVectors: 2, maxBytes: 3, maxTenantMemory: null });
      catalog.updateQuotas('old', { maxIndexes: 1, maxVectors: 2, maxBytes: 3, maxTenantMemory: 64 * MiB });
      assert.equal(catalog.getTenant('old')!.maxTenantMemory, 64 * MiB);
    } finally {
      catalog.close();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
