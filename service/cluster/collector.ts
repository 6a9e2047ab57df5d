// The cluster's collector of leaks (docs/cluster.md "What the collector
// deletes"): what JetStream holds that no catalog record names any more, left by
// a node that died or lost a race between two steps of a change. It lists the
// index and collection streams (FP_<storage id>), the tenants' usage streams
// (FPQ_<tenant>), the objects of the snapshot store (<storage id>.<sequence>,
// <storage id>.import) and the catalog's shared-snapshot pointers (s.<storage id>)
// and placements (p.<storage id>), reads the catalog, and deletes what no record
// names and is older than the grace period.
//
// Why collecting is safe. Every change makes its new streams and objects first
// and the catalog record (or pointer) that names them last: a create or import
// its stream, then its record; a shared snapshot its object, then its pointer.
// The invariant: a record or pointer naming a stream or object is written within
// half the grace period of the stream's or object's making (the writer checks its
// own clock before committing, JetStreamLog.beforeCommit and shareSnapshot, and
// gives up otherwise; half leaves the other half for the commit itself to land,
// a catalog change's 10 s at most, and for the clocks of the collector and the NATS
// servers to differ). The collector lists first, then reads the catalog as of
// after the listing (every change JetStream had acknowledged by then). So a thing
// older than the grace period when listed either has its record in that read, or
// never will: its maker has given up. A storage id is a new UUID for each create
// and import and never named again once its record is gone (a deletion, or an
// import's switch to a new id), so what no record names at the read stays unnamed.
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { CATALOG_BUCKET } from './kv-catalog';
import { SNAPSHOT_BUCKET } from './replicated-log';
import { deleteKeyIf } from './stream-cas';
import { isLeftover, type StoredUnderTenant } from './tenant-records';

/**
 * What the collector deletes: an index's or collection's stream, a tenant's usage stream, a snapshot store object,
 * a catalog key (a shared-snapshot pointer, a placement), a deleted tenant's record (a key, index, collection or alias).
 */
export type LeakKind = 'stream' | 'usage-stream' | 'object' | 'key' | 'record';

export interface Leak {
  kind: LeakKind;
  /** The stream's, object's or KV key's name. */
  name: string;
  /** Seconds since it was made (JetStream's time). */
  ageSeconds: number;
  /** Why no record needs it. */
  why: string;
}

export interface Collection {
  /** Every leak found (dry run: what a run would delete). */
  leaks: Leak[];
  /** Those this run deleted (another node may have deleted the others first). */
  deleted: Leak[];
}

/** The longest the catalog read may take before the pass gives up (nothing deleted). */
const CATALOG_READ_MS = 30_000;

/** base64url token of a KV key (kv-catalog.ts) back to its name, and a name to its token. */
const untoken = (t: string): string => Buffer.from(t, 'base64url').toString('utf8');
const token = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');

/** The kinds of record made under a tenant (kv-catalog.ts), by their KV key's first letter. */
const UNDER_TENANT: Record<string, string> = { k: 'key', i: 'index', c: 'collection', a: 'alias' };

/** How long deleting one leftover record may keep losing to other changes before this pass leaves it to the next. */
const RECORD_DELETE_MS = 8_000;

interface CatalogEntry {
  value: string;
  created: Date;
}

/**
 * Every key's value (deleted keys left out), as of at least JetStream's last
 * acknowledged change when called: the watch's first values are read until one
 * at or past the bucket stream's last sequence, read before the watch began.
 */
async function readCatalog(kv: KV): Promise<Map<string, CatalogEntry>> {
  const last = (await kv.status()).streamInfo.state.last_seq;
  const entries = new Map<string, CatalogEntry>();
  if (last === 0) return entries;
  const watch = await kv.watch();
  const timer = setTimeout(() => watch.stop(), CATALOG_READ_MS);
  let complete = false;
  try {
    for await (const e of watch) {
      if (e.operation === 'PUT') entries.set(e.key, { value: e.string(), created: e.created });
      else entries.delete(e.key);
      if (e.revision >= last) {
        complete = true;
        break;
      }
    }
  } finally {
    clearTimeout(timer);
    watch.stop();
  }
  if (!complete) throw new Error(`the catalog was not read in ${CATALOG_READ_MS / 1000} s`);
  return entries;
}

/** What the catalog names: storage ids (records and their shards), tenants (by KV token), the shared snapshot each id points to. */
function referencesOf(catalog: Map<string, CatalogEntry>): { ids: Set<string>; tenantTokens: Set<string>; pointers: Map<string, number> } {
  const ids = new Set<string>();
  const tenantTokens = new Set<string>();
  const pointers = new Map<string, number>();
  for (const [key, e] of catalog) {
    if (key.startsWith('t.')) tenantTokens.add(key.slice(2));
    else if (key.startsWith('s.')) pointers.set(untoken(key.slice(2)), Number(e.value));
    else if (key.startsWith('i.') || key.startsWith('c.')) {
      // Any record names its id, its tenant's or not (a record outliving its tenant is kept with its stream).
      const r = JSON.parse(e.value) as { id: string; shards?: number };
      ids.add(r.id);
      for (let s = 0; s < (r.shards ?? 0); s++) ids.add(`${r.id}-s${s}`);
    }
  }
  return { ids, tenantTokens, pointers };
}

/** An object's storage id and what it is: `<id>.import`, or `<id>.<sequence>` (a shared snapshot). */
function parseObject(name: string): { id: string; seq?: number } | undefined {
  const dot = name.lastIndexOf('.');
  if (dot <= 0) return undefined;
  const id = name.slice(0, dot);
  const tail = name.slice(dot + 1);
  if (tail === 'import') return { id };
  return /^\d+$/.test(tail) ? { id, seq: Number(tail) } : undefined;
}

export class LeakCollector {
  /** The tenant of each leftover record this pass found, by KV key: its deletion checks the record is still that tenant's leftover. */
  private readonly leftoverTenants = new Map<string, string>();

  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly js: JetStreamClient,
    private readonly kv: KV,
    private readonly objects: ObjectStore,
  ) {}

  /** Over the node's (or the CLI's) connection; the buckets are the cluster's, made by the nodes. */
  static async open(nc: NatsConnection): Promise<LeakCollector> {
    return new LeakCollector(await jetstreamManager(nc, { timeout: 10_000 }), jetstream(nc), await new Kvm(nc).open(CATALOG_BUCKET), await new Objm(nc).open(SNAPSHOT_BUCKET));
  }

  /** Finds what no record names and is older than `graceMs`; deletes it unless `dryRun`. */
  async collect(graceMs: number, dryRun: boolean): Promise<Collection> {
    // Listed before the catalog is read (see the invariant above).
    const listedAt = Date.now();
    const ageOf = (made: Date | string) => (listedAt - new Date(made).getTime()) / 1000;
    const streams: { name: string; age: number }[] = [];
    for await (const s of this.jsm.streams.list()) streams.push({ name: s.config.name, age: ageOf(s.created) });
    const objects = (await this.objects.list()).filter((o) => !o.deleted).map((o) => ({ name: o.name, age: ageOf(o.mtime) }));
    const catalog = await readCatalog(this.kv);
    const { ids, tenantTokens, pointers } = referencesOf(catalog);
    const graceSeconds = graceMs / 1000;
    const leaks: Leak[] = [];
    const leak = (kind: LeakKind, name: string, age: number, why: string) => {
      if (age > graceSeconds) leaks.push({ kind, name, ageSeconds: Math.round(age), why });
    };
    for (const s of streams) {
      if (s.name.startsWith('FPQ_')) {
        if (!tenantTokens.has(s.name.slice(4))) leak('usage-stream', s.name, s.age, 'its tenant is not in the catalog');
      } else if (s.name.startsWith('FP_')) {
        if (!ids.has(s.name.slice(3))) leak('stream', s.name, s.age, 'no index or collection record names it');
      }
    }
    for (const o of objects) {
      const parsed = parseObject(o.name);
      if (!parsed) continue;
      const pointer = pointers.get(parsed.id);
      if (!ids.has(parsed.id)) leak('object', o.name, o.age, 'no index or collection record names its storage id');
      else if (parsed.seq === undefined) {
        // The import is its stream's first record: any shared snapshot of that id holds it.
        if (pointer !== undefined) leak('object', o.name, o.age, `an imported file a shared snapshot (${pointer}) holds`);
      } else if (pointer !== parsed.seq) leak('object', o.name, o.age, pointer === undefined ? 'a snapshot no pointer names' : `a snapshot older or newer than the one shared (${pointer})`);
    }
    this.leftoverTenants.clear();
    for (const [key, e] of catalog) {
      const kind = UNDER_TENANT[key[0]];
      if (kind === undefined || key[1] !== '.') continue;
      // Its stream, if it names one, stays named until the record is gone: the next pass collects it.
      const { tenant } = JSON.parse(e.value) as StoredUnderTenant;
      if (!isLeftover(e.value, tenant, catalog.get(`t.${token(tenant)}`)?.value)) continue;
      this.leftoverTenants.set(key, tenant);
      leak('record', key, ageOf(e.created), `a ${kind} record of a deleted tenant ${JSON.stringify(tenant)} (made under it through another node while it was deleted)`);
    }
    for (const [key, e] of catalog) {
      if (!key.startsWith('s.') && !key.startsWith('p.')) continue;
      const id = untoken(key.slice(2));
      if (!ids.has(id)) leak('key', key, ageOf(e.created), `${key.startsWith('s.') ? 'the shared snapshot pointer' : 'the shard placement'} of ${id}, which no record names`);
    }
    if (dryRun) return { leaks, deleted: [] };
    const deleted: Leak[] = [];
    for (const l of leaks) if (await this.delete(l)) deleted.push(l);
    return { leaks, deleted };
  }

  /** Deletes one leak; false when it was gone already (another node's collector) or could not be deleted (logged). */
  private async delete(l: Leak): Promise<boolean> {
    try {
      if (l.kind === 'stream' || l.kind === 'usage-stream') return await this.jsm.streams.delete(l.name);
      if (l.kind === 'object') {
        // A deleted object keeps its name (deleted: true) and may be deleted again: that is not this run's.
        const info = await this.objects.info(l.name);
        return info !== null && !info.deleted && (await this.objects.delete(l.name)).success;
      }
      if (l.kind === 'record') {
        // Only while it still is one (read as the delete lands): a tenant of its name made again since may have written its own record there.
        const tenant = this.leftoverTenants.get(l.name)!;
        return await deleteKeyIf(this.jsm, this.js, CATALOG_BUCKET, l.name, (current, [t]) => isLeftover(current, tenant, t), RECORD_DELETE_MS, [`t.${token(tenant)}`]);
      }
      // A pointer or placement no record names: deleted as every catalog change is (its acknowledgement lost, read back).
      return await deleteKeyIf(this.jsm, this.js, CATALOG_BUCKET, l.name, (current) => current !== undefined, RECORD_DELETE_MS);
    } catch (e) {
      if (e instanceof JetStreamApiError && e.code === 404) return false;
      if (/not found/i.test((e as Error).message ?? '')) return false;
      console.error(`faiss-proxy: the collector could not delete ${l.kind} ${l.name}:`, e);
      return false;
    }
  }
}

/**
 * Runs the collector every `intervalMs` (give or take a tenth, so that nodes
 * started together do not collect at once) until the returned stop is called;
 * every node runs it, and a leak two nodes find is deleted once (the other's
 * delete finds it gone). Tells `onDeleted` of each leak this node deleted.
 */
export function collectEvery(collector: LeakCollector, intervalMs: number, graceMs: number, onDeleted: (l: Leak) => void): () => void {
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const next = () => {
    if (stopped) return;
    timer = setTimeout(run, intervalMs * (0.9 + Math.random() * 0.2));
    timer.unref();
  };
  const run = () => {
    collector
      .collect(graceMs, false)
      .then(({ deleted }) => {
        for (const l of deleted) {
          console.log(`faiss-proxy: collected ${l.kind} ${l.name} (${l.ageSeconds} s old: ${l.why})`);
          onDeleted(l);
        }
      })
      .catch((e) => console.error('faiss-proxy: a pass of the leak collector failed (the next one tries again):', e))
      .finally(next);
  };
  next();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
