// Deleting a tenant is atomic against its other requests: creates, imports and
// adds racing the deletion fail (404) or are deleted with it, a new tenant of
// the same name starts empty (no index, no vector, no file of the old one), and
// a request authenticated with the old tenant's key before the deletion, whose
// body arrives after the name was taken again, is refused rather than served
// from or written into the new tenant.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { indexFactory, serializeIndex } from '../../../lib';
import { randomVectors } from '../../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../../support/server';
import { openTestServices, type TestServices } from '../../support/services';

const d = 4;
const flat = (name: string) => ({ name, dimension: d, type: 'IndexFlatL2' as const });
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Files under indexes/ that belong to no index the catalog knows. */
function orphanFiles(s: TestServices): string[] {
  const ids = new Set(s.catalog.listIndexes().map((r) => r.id));
  const dir = path.join(s.config.dataDir, 'indexes');
  return fs.readdirSync(dir).filter((f) => ![...ids].some((id) => f.startsWith(id)));
}

describe('service: deleting a tenant while its requests run', function () {
  this.timeout(60_000);
  let s: TestServices;
  let importBytes: Buffer;

  before(async () => {
    const ix = indexFactory(d, 'Flat');
    await ix.add(randomVectors(8, d, 3));
    importBytes = await serializeIndex(ix);
    ix.dispose();
  });
  beforeEach(async () => {
    s = await openTestServices({ fsync: false });
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('creates of an index, an import, a collection and an alias under the tenant record their caller was let in under, once it was deleted and made again, are refused: the new tenant has none of them', async () => {
    s.tenants.create('y');
    const letIn = s.catalog.tenantId('y')!;
    await s.tenants.delete('y');
    s.tenants.create('y');
    const made: [string, () => Promise<unknown>][] = [
      ['index', () => s.indexes.create('y', flat('a'), letIn)],
      ['import', () => s.indexes.importIndex('y', 'b', importBytes, letIn)],
      ['collection', () => s.collections.create('y', { name: 'c', dimension: d }, 1, letIn)],
      ['alias', () => s.collections.createAlias('y', 'al', 'c', letIn)],
    ];
    for (const [what, make] of made) await assert.rejects(make(), (e: { code?: string }) => e.code === 'ERR_TENANT_NOT_FOUND', what);
    assert.deepEqual([s.indexes.list('y'), await s.collections.list('y'), s.catalog.listAliases('y')], [[], [], []]);
    assert.deepEqual(orphanFiles(s), []);
  });

  it('creates, imports and adds racing the deletion leave nothing to the next tenant of that name, in memory or on disk', async () => {
    for (let round = 0; round < 6; round++) {
      s.tenants.create('x');
      await s.indexes.create('x', flat('old'));
      await s.indexes.add('x', 'old', randomVectors(8, d, round));
      const racing = [0, 0, 1, 2, 4, 8].map(async (ms, i) => {
        if (ms > 0) await pause(ms);
        const name = `late${i}`;
        if (i % 2 === 0) await s.indexes.create('x', flat(name));
        else await s.indexes.importIndex('x', name, importBytes);
        await s.indexes.add('x', name, randomVectors(8, d, i));
      });
      const deleted = s.tenants.delete('x');
      const outcomes = await Promise.allSettled([deleted, ...racing]);
      assert.equal(outcomes[0].status, 'fulfilled', String((outcomes[0] as PromiseRejectedResult).reason));
      for (const o of outcomes.slice(1)) {
        if (o.status === 'rejected') assert.match((o.reason as { code?: string }).code ?? String(o.reason), /^ERR_(TENANT|INDEX)_NOT_FOUND$/);
      }
      s.tenants.create('x');
      assert.deepEqual(s.indexes.list('x'), [], `round ${round}: the new tenant sees the old one's indexes`);
      assert.deepEqual(await s.indexes.usage('x'), { indexes: 0, vectors: 0, bytes: 0 });
      await assert.rejects(s.indexes.reconstruct('x', 'old', [0n]), { code: 'ERR_INDEX_NOT_FOUND' });
      assert.deepEqual(orphanFiles(s), [], `round ${round}: files of deleted indexes stay on disk`);
      await s.tenants.delete('x');
    }
    s = await s.reopen();
    assert.deepEqual(s.catalog.listIndexes('x'), []);
    assert.deepEqual(orphanFiles(s), []);
  });

  it('a tenant being deleted cannot be created again until its deletion is done', async () => {
    s.tenants.create('y');
    for (let i = 0; i < 5; i++) {
      await s.indexes.create('y', flat(`i${i}`));
      await s.indexes.add('y', `i${i}`, randomVectors(4, d, i));
    }
    const deleted = s.tenants.delete('y');
    assert.throws(() => s.tenants.create('y'), { code: 'ERR_TENANT_EXISTS' });
    // Meanwhile it is gone for everything else: no keys issued to it, no second deletion.
    assert.throws(() => s.tenants.get('y'), { code: 'ERR_TENANT_NOT_FOUND' });
    await assert.rejects(s.tenants.delete('y'), { code: 'ERR_TENANT_NOT_FOUND' });
    await assert.rejects(s.indexes.create('y', flat('during')), { code: 'ERR_TENANT_NOT_FOUND' });
    await assert.rejects(s.indexes.add('y', 'i4', randomVectors(1, d)), { code: 'ERR_INDEX_NOT_FOUND' });
    await deleted;
    s.tenants.create('y');
    assert.deepEqual(s.indexes.list('y'), []);
  });
});

describe('service: a request of a deleted tenant, over HTTP', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  before(async () => {
    s = await startServer();
  });
  after(async () => {
    await s?.stop();
  });

  /** Sends the head and the first half of a body now; the second half when `finish` is called. */
  function halfSent(route: string, key: string, body: string): { finish: () => Promise<{ status: number; json: any }> } {
    const { port } = new URL(s.url);
    let text = '';
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.on('data', (c) => (text += c.toString('utf8')));
    socket.on('error', () => undefined);
    const half = Math.floor(body.length / 2);
    socket.write(`POST ${route} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${key}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, half)}`);
    return {
      finish: () =>
        new Promise((resolve) => {
          socket.write(body.slice(half));
          const done = setInterval(() => {
            const at = text.indexOf('\r\n\r\n');
            const length = Number(/content-length: (\d+)/i.exec(text)?.[1]);
            if (at < 0 || text.length < at + 4 + length) return;
            clearInterval(done);
            socket.destroy();
            resolve({ status: Number(text.slice(9, 12)), json: JSON.parse(text.slice(at + 4)) });
          }, 10);
        }),
    };
  }

  it('an old key whose body arrives after the tenant was deleted and re-created reaches nothing of the new tenant', async () => {
    const admin = client(s.url, s.adminKey);
    const old = await makeTenant(s, 'z');
    assert.equal((await client(s.url, old.write).post('/v1/indexes', flat('v'))).status, 201);
    const create = halfSent('/v1/indexes', old.write, JSON.stringify(flat('planted')));
    const search = halfSent('/v1/indexes/v/search', old.read, JSON.stringify({ vectors: [[0, 0, 0, 0]], k: 1 }));
    await pause(100);
    assert.equal((await admin.del('/v1/admin/tenants/z')).status, 204);
    const fresh = await makeTenant(s, 'z');
    const w = client(s.url, fresh.write);
    assert.equal((await w.post('/v1/indexes', flat('v'))).status, 201);
    assert.equal((await w.post('/v1/indexes/v/add', { vectors: [[1, 2, 3, 4]] })).status, 200);

    const created = await create.finish();
    assert.equal(created.status, 401, JSON.stringify(created.json));
    const searched = await search.finish();
    assert.equal(searched.status, 401, JSON.stringify(searched.json));
    const names = (await client(s.url, fresh.read).get('/v1/indexes')).json.indexes.map((i: { name: string }) => i.name);
    assert.deepEqual(names, ['v']);
  });
});
