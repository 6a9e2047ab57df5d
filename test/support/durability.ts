// What the durability tests share: opening the domain over a data directory
// (optionally through a fault-injecting StorageIO), what a user could notice of
// it as one comparable string, and the files invariant.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { IDSelectorNot, IDSelectorRange, IndexFlatL2, IndexIDMap2, serializeIndex } from '../../lib';
import { parseFilter } from '../../lib/collections/filter';
import type { Payload } from '../../lib/collections/types';
import { defaults } from '../../service/config';
import { openServices, type Services } from '../../service/server';
import { randomVectors } from './data';
import type { FaultyIO } from './faulty-io';

export const ids = (...xs: number[]) => BigInt64Array.from(xs.map(BigInt));

/** n binary codes of `bits` bits, deterministic for a seed. */
const codes = (n: number, bits: number, seed: number): Uint8Array => Uint8Array.from(randomVectors(n * (bits / 8), 1, seed), (v) => Math.floor(v * 256));

export async function open(dataDir: string, io?: FaultyIO): Promise<Services> {
  const config = { ...defaults(), dataDir, snapshotLogBytes: 1 << 30, rebuildThreshold: 0.3, maxMemory: 0 };
  const s = openServices(config, io ? { io: (onFault) => io.attach(onFault) } : {});
  await s.indexes.open();
  await s.collections.open();
  return s;
}

/** A collection as a user could notice it: its info, every point (payload and vector) in id order, what a search returns. */
async function observeCollection(s: Services, tenant: string, name: string): Promise<unknown> {
  const info = await s.collections.info(tenant, name);
  const { points } = await s.collections.scroll(tenant, name, { limit: 10_000, offset: null, withPayload: true, withVector: true });
  const found = info.count > 0 ? await s.collections.search(tenant, name, randomVectors(1, info.dimension, 78), 1, 4, { withPayload: false, withVector: false }) : [];
  return {
    info,
    points: points.map((p) => [p.id, p.payload, Array.from(p.vector ?? [], (x) => x.toFixed(3))]),
    found: found.map((hits) => hits.map((h) => [h.id, h.score.toFixed(3)])),
  };
}

/** Everything a user could notice, as one string: tenants, keys, indexes, collections, aliases, and what searches return. */
export async function observe(s: Services): Promise<string> {
  const out: unknown[] = [];
  for (const t of s.tenants.list()) {
    const keys = s.keys.list(t.name).map((k) => `${k.role}:${k.revokedAt ? 'revoked' : 'live'}`).sort();
    const indexes: unknown[] = [];
    for (const i of s.indexes.list(t.name)) {
      const info = await s.indexes.describe(t.name, i.name);
      let found: unknown = null;
      if (info.ntotal > 0 && info.isTrained) {
        const k = Math.min(info.ntotal, 8);
        const params = info.nprobe !== undefined ? { nprobe: 64 } : undefined;
        const r =
          info.metric === 'Hamming'
            ? await s.indexes.searchCodes(t.name, i.name, codes(3, info.dimension, 77), k, params)
            : await s.indexes.search(t.name, i.name, randomVectors(3, info.dimension, 77), k, params);
        found = [Array.from(r.labels, String), Array.from(r.distances, (x) => x.toFixed(3))];
      }
      // Not the type: a rebuild (after removals) puts an index under an IDMap2 without changing what it answers.
      indexes.push({ name: info.name, dimension: info.dimension, ntotal: info.ntotal, isTrained: info.isTrained, found });
    }
    const collections: unknown[] = [];
    for (const c of await s.collections.list(t.name)) collections.push(await observeCollection(s, t.name, c.name));
    out.push({ tenant: t.name, keys, indexes, collections, aliases: await s.collections.listAliases(t.name) });
  }
  return JSON.stringify(out);
}

/**
 * Catalog, snapshots and logs agree: each index or collection owns at most one
 * log and one snapshot (with its state, and a collection's points), and nothing
 * else is there.
 */
export function checkFiles(s: Services, dataDir: string): void {
  const collections = new Set(s.catalog.listCollections().map((r) => r.id));
  const owners = new Set([...s.catalog.listIndexes().map((r) => r.id), ...collections]);
  const snapshots = new Map<string, number>();
  const points = new Map<string, number>();
  for (const f of fs.readdirSync(path.join(dataDir, 'indexes'))) {
    const m = /^([0-9a-f-]{36})\.(wal|\d+\.faissindex|\d+\.state\.json|\d+\.points)$/.exec(f);
    assert.ok(m, `unexpected file ${f}`);
    assert.ok(owners.has(m[1]), `file ${f} belongs to no index`);
    if (m[2].endsWith('.faissindex')) snapshots.set(m[1], (snapshots.get(m[1]) ?? 0) + 1);
    if (m[2].endsWith('.points')) points.set(m[1], (points.get(m[1]) ?? 0) + 1);
  }
  for (const [id, count] of snapshots) assert.equal(count, 1, `index ${id} has ${count} snapshots`);
  for (const [id, count] of points) assert.ok(collections.has(id) && count === 1, `${id} has ${count} points files`);
  for (const id of collections) assert.equal(points.get(id), snapshots.get(id), `collection ${id} has a snapshot without its points`);
}

export async function close(s: Services): Promise<void> {
  await s.indexes.close();
  s.catalog.close();
}


export interface Scenario {
  name: string;
  /** Loads what the operation works on first (loading is not the operation under test). */
  warm?: (s: Services) => Promise<unknown>;
  run: (s: Services) => Promise<unknown>;
}

const d = 4;

/**
 * The data directory every scenario starts from: two tenants with keys; a flat
 * IDMap, an HNSW, an untrained IVF index, a plain flat one and a binary IVF; some
 * writes in snapshots and some only in logs (as a crash leaves them: no shutdown snapshot).
 */
export async function buildTemplate(dir: string): Promise<void> {
  const s = await open(dir);
  s.tenants.create('t');
  s.keys.issue('t', 'write');
  s.tenants.create('u');
  s.keys.issue('u', 'read');
  await s.indexes.create('u', { name: 'u1', dimension: d, type: 'IndexFlatL2' });
  await s.indexes.add('u', 'u1', randomVectors(3, d, 1));
  await s.indexes.create('t', { name: 'flat', dimension: d, type: 'IndexFlatL2', params: { idMap: true } });
  await s.indexes.add('t', 'flat', randomVectors(3, d, 2), ids(1, 2, 3));
  await s.indexes.create('t', { name: 'graph', dimension: d, type: 'IndexHNSWFlat', params: { M: 8 } });
  await s.indexes.add('t', 'graph', randomVectors(20, d, 3));
  await s.indexes.create('t', { name: 'ivf', dimension: d, type: 'IndexIVFFlat', params: { nlist: 2 } });
  await s.indexes.create('t', { name: 'bits', dimension: 64, type: 'IndexBinaryIVF', params: { nlist: 2 } });
  await s.indexes.train('t', 'bits', codes(20, 64, 9));
  await s.indexes.add('t', 'bits', codes(3, 64, 10), ids(1, 2, 3));
  await s.collections.create('u', { name: 'notes', dimension: d });
  await s.collections.upsert('u', 'notes', points(['n1', 'n2'], 20));
  await s.collections.create('t', { name: 'docs', dimension: d, payloadIndexes: { src: 'keyword' } });
  await s.collections.upsert('t', 'docs', points(['a', 'b', 'c', 'd'], 21));
  await s.collections.create('t', { name: 'drafts', dimension: d, factory: 'HNSW8' });
  await s.collections.upsert('t', 'drafts', points(['x', 'y'], 22));
  await s.collections.createAlias('t', 'live', 'docs');
  await s.indexes.snapshotAll();
  await s.indexes.add('t', 'flat', randomVectors(2, d, 4), ids(4, 5));
  await s.collections.upsert('t', 'docs', points(['b', 'e', 'f'], 23));
  await s.collections.delete('t', 'drafts', { ids: ['x'] });
  await s.indexes.add('t', 'bits', codes(2, 64, 11), ids(4, 5));
  await s.indexes.remove('t', 'graph', ids(0));
  // Closing would snapshot: copy the directory as a crash would leave it.
  fs.cpSync(dir, `${dir}-live`, { recursive: true });
  s.catalog.close();
  await s.indexes.close().catch(() => undefined);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.renameSync(`${dir}-live`, dir);
}

/** Points of a collection of dimension d: sources alternate between "wiki" and "blog". */
function points(idList: string[], seed: number): { ids: string[]; x: Float32Array; payloads: Payload[] } {
  return { ids: idList, x: randomVectors(idList.length, d, seed), payloads: idList.map((id, i) => ({ src: i % 2 === 0 ? 'wiki' : 'blog', id, seed })) };
}

/** An 8-d index file (IDMap2 over flat, ids 100-103) to import. */
async function importBytes(): Promise<Uint8Array> {
  const eight = new IndexIDMap2(new IndexFlatL2(8));
  await eight.addWithIds(randomVectors(4, 8, 5), ids(100, 101, 102, 103));
  const bytes = await serializeIndex(eight);
  eight.dispose();
  return bytes;
}

/** Every mutating operation, on the template's data. */
export const scenarios: Scenario[] = [
  { name: 'add', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.add('t', 'flat', randomVectors(2, d, 6), ids(10, 11)) },
  { name: 'add to an index not loaded yet', run: (s) => s.indexes.add('t', 'graph', randomVectors(2, d, 7)) },
  { name: 'remove', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.remove('t', 'flat', ids(1, 4)) },
  {
    name: 'remove past the rebuild threshold (rebuild, snapshot, log trim)',
    warm: (s) => s.indexes.describe('t', 'graph'),
    run: async (s) => {
      await s.indexes.remove('t', 'graph', ids(1, 2, 3, 4, 5, 6, 7, 8));
      await s.indexes.snapshotAll(); // the remove rebuilt it: saved now
    },
  },
  // Logged as the ids the filter selected (recovery replays ids, never the filter).
  { name: 'remove by filter', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.remove('t', 'flat', new IDSelectorRange(2, 5)) },
  {
    name: 'remove by filter from an index that hides removed ids',
    warm: (s) => s.indexes.describe('t', 'graph'),
    run: (s) => s.indexes.remove('t', 'graph', new IDSelectorNot(new IDSelectorRange(0, 16))),
  },
  { name: 'train', warm: (s) => s.indexes.describe('t', 'ivf'), run: (s) => s.indexes.train('t', 'ivf', randomVectors(100, d, 8)) },
  { name: 'add binary codes', warm: (s) => s.indexes.describe('t', 'bits'), run: (s) => s.indexes.add('t', 'bits', codes(2, 64, 12), ids(10, 11)) },
  { name: 'remove from a binary index', warm: (s) => s.indexes.describe('t', 'bits'), run: (s) => s.indexes.remove('t', 'bits', ids(1, 4)) },
  { name: 'reset', warm: (s) => s.indexes.describe('t', 'flat'), run: (s) => s.indexes.reset('t', 'flat') },
  { name: 'create an index', run: (s) => s.indexes.create('t', { name: 'new', dimension: d, type: 'IndexFlatL2' }) },
  { name: 'import over an index of another dimension', run: async (s) => s.indexes.importIndex('t', 'flat', await importBytes()) },
  { name: 'import a new index', run: async (s) => s.indexes.importIndex('t', 'imported', await importBytes()) },
  { name: 'delete an index', run: (s) => s.indexes.delete('t', 'flat') },
  { name: 'delete a tenant (its indexes and keys)', run: (s) => s.tenants.delete('u') },
  { name: 'create a tenant', run: async (s) => s.tenants.create('v') },
  { name: 'create a key', run: async (s) => s.keys.issue('t', 'read') },
  { name: 'revoke a key', run: async (s) => s.keys.revoke(s.keys.list('t').find((k) => k.role === 'write')!.id) },
  { name: 'change quotas', run: async (s) => s.tenants.setQuotas('t', { maxIndexes: 3 }) },
  {
    name: 'snapshot and log trim',
    warm: async (s) => {
      await s.indexes.describe('t', 'flat');
      await s.indexes.describe('t', 'graph');
      await s.indexes.describe('t', 'bits');
    },
    run: (s) => s.indexes.snapshotAll(),
  },
  // Collections (issue 18): the same log, snapshots and catalog as indexes.
  { name: 'upsert into a collection (new and replaced points)', warm: (s) => s.collections.info('t', 'docs'), run: (s) => s.collections.upsert('t', 'live', points(['a', 'g'], 24)) },
  { name: 'upsert into a collection not loaded yet', run: (s) => s.collections.upsert('t', 'drafts', points(['y', 'z'], 25)) },
  {
    name: 'delete from a collection by filter',
    warm: (s) => s.collections.info('t', 'docs'),
    run: (s) => s.collections.delete('t', 'docs', { filter: parseFilter({ must: [{ key: 'src', match: { value: 'wiki' } }] }) }),
  },
  { name: 'create a collection', run: (s) => s.collections.create('t', { name: 'fresh', dimension: d, payloadIndexes: { src: 'keyword' } }) },
  { name: 'delete a collection', run: (s) => s.collections.drop('t', 'drafts') },
  { name: 'switch an alias', run: (s) => s.collections.switchAlias('t', 'live', 'drafts') },
  {
    name: 'snapshot and log trim of collections',
    warm: async (s) => {
      await s.collections.info('t', 'docs');
      await s.collections.info('t', 'drafts');
    },
    run: (s) => s.indexes.snapshotAll(),
  },
];
