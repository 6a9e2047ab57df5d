// The cluster's catalog (serve --cluster): tenants, keys, quotas, index and
// collection records and aliases in one JetStream KV bucket, replicated (R3), one
// KV key per record. Every node keeps a mirror of the bucket in memory, fed by a
// watch, and reads only the mirror (the key check of every request is a Map
// lookup, as fast as SQLite's). A change is made in the KV first, synchronously
// (catalog-writer.ts: the same contract as SQLite's commit), then in the mirror;
// other nodes see it when their watch delivers it, within a few ms on a healthy
// cluster: a key revoked on one node is refused by every node once its watch has
// delivered the revocation (docs/cluster.md: the bound and its measurement).
// The same Catalog interface as storage/catalog.ts: the domain cannot tell them apart.
import { randomUUID } from 'node:crypto';
import { receiveMessageOnPort, Worker, MessageChannel } from 'node:worker_threads';
import * as path from 'node:path';
import type { NatsConnection } from '@nats-io/nats-core';
import { Kvm, type KV, type KvWatchEntry } from '@nats-io/kv';
import type { QueuedIterator } from '@nats-io/nats-core';
import type { AliasRecord, Catalog, CollectionRecord, IndexRecord, KeyRecord, Quotas, TenantId, TenantRecord } from '../storage/catalog';
import { OutcomeUnknown, ServiceError } from '../domain/errors';
import { storageFault } from '../storage/storage-io';
import type { WriteAnswer, WriteRequest, WriterSetup } from './catalog-writer';
import { belongsTo, type StoredTenant, type StoredUnderTenant } from './tenant-records';

export const CATALOG_BUCKET = 'faiss-proxy-catalog';
/** The longest a catalog change waits for JetStream's acknowledgement before it fails (503). */
export const CATALOG_WRITE_TIMEOUT_MS = 10_000;
/**
 * How old this node's view of the catalog may grow before its key checks fail
 * (503): it is as fresh as the last of its own heartbeats (cluster.ts, every
 * HEARTBEAT_MS) that came back through its watch. A node cut off from the cluster,
 * or whose watch stalled, cannot go on accepting a key revoked elsewhere.
 */
export const CATALOG_STALE_MS = 3_000;
/** The longest a request naming an object this node does not know waits for its catalog to catch up (caughtUp). */
export const CATALOG_CATCH_UP_MS = 2_000;

/** A name as one token of a KV key (names may hold characters KV keys may not). */
const token = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
export const tenantKey = (t: string): string => `t.${token(t)}`;
const keyKey = (id: string) => `k.${token(id)}`;
const indexKey = (t: string, n: string) => `i.${token(t)}.${token(n)}`;
const collectionKey = (t: string, n: string) => `c.${token(t)}.${token(n)}`;
const aliasKey = (t: string, a: string) => `a.${token(t)}.${token(a)}`;

/** What a KV key's first letter names (messages). */
const KINDS: Record<string, string> = { t: 'tenant', k: 'key', i: 'index', c: 'collection', a: 'alias', p: 'placement' };

/** A tenant's record as the bucket holds it: its id (tenant-records.ts) is the catalog's own, not the domain's. */
type StoredTenantRecord = TenantRecord & StoredTenant;
/** A record under a tenant as the bucket holds it, with the id of the tenant it was made under. */
type Stored<T> = T & StoredUnderTenant;

const tenantOf = ({ id: _id, ...t }: StoredTenantRecord): TenantRecord => t;
const recordOf = <T>({ tenantId: _tenantId, ...r }: Stored<T>): T => r as T;

const tenantGone = (tenant: string) => new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(tenant)} (deleted through another node)`);

const byName = <T>(f: (x: T) => string) => (a: T, b: T) => (f(a) < f(b) ? -1 : f(a) > f(b) ? 1 : 0);

/** What a node tells the catalog every HEARTBEAT_MS (cluster.ts). */
export interface NodeHeartbeat {
  node: string;
  /** ms since the epoch, the node's clock. */
  at: number;
  startedAt: number;
  /** Records of its loaded objects' streams it has not applied yet, summed. */
  lag: number;
}

/** The KV key naming the latest shared snapshot of a storage id (its sequence: cluster/replicated-log.ts). */
export const sharedSnapshotKey = (id: string): string => `s.${token(id)}`;

/** The KV key of a node's heartbeat. */
export const heartbeatKey = (node: string): string => `n.${token(node)}`;

/** The KV key of a sharded index's placement: the node owning each shard, by the index's storage id (domain/sharded-indexes.ts). */
const placementKey = (id: string): string => `p.${token(id)}`;

/**
 * A node is live while its heartbeats (every HEARTBEAT_MS) keep coming: one not
 * heard from for this long has its shards placed on the others. Measured by
 * when this node received it, not by the sender's clock.
 */
export const NODE_LIVE_MS = 3_000;

export class KvCatalog implements Catalog {
  private readonly tenants = new Map<string, StoredTenantRecord>();
  private readonly keys = new Map<string, Stored<KeyRecord>>();
  private readonly indexes = new Map<string, Stored<IndexRecord>>();
  private readonly collections = new Map<string, Stored<CollectionRecord>>();
  private readonly aliases = new Map<string, Stored<AliasRecord>>();
  /** Each node's last heartbeat (cluster.ts), by KV key. */
  private readonly heartbeats = new Map<string, NodeHeartbeat>();
  /** When this node last received each heartbeat (performance.now()), by KV key: which nodes are live. */
  private readonly heard = new Map<string, number>();
  /** Each sharded index's placement (the owner of each shard), by KV key. */
  private readonly placements = new Map<string, string[]>();
  /** The KV revision each key's mirror holds (a watch entry older than a change made here is stale). */
  private readonly revisions = new Map<string, number>();
  private generation = 0;
  private nextRequest = 1;
  private closed = false;
  /** When the watch last delivered this node's own heartbeat (performance.now()): how fresh the mirror is known to be. */
  private freshAt = performance.now();
  /** This node's heartbeat key (cluster.ts). */
  private readonly ownHeartbeat: string;
  /** Told of every change the watch delivers from other nodes (the registry follows the records). */
  onChange: (key: string) => void = () => undefined;
  /** The highest KV revision the watch delivered: a new watch resumes after it. */
  private lastRevision = 0;
  /** Checks every second that the watch still delivers (see rewatchIfStale). */
  private readonly guard: NodeJS.Timeout;
  private rewatching = false;
  private lastRewatch = 0;

  private constructor(
    private readonly writer: Worker,
    private readonly signal: Int32Array,
    private readonly answers: MessagePort,
    private watch: QueuedIterator<KvWatchEntry>,
    private readonly nc: NatsConnection,
    private readonly kv: KV,
    node: string,
  ) {
    this.ownHeartbeat = heartbeatKey(node);
    this.guard = setInterval(() => void this.rewatchIfStale(), 1_000);
    this.guard.unref();
  }

  /**
   * A watch that stopped delivering while the connection is up (every NATS server
   * died and came back: the watch's consumer was lost with them, and the client
   * library finds out only after a long idle-heartbeat timeout) is replaced by a
   * new one resuming after the last revision delivered, so the node's catalog is
   * fresh again within seconds of the servers' return (docs/cluster.md).
   */
  private async rewatchIfStale(): Promise<void> {
    const now = performance.now();
    if (this.closed || this.rewatching || this.nc.isClosed() || now - this.freshAt <= CATALOG_STALE_MS || now - this.lastRewatch < CATALOG_STALE_MS) return;
    this.rewatching = true;
    this.lastRewatch = now;
    try {
      const watch = await this.kv.watch({ resumeFromRevision: this.lastRevision + 1 });
      if (this.closed) {
        watch.stop();
        return;
      }
      this.watch.stop();
      this.watch = watch;
      this.follow(watch);
    } catch {
      // The servers are not back yet: the next tick tries again.
    } finally {
      this.rewatching = false;
    }
  }

  /** Applies what `watch` delivers while it is the catalog's watch. */
  private follow(watch: QueuedIterator<KvWatchEntry>): void {
    void (async () => {
      for await (const e of watch) {
        if (watch !== this.watch) break;
        this.apply(e);
      }
    })().catch(() => undefined);
  }

  /** Opens the bucket (creating it if needed) and mirrors it; resolves once the mirror holds every record. */
  static async open(nc: NatsConnection, servers: string[], node: string, replicas: number): Promise<KvCatalog> {
    const kv: KV = await new Kvm(nc).create(CATALOG_BUCKET, { replicas, history: 1 });
    const signal = new SharedArrayBuffer(4);
    const channel = new MessageChannel();
    const setup: WriterSetup = { servers, name: node, bucket: CATALOG_BUCKET, replicas, signal, answers: channel.port2 };
    const writer = new Worker(path.join(__dirname, 'catalog-writer.js'), { workerData: setup, transferList: [channel.port2] });
    writer.unref();
    await new Promise<void>((resolve, reject) => {
      writer.once('message', (m: unknown) => (m === 'ready' ? resolve() : reject(new Error(`The catalog writer failed: ${(m as { failed?: string }).failed}`))));
      writer.once('error', reject);
    });
    const empty = (await kv.status()).values === 0;
    const watch = await kv.watch();
    const catalog = new KvCatalog(writer, new Int32Array(signal), channel.port1 as unknown as MessagePort, watch, nc, kv, node);
    await new Promise<void>((resolve, reject) => {
      let ready = empty;
      if (ready) resolve();
      const timer = setTimeout(() => reject(new Error('The catalog bucket was not read in 30 s')), 30_000);
      if (ready) clearTimeout(timer);
      void (async () => {
        for await (const e of watch) {
          catalog.apply(e);
          if (!ready && e.isUpdate) {
            ready = true;
            clearTimeout(timer);
            resolve();
          }
        }
      })();
    });
    return catalog;
  }

  /**
   * Resolves once the watch has delivered every change the bucket held when this
   * was called (its stream's last sequence then), or after CATALOG_CATCH_UP_MS: a
   * record another node made and acknowledged before a request came is known here
   * when the request is served (read-your-creates across nodes, docs/cluster.md).
   */
  async caughtUp(): Promise<void> {
    let last: number;
    try {
      last = (await this.kv.status()).streamInfo.state.last_seq;
    } catch (e) {
      throw storageFault('catalog.read', undefined, e);
    }
    const deadline = performance.now() + CATALOG_CATCH_UP_MS;
    while (this.lastRevision < last && performance.now() < deadline && !this.closed) await new Promise((r) => setTimeout(r, 2));
  }

  /** A change the watch delivered (this node's or another's). */
  private apply(e: KvWatchEntry): void {
    this.lastRevision = Math.max(this.lastRevision, e.revision);
    if (e.key.startsWith('n.')) {
      // A heartbeat: no record of the catalog, no new key generation.
      if (e.operation === 'PUT') {
        const beat = JSON.parse(e.string()) as NodeHeartbeat;
        this.heartbeats.set(e.key, beat);
        // One read at start (not a live update) was sent a while ago: a node dead for long is not taken for live.
        this.heard.set(e.key, performance.now() - (e.isUpdate ? 0 : Math.max(0, Date.now() - beat.at)));
      } else {
        this.heartbeats.delete(e.key);
        this.heard.delete(e.key);
      }
      if (e.key === this.ownHeartbeat && e.isUpdate) this.freshAt = performance.now();
      return;
    }
    if (e.key.startsWith('s.')) return; // which shared snapshot is the latest: the replicated log's, no catalog record
    if ((this.revisions.get(e.key) ?? 0) >= e.revision) return; // made here, already mirrored
    this.revisions.set(e.key, e.revision);
    const value = e.operation === 'PUT' ? JSON.parse(e.string()) : undefined;
    this.mirror(e.key, value);
    this.generation++;
    this.onChange(e.key);
  }

  /** Sets (or, with no value, removes) the mirror's record under a KV key. */
  private mirror(key: string, value: unknown): void {
    const kind = key[0];
    const map: Map<string, unknown> | undefined =
      kind === 't'
        ? this.tenants
        : kind === 'k'
          ? this.keys
          : kind === 'i'
            ? this.indexes
            : kind === 'c'
              ? this.collections
              : kind === 'a'
                ? this.aliases
                : kind === 'p'
                  ? this.placements
                  : undefined;
    if (!map) return;
    if (value === undefined) map.delete(key);
    else map.set(key, value);
  }

  /** One KV change, acknowledged by JetStream before it returns (catalog-writer.ts); then mirrored. */
  private write(op: WriteRequest['op'], key: string, value?: unknown, how: Pick<WriteRequest, 'update' | 'unlessReferenced' | 'under' | 'ifLeftoverOf' | 'ifFields'> = {}): WriteAnswer {
    if (this.closed) throw storageFault(`catalog.${op}`, undefined, new Error('the catalog is closed'));
    const id = this.nextRequest++;
    Atomics.store(this.signal, 0, 0);
    const deadline = Date.now() + CATALOG_WRITE_TIMEOUT_MS;
    const request: WriteRequest = { id, deadline, op, key, ...(value !== undefined && { value: JSON.stringify(value) }), ...how };
    this.writer.postMessage(request);
    const what = `The ${KINDS[key[0]] ?? 'catalog'} record`;
    for (;;) {
      const left = deadline - Date.now();
      // The writer may still be reading back an append it sent: the change may land.
      if (left <= 0) throw new OutcomeUnknown(`${what} may or may not have been changed: the catalog writer did not answer in ${CATALOG_WRITE_TIMEOUT_MS} ms (look before retrying)`);
      Atomics.wait(this.signal, 0, 0, left);
      Atomics.store(this.signal, 0, 0);
      let got: { message: WriteAnswer } | undefined;
      while ((got = receiveMessageOnPort(this.answers as never) as { message: WriteAnswer } | undefined)) {
        const a = got.message;
        if (a.id !== id) continue; // the late answer of a change that timed out
        if (a.unsettled) throw new ServiceError('ERR_STORAGE_FAILED', `${what} was not changed: ${a.error}`);
        if (a.unknown) throw new OutcomeUnknown(`${what} may or may not have been changed: ${a.error} (look before retrying)`);
        if (a.error) throw storageFault(`catalog.${op}`, undefined, new Error(a.error));
        if (a.missing !== undefined && op === 'create') return a; // its tenant is gone: nothing written
        if (a.kept) return a; // not a leftover: not deleted
        if (op === 'update') {
          // Nothing written (gone, or not as expected): the watch brings what is there.
          if (a.revision === undefined) return a;
          value = JSON.parse(a.value!);
        }
        if (a.referenced !== undefined) return a; // not deleted
        if (!a.exists) {
          if (a.revision !== undefined) this.revisions.set(key, Math.max(this.revisions.get(key) ?? 0, a.revision));
          this.mirror(key, value);
          this.generation++;
        }
        return a;
      }
    }
  }

  /** A create: refused with `exists` when another node made the record first. */
  private create(key: string, value: unknown, exists: () => ServiceError): void {
    if (this.write('create', key, value).exists) throw exists();
  }

  /**
   * A create of a record under its tenant, the tenant record of id `tenantId` (the one its request was let in
   * under): made only while that record is the tenant's in the bucket as the change lands; a tenant deleted
   * through another node first (or deleted and made again) answers ERR_TENANT_NOT_FOUND.
   */
  private createUnder(key: string, r: { tenant: string }, tenantId: TenantId, exists: () => ServiceError): void {
    if (this.tenantId(r.tenant) !== tenantId) throw tenantGone(r.tenant);
    const value: Stored<typeof r> = { ...r, ...(tenantId !== null && { tenantId }) };
    const a = this.write('create', key, value, { under: tenantKey(r.tenant) });
    if (a.missing !== undefined) throw tenantGone(r.tenant);
    if (a.exists) throw exists();
  }

  /** Whether a record under a tenant belongs to the tenant record of its name this node has (tenant-records.ts). */
  private belongs(r: StoredUnderTenant): boolean {
    return belongsTo(r, this.tenants.get(tenantKey(r.tenant)));
  }

  listTenants(): TenantRecord[] {
    return [...this.tenants.values()].map(tenantOf).sort(byName((t) => t.name));
  }
  getTenant(name: string): TenantRecord | undefined {
    const t = this.tenants.get(tenantKey(name));
    return t && tenantOf(t);
  }
  tenantId(name: string): TenantId | undefined {
    const t = this.tenants.get(tenantKey(name));
    return t && (t.id ?? null);
  }
  /** With a new id (tenant-records.ts): what is made under it belongs to it, never to a tenant of its name made later. */
  insertTenant(t: TenantRecord): void {
    const stored: StoredTenantRecord = { ...t, id: randomUUID() };
    this.create(tenantKey(t.name), stored, () => new ServiceError('ERR_TENANT_EXISTS', `Tenant ${t.name} already exists`));
  }
  /** The quotas given, over the tenant's record as it is when the change lands: a racing change of another quota is kept. */
  updateQuotas(name: string, q: Partial<Quotas>): TenantRecord | undefined {
    const t = this.updated<StoredTenantRecord>(this.write('update', tenantKey(name), undefined, { update: { set: q } }));
    return t && tenantOf(t);
  }
  /**
   * The tenant's record first: from then on nothing can be made under it (createUnder), and every record made
   * under it is a leftover no node honours, even under a tenant of its name made again (tenant-records.ts). Then
   * the leftovers this node knows, each only while it still is one; one made through another node that this
   * node had not seen yet is the leak collector's (collector.ts). The tenant's record is deleted only while it is
   * the one this node knows (its id): a node that has not seen a deletion and a new tenant of the name through
   * another node does not delete the new one.
   */
  deleteTenant(name: string): void {
    const tenant = this.tenants.get(tenantKey(name));
    if (!tenant) return;
    const under = <T extends StoredUnderTenant>(records: Map<string, T>) => [...records].filter(([, r]) => r.tenant === name && belongsTo(r, tenant)).map(([key]) => key);
    const leftovers = [...under(this.keys), ...under(this.aliases), ...under(this.collections), ...under(this.indexes)];
    this.write('delete', tenantKey(name), undefined, { ifFields: { id: tenant.id ?? null } });
    for (const key of leftovers) this.write('delete', key, undefined, { ifLeftoverOf: { tenant: name, tenantKey: tenantKey(name) } });
  }
  listKeys(tenant?: string): KeyRecord[] {
    return [...this.keys.values()]
      .filter((k) => (tenant === undefined || k.tenant === tenant) && this.belongs(k))
      .map(recordOf<KeyRecord>)
      .sort(byName((k) => `${tenant === undefined ? k.tenant : ''}\u0000${k.createdAt}\u0000${k.id}`));
  }
  getKey(id: string): KeyRecord | undefined {
    const k = this.keys.get(keyKey(id));
    // A key of a deleted tenant is gone with it, even before its own deletion arrives, and never a key of a tenant of its name made again.
    return k && this.belongs(k) ? recordOf(k) : undefined;
  }
  /** Fails (503) while the mirror may be stale: see CATALOG_STALE_MS. */
  keyGeneration(): number {
    const age = performance.now() - this.freshAt;
    if (age > CATALOG_STALE_MS) {
      throw new ServiceError('ERR_STORAGE_FAILED', `This node has not heard from the cluster's catalog for ${(age / 1000).toFixed(1)} s: it cannot tell whether a key was revoked (retry, or another node)`);
    }
    return this.generation;
  }
  insertKey(k: KeyRecord, tenantId: TenantId): void {
    this.createUnder(keyKey(k.id), k, tenantId, () => new ServiceError('ERR_INVALID_ARGUMENT', 'A key with this id already exists'));
  }
  /** Only a key still there and not yet revoked is changed (a deleted key stays deleted); the key as it is after. */
  revokeKey(id: string, at: string): KeyRecord | undefined {
    const a = this.write('update', keyKey(id), undefined, { update: { set: { revokedAt: at }, expect: { revokedAt: null } } });
    const k = a.conflict ? (JSON.parse(a.value!) as Stored<KeyRecord>) : this.updated<Stored<KeyRecord>>(a);
    return k && recordOf(k);
  }
  listIndexes(tenant?: string): IndexRecord[] {
    return this.ofTenant(this.indexes, tenant).sort(byName((r) => `${r.tenant}\u0000${r.name}`));
  }
  getIndex(tenant: string, name: string): IndexRecord | undefined {
    const r = this.indexes.get(indexKey(tenant, name));
    return r && this.belongs(r) ? recordOf(r) : undefined;
  }
  insertIndex(r: IndexRecord, tenantId: TenantId): void {
    this.createUnder(indexKey(r.tenant, r.name), r, tenantId, () => new ServiceError('ERR_INDEX_EXISTS', `Index ${r.name} already exists`));
  }
  replaceIndex(next: IndexRecord, replaces: string): void {
    const { id, dimension, factory, metric, mmap } = next;
    const a = this.write('update', indexKey(next.tenant, next.name), undefined, { update: { set: { id, dimension, factory, metric, mmap }, expect: { id: replaces } } });
    if (a.missing) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(next.name)} (deleted while the import was written)`);
    // Its new stream is numbered on from the one it replaces: it cannot take the place of another node's import.
    if (a.conflict) throw new ServiceError('ERR_STORAGE_FAILED', `Index ${next.name} was replaced through another node while this import was written: retry it`);
  }
  /** Only the record of that storage id, as the deletion lands: never one made under the name through another node since. */
  deleteIndex(tenant: string, name: string, id: string): void {
    this.write('delete', indexKey(tenant, name), undefined, { ifFields: { id } });
  }
  listCollections(tenant?: string): CollectionRecord[] {
    return this.ofTenant(this.collections, tenant).sort(byName((r) => `${r.tenant}\u0000${r.name}`));
  }
  insertCollection(r: CollectionRecord, tenantId: TenantId): void {
    this.createUnder(collectionKey(r.tenant, r.name), r, tenantId, () => new ServiceError('ERR_COLLECTION_EXISTS', `Collection ${r.name} already exists`));
  }
  /**
   * Not while an alias points at it, as the catalog is when the deletion lands (the domain checked this node's
   * copy; an alias switched to it through another node meanwhile keeps it): ERR_INVALID_ARGUMENT, as the domain's.
   */
  deleteCollection(tenant: string, name: string, id: string): void {
    const { referenced } = this.write('delete', collectionKey(tenant, name), undefined, {
      unlessReferenced: { prefix: `a.${token(tenant)}.`, field: 'collection', value: name },
      ifFields: { id },
    });
    if (referenced !== undefined) {
      const alias = Buffer.from(referenced.slice(referenced.lastIndexOf('.') + 1), 'base64url').toString('utf8');
      throw new ServiceError('ERR_INVALID_ARGUMENT', `Collection ${name} cannot be deleted while aliases point at it: ${alias}; switch or delete them first`);
    }
  }
  listAliases(tenant?: string): AliasRecord[] {
    return this.ofTenant(this.aliases, tenant).sort(byName((a) => `${a.tenant}\u0000${a.alias}`));
  }
  getAlias(tenant: string, alias: string): AliasRecord | undefined {
    const a = this.aliases.get(aliasKey(tenant, alias));
    return a && this.belongs(a) ? recordOf(a) : undefined;
  }
  insertAlias(a: AliasRecord, tenantId: TenantId): void {
    this.createUnder(aliasKey(a.tenant, a.alias), a, tenantId, () => new ServiceError('ERR_ALIAS_EXISTS', `Alias ${a.alias} already exists`));
  }
  /**
   * Only an alias still there, the one this node knows (of its tenant record: never one made under the name through
   * another node since), to a collection still there (both as the change lands).
   */
  switchAlias(a: AliasRecord): void {
    const target = collectionKey(a.tenant, a.collection);
    const known = this.aliases.get(aliasKey(a.tenant, a.alias));
    const gone = () => new ServiceError('ERR_ALIAS_NOT_FOUND', `No alias named ${JSON.stringify(a.alias)}`);
    if (!known || !this.belongs(known)) throw gone();
    const w = this.write('update', aliasKey(a.tenant, a.alias), undefined, { update: { set: { collection: a.collection }, expect: { tenantId: known.tenantId ?? null }, requires: [target] } });
    if (w.missing === target) throw new ServiceError('ERR_COLLECTION_NOT_FOUND', `No collection named ${JSON.stringify(a.collection)}`);
    if (w.missing || w.conflict) throw gone();
  }
  /** Only the alias this node knows (of its tenant record), as the deletion lands. */
  deleteAlias(tenant: string, alias: string): void {
    const known = this.aliases.get(aliasKey(tenant, alias));
    if (!known || !this.belongs(known)) return;
    this.write('delete', aliasKey(tenant, alias), undefined, { ifFields: { tenantId: known.tenantId ?? null } });
  }
  /** The nodes that told the catalog they are up, as last heard. */
  nodes(): NodeHeartbeat[] {
    return [...this.heartbeats.values()].sort(byName((n) => n.node));
  }

  /** The nodes whose heartbeat this node received within NODE_LIVE_MS, by name. */
  liveNodes(): string[] {
    const now = performance.now();
    return [...this.heartbeats]
      .filter(([key]) => now - (this.heard.get(key) ?? -Infinity) <= NODE_LIVE_MS)
      .map(([, h]) => h.node)
      .sort();
  }
  /** A sharded index's placement: the node owning each shard (undefined: not placed yet). */
  placementOf(id: string): readonly string[] | undefined {
    return this.placements.get(placementKey(id));
  }
  putPlacement(id: string, owners: readonly string[]): void {
    this.write('put', placementKey(id), owners);
  }
  deletePlacement(id: string): void {
    this.write('delete', placementKey(id));
  }

  /** Readiness: the cluster is reachable (a node cut off from it cannot take catalog changes). */
  checkFile(): void {
    if (this.closed || this.nc.isClosed()) throw new Error('the cluster connection is closed');
  }
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.guard);
    this.watch.stop();
    this.writer.postMessage('close');
  }

  /** The record an update wrote, or undefined when it was gone. */
  private updated<T>(a: WriteAnswer): T | undefined {
    return a.revision !== undefined ? (JSON.parse(a.value!) as T) : undefined;
  }

  private ofTenant<T extends { tenant: string }>(map: Map<string, Stored<T>>, tenant?: string): T[] {
    return [...map.values()].filter((r) => (tenant === undefined || r.tenant === tenant) && this.belongs(r)).map(recordOf<T>);
  }
}
