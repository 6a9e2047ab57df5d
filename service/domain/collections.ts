// The collections of every tenant (issue 18), as the service offers them: each a
// durable collection (durable-collection.ts: the indexes' log, snapshots,
// recovery, idempotency and eviction), registered, budgeted and counted against
// quotas together with the tenant's indexes (IndexService.host()), and aliases
// (a second name for a collection, switched atomically) kept in the catalog.
// Every call takes the tenant first and accepts an alias where it takes a
// collection's name. Takes and returns plain values; knows nothing about HTTP.
import { randomUUID } from 'node:crypto';
import { FaissError } from '../../lib';
import { CollectionState, type StateScrollOptions, type StateSearchOptions } from '../../lib/collections/collection-state';
import type { ParsedFilter } from '../../lib/collections/filter';
import { payloadArg, payloadFieldArg, payloadFieldTypeArg, pointIdArg, specInput, type PointsBatch, type ValidReadOptions } from '../../lib/collections/input';
import type { CollectionLimits } from '../../lib/collections/limits';
import type { AliasInfo, CollectionInfo, CollectionSpec, Hit, PayloadFieldType, Point } from '../../lib/collections/types';
import type { Catalog, CollectionRecord, TenantId } from '../storage/catalog';
import { MIN_SEQUENCE_WAIT_MS, type StorageReport } from './durable';
import { DurableCollection, collectionMutation } from './durable-collection';
import { OutcomeUnknown, ServiceError } from './errors';
import { requestFingerprint } from '../../lib/request-fingerprint';
import type { DurableHost } from './indexes';
import { requireName } from './names';
import { NOTHING_HELD, usageCountOf, type Admission, type UsageCount } from './quotas';
import { kArg } from '../../lib/limits';
import { ShardedCollections } from './sharded-collections';
import { MAX_SHARDS, shardStorageId } from './shards';

/** What a delete removes: these ids, or the points a filter matches when the delete's turn comes. */
export type DeleteTarget = { ids: readonly string[] } | { filter: ParsedFilter };

/** One collection as operators see it (metrics, dashboard). */
export interface CollectionStatus {
  tenant: string;
  name: string;
  /** The FAISS index type holding its vectors ("unknown" until first loaded or snapshotted). */
  type: string;
  factory: string;
  dimension: number;
  points: number;
  /** Index and payloads (in memory when loaded, as last saved otherwise). */
  bytes: number;
  payloadBytes: number;
  loaded: boolean;
  logBytes: number;
  snapshotAgeSeconds: number | undefined;
  /** Aliases pointing at it. */
  aliases: string[];
  storage?: StorageReport;
  /** A cluster's: records of the collection's stream (a sharded one's: of the shards held here) this node has not applied yet. */
  replicaLag?: number;
}

export interface CollectionsOptions {
  /** What each point is held to (--max-payload-bytes). */
  limits: CollectionLimits;
}

/** A collection as described: a cluster's sharded one also says its shards and the node owning each (docs/cluster.md). */
export type CollectionDescription = CollectionInfo & { shards?: number; shardOwners?: string[] };

const notFound = (name: unknown): ServiceError => new ServiceError('ERR_COLLECTION_NOT_FOUND', `No collection or alias named ${JSON.stringify(name)}`);

export class Collections {
  /** A cluster's sharded collections (serve --cluster); undefined on a single node. */
  private readonly sharded: ShardedCollections | undefined;

  constructor(
    private readonly catalog: Catalog,
    private readonly host: DurableHost,
    private readonly o: CollectionsOptions,
  ) {
    const placement = host.sharded;
    if (placement) {
      const sharded = new ShardedCollections(placement);
      this.sharded = sharded;
      placement.attachCollections({
        records: () => this.catalog.listCollections(),
        record: (tenant, name) => this.catalog.listCollections(tenant).find((r) => r.name === name),
        make: (record) => this.durable(record),
        handle: (l, request) => sharded.handle(l, request),
        count: (record) => this.countSharded(this.use(record.tenant, record.name)),
      });
    }
  }

  /** What a point is held to (the HTTP layer validates with the same). */
  get limits(): CollectionLimits {
    return this.o.limits;
  }

  /** Registers every collection of the catalog (each loads on first use); after IndexService.open(), which keeps their files. */
  async open(): Promise<void> {
    for (const record of this.catalog.listCollections()) this.host.registry.registerCollection(this.durable(record));
  }

  /** A cluster's: the registry follows the catalog's collection records other nodes made or deleted (indexes.ts followCatalog). */
  async followCatalog(): Promise<void> {
    const { registry } = this.host;
    const records = this.catalog.listCollections();
    const wanted = new Map(records.map((r) => [`${r.tenant}\u0000${r.name}`, r]));
    for (const c of registry.allCollections()) {
      if (wanted.get(`${c.record.tenant}\u0000${c.record.name}`)?.id !== c.record.id) await this.host.forgetLocally(c);
    }
    this.registerNew(records);
  }

  /** Registers the collection records no collection of the registry has yet (each loads on first use). */
  private registerNew(records: CollectionRecord[]): void {
    const { registry } = this.host;
    for (const r of records) {
      if (!registry.findCollection(r.tenant, r.name) && !registry.isCreatingCollection(r.tenant, r.name)) registry.registerCollection(this.durable(r));
    }
  }

  /** Whether this node knows a collection or alias of this name (a cluster's may not yet: awaitCatalog). */
  knows(tenant: string, nameOrAlias: string): boolean {
    return this.host.registry.findCollection(tenant, nameOrAlias) !== undefined || this.catalog.getAlias(tenant, nameOrAlias) !== undefined;
  }

  /** A cluster's: as IndexService.awaitCatalog, for collections and aliases. */
  async awaitCatalog(): Promise<void> {
    if (!this.catalog.caughtUp) return;
    await this.catalog.caughtUp();
    this.registerNew(this.catalog.listCollections());
  }

  /** Resolves once the collection reflects every write up to version `seq` (indexes.ts awaitVersion). */
  awaitVersion(tenant: string, nameOrAlias: string, seq: number): Promise<void> {
    const c = this.use(tenant, nameOrAlias);
    const sharded = this.shardedOf(c);
    if (sharded) return sharded.awaitVersion(c.record, seq);
    return c.appliedThrough(seq, MIN_SEQUENCE_WAIT_MS);
  }

  /** Changes with every mutation of the collection (its log's sequence: a cluster's stream sequence). A sharded one's: its shards' summed, as last seen here. */
  version(tenant: string, nameOrAlias: string): number {
    const c = this.resolve(tenant, nameOrAlias);
    return this.shardedOf(c) ? this.host.sharded!.version(c.record) : c.version;
  }

  /**
   * `shards` (a cluster's, 1..MAX_SHARDS; 1: whole): the points partitioned over this many shards by a hash of their ids (sharded-collections.ts).
   * `tenantId`: the id of the tenant record the caller was let in under (Principal.tenantId); the collection is made
   * only while it is the tenant's. Absent: the tenant as the catalog has it now.
   */
  async create(tenant: string, spec: CollectionSpec, shards = 1, tenantId?: TenantId): Promise<CollectionDescription> {
    requireName((spec as { name?: unknown } | null)?.name, 'the collection name');
    const valid = specInput(spec);
    const { registry, quotas } = this.host;
    const under = registry.tenantIdFor(tenant, tenantId);
    registry.requireOpen(tenant, under);
    const { name } = valid;
    if (registry.findCollection(tenant, name) || registry.isCreatingCollection(tenant, name)) {
      throw new ServiceError('ERR_COLLECTION_EXISTS', `Collection ${name} already exists`);
    }
    if (this.catalog.getAlias(tenant, name)) throw new ServiceError('ERR_COLLECTION_EXISTS', `${name} is an alias; a collection cannot take its name`);
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      throw new ServiceError('ERR_INVALID_ARGUMENT', `shards must be an integer from 1 to ${MAX_SHARDS}, not ${JSON.stringify(shards)}`);
    }
    if (shards > 1 && !this.sharded) throw new ServiceError('ERR_UNSUPPORTED', 'shards partition a collection over the nodes of a cluster: start the server with --cluster (docs/cluster.md)');
    quotas.requireIndexQuota(tenant);
    // Built here also for a sharded one: a factory string FAISS refuses is refused before any stream is made.
    const state = CollectionState.create(valid, this.o.limits, { rebuildThreshold: this.host.rebuildThreshold });
    const record: CollectionRecord = { tenant, name, id: randomUUID(), spec: valid, createdAt: new Date().toISOString(), ...(shards > 1 && { shards }) };
    const releaseName = registry.claimName(tenant, name, 'collection');
    let admission: Admission;
    try {
      admission = await quotas.admit(tenant, { indexes: 1, vectors: 0, bytes: 0 }, { object: record.id });
    } catch (e) {
      releaseName();
      state.dispose();
      throw e;
    }
    if (shards > 1) state.dispose(); // each shard's replica builds its own from the record
    let c: DurableCollection | undefined;
    const installed = (async () => {
      if (shards > 1) return this.installSharded(record, under);
      c = this.durable(record);
      try {
        // Its first snapshot and empty log are durable before its catalog row is written.
        await c.install(state, () => {
          registry.requireOpen(tenant, under);
          this.catalog.insertCollection(record, under);
        });
      } catch (e) {
        c.drop();
        state.dispose();
        // A commit whose outcome is unknown may have named its stream: kept, and followed as another node's record if it landed.
        if (!(e instanceof OutcomeUnknown)) await c.removeFiles(record.id).catch(() => undefined);
        throw e;
      }
      registry.registerCollection(c);
      return c.read(async (s) => s.info());
    })();
    try {
      const info = await registry.tracked(tenant, installed);
      admission.end({ final: true, count: c ? usageCountOf(c) : { vectors: 0, bytes: 0, seq: 0 } }); // a new sharded one: empty
      return info;
    } catch (e) {
      admission.end({ final: !(e instanceof ServiceError && e.code === 'ERR_STORAGE_FAILED') });
      throw e;
    } finally {
      releaseName();
      // In a cluster, another node's record of this name that arrived while this node held it (followCatalog skips a name
      // being created), as when this create lost the race to it (409), is registered now.
      if (!registry.findCollection(tenant, name) && !registry.isCreatingCollection(tenant, name)) {
        const theirs = this.catalog.listCollections(tenant).find((r) => r.name === name);
        if (theirs) registry.registerCollection(this.durable(theirs));
      }
    }
  }

  /**
   * A new sharded collection: a stream per shard, then its catalog record, then
   * its placement (every live node its share: the sharded indexes' placement);
   * each shard's owner builds its replica from the record and its stream.
   */
  private async installSharded(record: CollectionRecord, tenantId: TenantId): Promise<CollectionDescription> {
    const replication = this.host.durableOptions().replication!;
    try {
      for (let s = 0; s < record.shards!; s++) await replication.create(shardStorageId(record.id, s), 0);
      this.host.registry.requireOpen(record.tenant, tenantId);
      replication.beforeCommit(...Array.from({ length: record.shards! }, (_, s) => shardStorageId(record.id, s)));
      this.catalog.insertCollection(record, tenantId);
    } catch (e) {
      if (!(e instanceof OutcomeUnknown)) for (let s = 0; s < record.shards!; s++) await replication.remove(shardStorageId(record.id, s)).catch(() => undefined);
      throw e;
    }
    try {
      this.host.sharded!.place(record);
    } catch (e) {
      // Created all the same: the coordinator places it within a second (ShardedIndexes.balance).
      console.error(`faiss-proxy: placing the shards of new collection ${record.tenant}/${record.name} failed:`, e);
    }
    const c = this.durable(record);
    this.host.registry.registerCollection(c);
    return this.describeSharded(c);
  }

  /** A sharded collection's usage, its shards gathered (the cluster's shared quota count); kept as its summary too. */
  private async countSharded(c: DurableCollection): Promise<UsageCount> {
    const { summary, version } = await this.sharded!.info(c.record);
    c.summary = summary;
    return { vectors: summary.ntotal, bytes: summary.bytes, seq: version };
  }

  /** Every shard's info, gathered; kept as the collection's summary (listing and quotas without asking the shards again). */
  private async describeSharded(c: DurableCollection): Promise<CollectionDescription> {
    const { info, summary } = await this.sharded!.info(c.record);
    c.summary = summary;
    return { ...info, shards: c.record.shards, shardOwners: [...this.host.sharded!.owners(c.record)] };
  }

  /** The tenant's collections by name (one not loaded: as of its last snapshot). */
  async list(tenant: string): Promise<CollectionInfo[]> {
    return this.host.registry
      .allCollections()
      .filter((c) => c.record.tenant === tenant)
      .sort((a, b) => a.record.name.localeCompare(b.record.name))
      .map((c) => this.infoOf(c));
  }

  async info(tenant: string, nameOrAlias: string): Promise<CollectionDescription> {
    const c = this.use(tenant, nameOrAlias);
    if (this.shardedOf(c)) return this.describeSharded(c);
    return c.read(async (s) => s.info());
  }

  /** The dimension of its vectors (the HTTP layer validates points with it). */
  dimension(tenant: string, nameOrAlias: string): number {
    return this.resolve(tenant, nameOrAlias).record.spec.dimension;
  }

  /** Refused while an alias points at it. The catalog row goes first (with it the deletion is durable), the files after. */
  async drop(tenant: string, nameOrAlias: string): Promise<void> {
    const c = this.resolve(tenant, nameOrAlias);
    const { name } = c.record;
    const aliases = this.catalog.listAliases(tenant).filter((a) => a.collection === name);
    if (aliases.length > 0) {
      throw new ServiceError(
        'ERR_INVALID_ARGUMENT',
        `Collection ${name} cannot be deleted while aliases point at it: ${aliases.map((a) => a.alias).join(', ')}; switch or delete them first`,
      );
    }
    this.catalog.deleteCollection(tenant, name, c.record.id);
    await this.host.quotas.forget(tenant, c.record.id);
    await this.host.forget(c);
    if (this.shardedOf(c)) await this.host.removeShards(c.record);
  }

  async train(tenant: string, nameOrAlias: string, x: Float32Array, key?: string): Promise<CollectionDescription> {
    const c = this.use(tenant, nameOrAlias);
    const d = c.record.spec.dimension;
    if (!(x instanceof Float32Array) || x.length === 0 || x.length % d !== 0) {
      throw new FaissError(`train: expected a non-empty multiple of ${d} floats (the collection's dimension)`, 'ERR_DIMENSION');
    }
    const sharded = this.shardedOf(c);
    if (sharded) {
      // Every shard trains on the same vectors (FAISS's training is deterministic): one quantizer, as one collection would have.
      await sharded.everyShard(c.record, { type: 'train', x }, key);
      return this.describeSharded(c);
    }
    await c.mutate(collectionMutation({ type: 'train', x }, requestFingerprint({ op: 'train' }, x), key));
    return c.read(async (s) => s.info());
  }

  /**
   * Inserts or replaces points, all or none. Checked here as well as by whoever
   * parsed them (ids, payload sizes): what is logged is replayed as it is. The
   * tenant's quotas count the new points' vectors and the payloads' bytes.
   */
  async upsert(tenant: string, nameOrAlias: string, input: PointsBatch, key?: string): Promise<{ upserted: number }> {
    const c = this.use(tenant, nameOrAlias);
    const d = c.record.spec.dimension;
    const { ids, x, payloads } = input;
    if (!Array.isArray(ids) || !Array.isArray(payloads) || payloads.length !== ids.length) {
      throw new ServiceError('ERR_INVALID_ARGUMENT', 'upsert: expected as many payloads as ids');
    }
    if (!(x instanceof Float32Array) || x.length !== ids.length * d) throw new FaissError(`upsert: expected ${ids.length} vectors of dimension ${d}`, 'ERR_DIMENSION');
    ids.forEach((id, i) => pointIdArg(id, `points[${i}].id`));
    let payloadBytes = 0;
    const copies = payloads.map((p, i) => {
      const copy = payloadArg(p, this.o.limits.maxPayloadBytes, `points[${i}].payload`);
      payloadBytes += copy.bytes;
      return copy.payload;
    });
    const sharded = this.shardedOf(c);
    if (sharded) {
      // Which ids are new: asked of the shards holding them; quotas count the points of every shard (the collection's summary).
      const existing = (await sharded.get(c.record, ids, { withPayload: false, withVector: false })).length;
      const admission = await this.host.quotas.admit(tenant, { indexes: 0, vectors: ids.length - existing, bytes: (ids.length - existing) * d * 4 + payloadBytes }, { object: c.record.id });
      try {
        const { upserted } = await sharded.upsert(c.record, { ids, x, payloads: copies }, key);
        admission.end({ final: true, count: await this.countSharded(c) });
        return { upserted };
      } catch (e) {
        // Some shards may have applied their part: the hold stays until it expires and the shards are counted (docs/cluster.md).
        admission.end({ final: false });
        throw e;
      }
    }
    // Loads the collection: whether this is a retry, and which ids are new, are known only then.
    const existing = await c.read(async (s) => (await s.get(ids, { withPayload: false, withVector: false })).length);
    const appendId = this.host.durableOptions().replication ? c.appendIdFor(key) : undefined;
    const admission =
      key !== undefined && c.hasApplied(key)
        ? NOTHING_HELD
        : await this.host.quotas.admit(tenant, { indexes: 0, vectors: ids.length - existing, bytes: (ids.length - existing) * d * 4 + payloadBytes }, { object: c.record.id, appendId });
    let added: number;
    try {
      const fingerprint = requestFingerprint({ op: 'upsert', ids, payloads: copies }, x);
      ({ added } = await c.mutate(collectionMutation({ type: 'upsert', ids, x, payloads: copies }, fingerprint, key), appendId));
    } catch (e) {
      admission.end({ final: false, count: usageCountOf(c), applied: (id) => c.appliedAt(id) });
      throw e;
    }
    admission.end({ final: true, count: usageCountOf(c), applied: (id) => c.appliedAt(id) });
    return { upserted: added };
  }

  /** The points of these ids that exist, in the order asked. */
  async get(tenant: string, nameOrAlias: string, ids: readonly string[], o?: ValidReadOptions): Promise<Point[]> {
    const c = this.use(tenant, nameOrAlias);
    const sharded = this.shardedOf(c);
    if (sharded) return sharded.get(c.record, ids, o);
    return c.read((s) => s.get(ids, o), 'get');
  }

  /** A delete by filter deletes what the filter matches when its turn in the queue comes; its log record holds those ids. */
  async delete(tenant: string, nameOrAlias: string, target: DeleteTarget, key?: string): Promise<{ deleted: number }> {
    const c = this.use(tenant, nameOrAlias);
    const sharded = this.shardedOf(c);
    if (sharded) {
      if ('ids' in target) target.ids.forEach((id, i) => pointIdArg(id, `ids[${i}]`));
      const answer = 'filter' in target ? await sharded.deleteWhere(c.record, target.filter, key) : await sharded.deleteIds(c.record, target.ids, key);
      // Gives quota back: the cluster's shared usage moves to what the shards hold now.
      await this.host.quotas.counted(tenant, c, await this.countSharded(c));
      return answer;
    }
    let removed: number;
    if ('filter' in target) {
      const { filter } = target;
      const fingerprint = requestFingerprint({ op: 'delete', filter: filter.text });
      ({ removed } = await c.mutate({ key, fingerprint, resolve: (s) => collectionMutation({ type: 'delete', ids: s.matchingIds(filter) }, fingerprint, key) }));
    } else {
      const ids = [...target.ids];
      ids.forEach((id, i) => pointIdArg(id, `ids[${i}]`));
      ({ removed } = await c.mutate(collectionMutation({ type: 'delete', ids }, requestFingerprint({ op: 'delete', ids }), key)));
    }
    await this.host.quotas.counted(tenant, c);
    return { deleted: removed };
  }

  async count(tenant: string, nameOrAlias: string, filter?: ParsedFilter): Promise<number> {
    const c = this.use(tenant, nameOrAlias);
    const sharded = this.shardedOf(c);
    if (sharded) return sharded.count(c.record, filter);
    return c.read(async (s) => s.count(filter), 'count');
  }

  async scroll(tenant: string, nameOrAlias: string, o: StateScrollOptions): Promise<{ points: Point[]; nextOffset: string | null }> {
    const c = this.use(tenant, nameOrAlias);
    const sharded = this.shardedOf(c);
    if (sharded) return sharded.scroll(c.record, o);
    return c.read((s) => s.scroll(o), 'scroll');
  }

  /** The k nearest points to each of the n vectors of `x` that pass the filter. */
  async search(tenant: string, nameOrAlias: string, x: Float32Array, n: number, k: number, o: StateSearchOptions): Promise<Hit[][]> {
    const c = this.use(tenant, nameOrAlias);
    const d = c.record.spec.dimension;
    if (!(x instanceof Float32Array) || !Number.isInteger(n) || n < 1 || x.length !== n * d) {
      throw new FaissError(`search: expected ${n} vectors of dimension ${d}`, 'ERR_DIMENSION');
    }
    const sharded = this.shardedOf(c);
    if (sharded) return sharded.search(c.record, x, n, kArg(k), o);
    return c.read((s) => s.search(x, n, k, o), 'search');
  }

  async createPayloadIndex(tenant: string, nameOrAlias: string, field: string, type: PayloadFieldType, key?: string): Promise<CollectionDescription> {
    const c = this.use(tenant, nameOrAlias);
    const op = { type: 'createPayloadIndex' as const, field: payloadFieldArg(field), schema: payloadFieldTypeArg(type) };
    const sharded = this.shardedOf(c);
    if (sharded) {
      await sharded.everyShard(c.record, op, key);
      return this.describeSharded(c);
    }
    await c.mutate(collectionMutation(op, requestFingerprint(op), key));
    return c.read(async (s) => s.info());
  }

  async deletePayloadIndex(tenant: string, nameOrAlias: string, field: string, key?: string): Promise<CollectionDescription> {
    const c = this.use(tenant, nameOrAlias);
    const op = { type: 'deletePayloadIndex' as const, field: payloadFieldArg(field) };
    const sharded = this.shardedOf(c);
    if (sharded) {
      await sharded.everyShard(c.record, op, key);
      return this.describeSharded(c);
    }
    await c.mutate(collectionMutation(op, requestFingerprint(op), key));
    return c.read(async (s) => s.info());
  }

  /** Fails with ERR_ALIAS_EXISTS when the alias exists or a collection has its name; `tenantId` as create's. */
  async createAlias(tenant: string, alias: string, collection: string, tenantId?: TenantId): Promise<AliasInfo> {
    requireName(alias, 'the alias');
    const under = this.host.registry.tenantIdFor(tenant, tenantId);
    this.host.registry.requireOpen(tenant, under);
    if (this.catalog.getAlias(tenant, alias) || this.host.registry.findCollection(tenant, alias) || this.host.registry.isCreatingCollection(tenant, alias)) {
      throw new ServiceError('ERR_ALIAS_EXISTS', `${alias} already exists (as an alias or a collection)`);
    }
    const target = this.collectionNamed(tenant, collection);
    this.catalog.insertAlias({ tenant, alias, collection: target }, under);
    return { alias, collection: target };
  }

  /** Points an existing alias at another collection, in one catalog statement: every call after it resolves to the new one. */
  async switchAlias(tenant: string, alias: string, collection: string): Promise<AliasInfo> {
    this.requireAlias(tenant, alias);
    const target = this.collectionNamed(tenant, collection);
    this.catalog.switchAlias({ tenant, alias, collection: target });
    return { alias, collection: target };
  }

  async deleteAlias(tenant: string, alias: string): Promise<void> {
    this.requireAlias(tenant, alias);
    this.catalog.deleteAlias(tenant, alias);
  }

  async listAliases(tenant: string): Promise<AliasInfo[]> {
    this.host.registry.requireOpen(tenant);
    return this.catalog.listAliases(tenant).map(({ alias, collection }) => ({ alias, collection }));
  }

  /** Every collection of every tenant, without loading any. */
  status(): CollectionStatus[] {
    const aliases = new Map<string, string[]>();
    for (const a of this.catalog.listAliases()) {
      const k = `${a.tenant}\u0000${a.collection}`;
      aliases.set(k, [...(aliases.get(k) ?? []), a.alias]);
    }
    const replicated = this.host.durableOptions().replication !== undefined;
    return this.host.registry.allCollections().map((c) => {
      const { record, summary } = c;
      const state = c.current;
      return {
        tenant: record.tenant,
        name: record.name,
        type: state?.index.typeName ?? summary?.type ?? 'unknown',
        factory: record.spec.factory ?? 'Flat',
        dimension: record.spec.dimension,
        points: state?.count() ?? summary?.ntotal ?? 0,
        bytes: c.loaded ? c.residentBytes : (summary?.bytes ?? 0),
        payloadBytes: state?.payloadBytes ?? summary?.payloadBytes ?? 0,
        loaded: c.loaded,
        logBytes: c.logBytes,
        snapshotAgeSeconds: c.lastSnapshotAt === undefined ? undefined : (Date.now() - c.lastSnapshotAt) / 1000,
        aliases: aliases.get(`${record.tenant}\u0000${record.name}`) ?? [],
        ...(c.storage && { storage: c.storage }),
        ...(replicated && { replicaLag: this.shardedOf(c) ? this.host.sharded!.lagOf(record) : c.lag }),
      };
    });
  }

  /** A cluster's: records of the collections' streams this node follows not applied yet (its heartbeat's lag, with the indexes'). */
  replicaLag(): number {
    return this.status().reduce((s, c) => s + (c.replicaLag ?? 0), 0);
  }

  private durable(record: CollectionRecord): DurableCollection {
    return new DurableCollection(record, { ...this.host.durableOptions(), limits: this.o.limits, rebuildThreshold: this.host.rebuildThreshold });
  }

  /** The collection a name or an alias names now, or ERR_COLLECTION_NOT_FOUND (also while its tenant is being deleted). */
  private resolve(tenant: string, nameOrAlias: string): DurableCollection {
    const direct = this.host.registry.findCollection(tenant, nameOrAlias);
    if (direct) return direct;
    const alias = typeof nameOrAlias === 'string' ? this.catalog.getAlias(tenant, nameOrAlias) : undefined;
    const target = alias && this.host.registry.findCollection(tenant, alias.collection);
    if (!target) throw notFound(nameOrAlias);
    return target;
  }

  /** A collection about to be used (counted as a cache hit or miss). */
  private use(tenant: string, nameOrAlias: string): DurableCollection {
    const c = this.resolve(tenant, nameOrAlias);
    if (!c.record.shards) this.host.residency.noteUse(c); // a sharded collection's shards are used at their owners
    return c;
  }

  /** The sharded collections' operations if `c` is a sharded collection's record (its DurableCollection is never loaded: its shards are). */
  private shardedOf(c: DurableCollection): ShardedCollections | undefined {
    return c.record.shards ? this.sharded : undefined;
  }

  /** What an alias may point at: a collection by its own name (not another alias). */
  private collectionNamed(tenant: string, name: string): string {
    const c = this.host.registry.findCollection(tenant, name);
    if (!c) throw new ServiceError('ERR_COLLECTION_NOT_FOUND', `No collection named ${JSON.stringify(name)} (an alias points at a collection, not at another alias)`);
    return c.record.name;
  }

  private requireAlias(tenant: string, alias: string): void {
    this.host.registry.requireOpen(tenant);
    if (typeof alias !== 'string' || !this.catalog.getAlias(tenant, alias)) throw new ServiceError('ERR_ALIAS_NOT_FOUND', `No alias named ${JSON.stringify(alias)}`);
  }

  private infoOf(c: DurableCollection): CollectionInfo {
    const state = c.current;
    if (state) return state.info();
    const { spec } = c.record;
    const s = c.summary;
    return {
      name: c.record.name,
      dimension: spec.dimension,
      factory: spec.factory ?? 'Flat',
      metric: spec.metric ?? 'l2',
      count: s?.ntotal ?? 0,
      isTrained: s?.isTrained ?? false,
      payloadIndexes: (s?.payloadIndexes ?? spec.payloadIndexes ?? {}) as Record<string, PayloadFieldType>,
    };
  }
}
