// The service's collections (issue 18), through the domain directly (no HTTP):
// durable across restarts and crashes like indexes, idempotent writes, quotas
// that count payload bytes, aliases, tenant isolation, storage faults and
// damaged files. The crash points and SIGKILLs of every step are in
// test/service/durability/ (their scenarios include collections).
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { parseFilter } from '../../../lib/collections/filter';
import type { Payload } from '../../../lib/collections/types';
import { openServices } from '../../../service/server';
import { randomVectors } from '../../support/data';
import { FaultyIO } from '../../support/faulty-io';
import { openTestServices, type TestServices } from '../../support/services';

const d = 4;
const all = { withPayload: true, withVector: true };
const wiki = parseFilter({ must: [{ key: 'src', match: { value: 'wiki' } }] });

function batch(ids: string[], seed: number, payload: (id: string, i: number) => Payload | null = (id, i) => ({ src: i % 2 ? 'blog' : 'wiki', id })) {
  return { ids, x: randomVectors(ids.length, d, seed), payloads: ids.map(payload) };
}

/** A code the promise rejects with (fails when it resolves). */
async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    return (e as { code: string }).code;
  }
  assert.fail('expected an error');
}

/** Every point of a collection: id, payload, vector (exact). */
async function pointsOf(s: TestServices, tenant: string, name: string): Promise<unknown[]> {
  const { points } = await s.collections.scroll(tenant, name, { limit: 10_000, offset: null, ...all });
  return points.map((p) => [p.id, p.payload, Array.from(p.vector!)]);
}

describe('service: collections in the domain', function () {
  this.timeout(60_000);
  let s: TestServices;
  beforeEach(async () => {
    s = await openTestServices();
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('upserts, deletes by filter, payload indexes and aliases survive a restart, exactly', async () => {
    await s.collections.create('t', { name: 'docs', dimension: d, payloadIndexes: { src: 'keyword' } });
    await s.collections.upsert('t', 'docs', batch(['a', 'b', 'c', 'd'], 1));
    await s.collections.upsert('t', 'docs', batch(['b', 'e'], 2, (id) => ({ src: 'wiki', id, v: 2 })));
    assert.deepEqual(await s.collections.delete('t', 'docs', { filter: wiki }), { deleted: 4 }); // a, c, and b and e as replaced
    await s.collections.createPayloadIndex('t', 'docs', 'id', 'keyword');
    await s.collections.createAlias('t', 'live', 'docs');
    const before = await pointsOf(s, 't', 'docs');
    assert.deepEqual(before.map((p) => (p as unknown[])[0]), ['d']);
    const info = await s.collections.info('t', 'live');
    s = await s.reopen();
    assert.deepEqual(await pointsOf(s, 't', 'live'), before);
    assert.deepEqual(await s.collections.info('t', 'live'), info);
    assert.deepEqual(info.payloadIndexes, { src: 'keyword', id: 'keyword' });
    assert.deepEqual(await s.collections.listAliases('t'), [{ alias: 'live', collection: 'docs' }]);
  });

  it('a crash (no shutdown snapshot) keeps every acknowledged write: snapshot + log replay', async () => {
    await s.collections.create('t', { name: 'docs', dimension: d });
    await s.collections.upsert('t', 'docs', batch(['a', 'b'], 3));
    await s.indexes.snapshotAll(); // a and b in the snapshot, the rest only in the log
    await s.collections.upsert('t', 'docs', batch(['b', 'c'], 4));
    await s.collections.delete('t', 'docs', { ids: ['a'] });
    const before = await pointsOf(s, 't', 'docs');
    const crashed = `${s.config.dataDir}-crashed`;
    fs.cpSync(s.config.dataDir, crashed, { recursive: true }); // as a SIGKILL leaves it
    const after = await openTestServices({}, crashed);
    try {
      assert.deepEqual(await pointsOf(after, 't', 'docs'), before);
      assert.equal(await after.collections.count('t', 'docs'), 2);
    } finally {
      await after.cleanup();
    }
  });

  it('an idempotency key answers a retry with the first result, across a restart; another request with it is refused', async () => {
    await s.collections.create('t', { name: 'docs', dimension: d });
    const first = batch(['a', 'b', 'c'], 5);
    assert.deepEqual(await s.collections.upsert('t', 'docs', first, 'k-up'), { upserted: 3 });
    assert.deepEqual(await s.collections.delete('t', 'docs', { filter: wiki }, 'k-del'), { deleted: 2 });
    // The retried delete matches nothing now, and still answers what the first one did.
    assert.deepEqual(await s.collections.delete('t', 'docs', { filter: wiki }, 'k-del'), { deleted: 2 });
    const blog = parseFilter({ must: [{ key: 'src', match: { value: 'blog' } }] });
    // After a crash (the keys come back from the log) and after a clean restart (from the snapshot).
    const crashed = `${s.config.dataDir}-crashed`;
    fs.cpSync(s.config.dataDir, crashed, { recursive: true });
    const replayed = await openTestServices({}, crashed);
    for (const [when, r] of [['after a crash', replayed], ['after a restart', (s = await s.reopen())]] as const) {
      try {
        assert.deepEqual(await r.collections.upsert('t', 'docs', first, 'k-up'), { upserted: 3 }, when);
        assert.deepEqual(await r.collections.delete('t', 'docs', { filter: wiki }, 'k-del'), { deleted: 2 }, when);
        assert.equal(await r.collections.count('t', 'docs'), 1, `${when}: the retries were not applied again`);
        assert.equal(await codeOf(r.collections.upsert('t', 'docs', batch(['z'], 6), 'k-up')), 'ERR_IDEMPOTENCY_MISMATCH', when);
        assert.equal(await codeOf(r.collections.delete('t', 'docs', { filter: blog }, 'k-del')), 'ERR_IDEMPOTENCY_MISMATCH', when);
        assert.equal(await r.collections.count('t', 'docs'), 1, when);
      } finally {
        if (r === replayed) await replayed.cleanup();
      }
    }
  });

  it('quotas: a collection counts as an index, its points as vectors, its payloads as bytes', async () => {
    s.tenants.setQuotas('t', { maxIndexes: 2, maxVectors: 5, maxBytes: 4000 });
    await s.indexes.create('t', { name: 'plain', dimension: d, type: 'IndexFlatL2' });
    await s.collections.create('t', { name: 'docs', dimension: d });
    assert.equal(await codeOf(s.collections.create('t', { name: 'more', dimension: d })), 'ERR_QUOTA_EXCEEDED');
    await s.collections.upsert('t', 'docs', batch(['a', 'b', 'c', 'd'], 7));
    assert.equal(await codeOf(s.collections.upsert('t', 'docs', batch(['e', 'f'], 8))), 'ERR_QUOTA_EXCEEDED');
    // Replacing points adds no vectors.
    assert.deepEqual(await s.collections.upsert('t', 'docs', batch(['a', 'b'], 9)), { upserted: 2 });
    // 16 bytes of vectors and a 5 KB payload: the bytes quota refuses it, and nothing is stored.
    const big = batch(['e'], 10, () => ({ text: 'x'.repeat(5000) }));
    assert.equal(await codeOf(s.collections.upsert('t', 'docs', big)), 'ERR_QUOTA_EXCEEDED');
    assert.equal(await s.collections.count('t', 'docs'), 4);
    const usage = await s.indexes.usage('t');
    assert.equal(usage.indexes, 2);
    assert.equal(usage.vectors, 4);
    const status = s.collections.status().find((c) => c.name === 'docs')!;
    assert.ok(status.payloadBytes > 0 && status.bytes >= status.payloadBytes, JSON.stringify(status));
  });

  it('a payload over --max-payload-bytes is ERR_PAYLOAD_TOO_LARGE and nothing of its upsert is stored', async () => {
    await s.cleanup();
    s = await openTestServices({ maxPayloadBytes: 100 });
    await s.collections.create('t', { name: 'docs', dimension: d });
    const points = batch(['a', 'b'], 11, (id) => ({ id, text: id === 'b' ? 'y'.repeat(200) : 'ok' }));
    assert.equal(await codeOf(s.collections.upsert('t', 'docs', points)), 'ERR_PAYLOAD_TOO_LARGE');
    assert.equal(await s.collections.count('t', 'docs'), 0);
    assert.equal(s.collections.limits.maxPayloadBytes, 100);
  });

  it('aliases: created, switched atomically, deleted; every call accepts one; the errors of issue 18', async () => {
    await s.collections.create('t', { name: 'blue', dimension: d });
    await s.collections.create('t', { name: 'green', dimension: d });
    await s.collections.upsert('t', 'blue', batch(['b1'], 12));
    await s.collections.upsert('t', 'green', batch(['g1', 'g2'], 13));
    assert.deepEqual(await s.collections.createAlias('t', 'prod', 'blue'), { alias: 'prod', collection: 'blue' });
    assert.deepEqual((await s.collections.get('t', 'prod', ['b1', 'g1'])).map((p) => p.id), ['b1']);
    await s.collections.switchAlias('t', 'prod', 'green');
    assert.equal(await s.collections.count('t', 'prod'), 2);
    assert.equal((await s.collections.search('t', 'prod', randomVectors(1, d, 14), 1, 5, { withPayload: false, withVector: false }))[0].length, 2);
    await s.collections.upsert('t', 'prod', batch(['g3'], 15));
    assert.equal(await s.collections.count('t', 'green'), 3);
    assert.equal(await codeOf(s.collections.createAlias('t', 'prod', 'blue')), 'ERR_ALIAS_EXISTS');
    assert.equal(await codeOf(s.collections.createAlias('t', 'blue', 'green')), 'ERR_ALIAS_EXISTS', 'an alias cannot take a collection name');
    assert.equal(await codeOf(s.collections.create('t', { name: 'prod', dimension: d })), 'ERR_COLLECTION_EXISTS', 'nor a collection an alias name');
    assert.equal(await codeOf(s.collections.createAlias('t', 'dangling', 'missing')), 'ERR_COLLECTION_NOT_FOUND');
    assert.equal(await codeOf(s.collections.createAlias('t', 'chain', 'prod')), 'ERR_COLLECTION_NOT_FOUND', 'an alias of an alias');
    assert.equal(await codeOf(s.collections.switchAlias('t', 'nope', 'blue')), 'ERR_ALIAS_NOT_FOUND');
    assert.equal(await codeOf(s.collections.switchAlias('t', 'prod', 'missing')), 'ERR_COLLECTION_NOT_FOUND');
    assert.equal(await codeOf(s.collections.deleteAlias('t', 'nope')), 'ERR_ALIAS_NOT_FOUND');
    assert.equal(await codeOf(s.collections.createAlias('t', '../x', 'blue')), 'ERR_INVALID_NAME');
    // Deleting a collection an alias points at is refused, naming the alias.
    await s.collections.createAlias('t', 'also', 'green');
    await assert.rejects(s.collections.drop('t', 'green'), (e: Error & { code: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /also, prod/.test(e.message));
    assert.equal(await s.collections.count('t', 'green'), 3);
    await s.collections.deleteAlias('t', 'also');
    await s.collections.switchAlias('t', 'prod', 'blue');
    await s.collections.drop('t', 'green');
    assert.equal(await codeOf(s.collections.info('t', 'green')), 'ERR_COLLECTION_NOT_FOUND');
    assert.deepEqual(await s.collections.listAliases('t'), [{ alias: 'prod', collection: 'blue' }]);
    s = await s.reopen();
    assert.deepEqual(await s.collections.listAliases('t'), [{ alias: 'prod', collection: 'blue' }]);
    assert.deepEqual((await s.collections.list('t')).map((c) => c.name), ['blue']);
  });

  it("tenant isolation: tenant B never sees tenant A's collections or aliases, and deleting A takes them all", async () => {
    s.tenants.create('u');
    await s.collections.create('t', { name: 'docs', dimension: d });
    await s.collections.upsert('t', 'docs', batch(['secret'], 16));
    await s.collections.createAlias('t', 'live', 'docs');
    assert.deepEqual(await s.collections.list('u'), []);
    assert.deepEqual(await s.collections.listAliases('u'), []);
    for (const name of ['docs', 'live']) {
      assert.equal(await codeOf(s.collections.get('u', name, ['secret'])), 'ERR_COLLECTION_NOT_FOUND');
      assert.equal(await codeOf(s.collections.upsert('u', name, batch(['x'], 17))), 'ERR_COLLECTION_NOT_FOUND');
      assert.equal(await codeOf(s.collections.drop('u', name)), 'ERR_COLLECTION_NOT_FOUND');
    }
    assert.equal(await codeOf(s.collections.createAlias('u', 'mine', 'docs')), 'ERR_COLLECTION_NOT_FOUND');
    assert.equal(await codeOf(s.collections.deleteAlias('u', 'live')), 'ERR_ALIAS_NOT_FOUND');
    // The same names in u are u's own.
    await s.collections.create('u', { name: 'docs', dimension: 2 });
    await s.collections.createAlias('u', 'live', 'docs');
    assert.equal((await s.collections.info('u', 'live')).dimension, 2);
    assert.equal((await s.collections.info('t', 'live')).dimension, d);
    // Deleting t takes its collections, aliases and files; a new t starts empty.
    const id = s.catalog.listCollections('t')[0].id;
    await s.tenants.delete('t');
    assert.ok(!fs.readdirSync(path.join(s.config.dataDir, 'indexes')).some((f) => f.startsWith(id)), 'its files are gone');
    s.tenants.create('t');
    assert.deepEqual(await s.collections.list('t'), []);
    assert.deepEqual(await s.collections.listAliases('t'), []);
    assert.equal(await codeOf(s.collections.info('t', 'live')), 'ERR_COLLECTION_NOT_FOUND');
    assert.equal((await s.collections.info('u', 'live')).dimension, 2);
  });

  it('a storage fault is ERR_STORAGE_FAILED and the write is not there, live or after a restart', async () => {
    const io = new FaultyIO();
    const services = openServices(s.config, { io: (onFault) => io.attach(onFault) });
    await services.indexes.open();
    await services.collections.open();
    try {
      await services.collections.create('t', { name: 'docs', dimension: d });
      await services.collections.upsert('t', 'docs', batch(['a'], 18));
      io.arm(1, 'error', 'log.');
      assert.equal(await codeOf(services.collections.upsert('t', 'docs', batch(['b'], 19))), 'ERR_STORAGE_FAILED');
      assert.deepEqual((await services.collections.get('t', 'docs', ['a', 'b'])).map((p) => p.id), ['a']); // reloaded from disk
      io.arm(1, 'fsync', 'log.sync');
      assert.equal(await codeOf(services.collections.delete('t', 'docs', { filter: wiki })), 'ERR_STORAGE_FAILED');
      io.disarm();
      assert.deepEqual((await services.collections.get('t', 'docs', ['a', 'b'])).map((p) => p.id), ['a']);
    } finally {
      await services.indexes.close();
      services.catalog.close();
    }
    s = await openTestServices({}, s.config.dataDir);
    assert.deepEqual((await s.collections.get('t', 'docs', ['a', 'b'])).map((p) => p.id), ['a']);
  });

  it('a damaged points file keeps the collection offline (ERR_STORAGE_CORRUPT), never loaded as wrong points; check reports it', async () => {
    await s.collections.create('t', { name: 'docs', dimension: d });
    await s.collections.upsert('t', 'docs', batch(['a', 'b'], 20));
    s = await s.reopen(); // the shutdown snapshot holds both
    const dir = path.join(s.config.dataDir, 'indexes');
    const file = fs.readdirSync(dir).find((f) => f.endsWith('.points'))!;
    await s.indexes.close();
    s.catalog.close();
    const bytes = fs.readFileSync(path.join(dir, file));
    bytes[bytes.length - 3] ^= 0x40;
    fs.writeFileSync(path.join(dir, file), bytes);
    // faiss-proxy check finds it without loading anything.
    const cli = path.join(__dirname, '..', '..', '..', 'service', 'cli.js');
    const checked = spawnSync(process.execPath, [cli, 'check', '--data-dir', s.config.dataDir], { encoding: 'utf8' });
    assert.equal(checked.status, 1, checked.stderr);
    const report = JSON.parse(checked.stdout);
    assert.equal(report.ok, false);
    assert.equal(report.indexes[0].kind, 'collection');
    assert.match(report.indexes[0].problem, /\.points is damaged \(checksum mismatch\)/);
    s = await openTestServices({}, s.config.dataDir);
    assert.equal(await codeOf(s.collections.get('t', 'docs', ['a'])), 'ERR_STORAGE_CORRUPT');
    assert.equal(s.collections.status()[0].storage?.error?.code, 'ERR_STORAGE_CORRUPT');
  });

  it('evicted past --max-memory like an index, and loaded back whole', async () => {
    await s.cleanup();
    s = await openTestServices({ maxMemory: 1 });
    for (const name of ['one', 'two']) {
      await s.collections.create('t', { name, dimension: d });
      await s.collections.upsert('t', name, batch([`${name}-a`, `${name}-b`], name.length));
    }
    // Eviction runs after the write (a snapshot first).
    for (let i = 0; i < 100 && s.indexes.cacheStats().evictions === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(s.indexes.cacheStats().evictions > 0);
    assert.equal(s.collections.status().filter((c) => c.loaded).length, 1);
    for (const name of ['one', 'two']) assert.deepEqual((await s.collections.get('t', name, [`${name}-a`, `${name}-b`])).length, 2);
    assert.deepEqual((await s.collections.list('t')).map((c) => c.count), [2, 2]);
  });

  it('a data directory from before collections opens, and takes collections', async () => {
    await s.indexes.create('t', { name: 'old', dimension: d, type: 'IndexFlatL2' });
    const dir = s.config.dataDir;
    await s.indexes.close();
    s.catalog.close();
    const db = new Database(path.join(dir, 'catalog.db'));
    db.exec('DROP TABLE aliases; DROP TABLE collections;'); // the catalog as the last release wrote it
    db.close();
    s = await openTestServices({}, dir);
    assert.deepEqual(s.indexes.list('t').map((i) => i.name), ['old']);
    await s.collections.create('t', { name: 'docs', dimension: d });
    await s.collections.createAlias('t', 'live', 'docs');
    assert.deepEqual((await s.collections.list('t')).map((c) => c.name), ['docs']);
  });
});
