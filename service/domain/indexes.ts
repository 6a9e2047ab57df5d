// The indexes of every tenant, as the service offers them: the operations, each
// composed of the domain's capabilities, one module each: the registry (which
// indexes exist), residency (memory budget and LRU), quotas, the durable index
// (log, snapshot, recovery, mutation queue), the id policy (deleted ids,
// renumbering, filtering answers) and the search scheduler. Takes and returns
// plain values (Float32Array, BigInt64Array, objects); knows nothing about HTTP,
// so the CLI and tests use it directly.
import { randomUUID } from 'node:crypto';
import { FaissError, METRIC_L2, deserializeIndex, deserializeIndexBinary, serializeIndex, type BinarySearchResult, type IDSelector, type Index, type SearchParams } from '../../lib';
import { buildIndex, isBinaryFactory, isBinaryIndex, rowLength, type AnyIndex, type AnyRangeSearchResult, type Rows } from '../../lib/any-index';
import type { Catalog, CollectionRecord, IndexRecord, Quotas, TenantId } from '../storage/catalog';
import type { LogStore, SnapshotStore } from '../storage/storage';
import { OutcomeUnknown, ServiceError } from './errors';
import { factoryString, metricName, type CreateIndexSpec } from './index-spec';
import { DurableIndex, type StorageReport } from './durable-index';
import { MIN_SEQUENCE_WAIT_MS, type DurableObject, type DurableOptions, type ReplicatedLog } from './durable';
import type { LogDamage } from '../storage/mutation-log';
import type { Applied } from './mutations';
import { IndexRegistry } from './registry';
import { Residency, type CacheStats } from './residency';
import { NOTHING_HELD, TenantQuotas, usageCountOf, type Admission, type Reservation, type SharedUsage, type UsageCount } from './quotas';
import { SearchScheduler, type SearchAnswer, type SchedulingOptions, type SearchStats } from './search-scheduler';
import { requireName } from './names';
import { CPU, GpuPlacement, gpuNumber, type GpuStatus } from './gpu-placement';
import { ShardedIndexes, type ShardMessage, type ShardNetwork } from './sharded-indexes';
import { MAX_SHARDS, shardStorageId, shardsOf } from './shards';
import { decodeShardArchive, encodeShardArchive, isShardArchive } from './shard-archive';
import { isIdMapped } from '../../lib/id-policy';

export interface IndexInfo {
  name: string;
  /** Float indexes: the vectors' dimension; binary ones: the codes' bits. */
  dimension: number;
  type: string;
  factory: string;
  /** "L2", "IP", "L1", ... (index-spec.ts); Hamming for binary indexes. */
  metric: string;
  ntotal: number;
  isTrained: boolean;
  bytes: number;
  /** Whether the index is in memory now (it is loaded on first use). */
  loaded: boolean;
  /** Changes with every mutation; survives restarts. */
  version: number;
  /** Created with params.mmap, and whether it is memory-mapped right now. */
  mmap: boolean;
  memoryMapped: boolean;
  /** Where it lives when loaded: "cpu" or "gpu:<n>" (created with device; serve --gpu). */
  device: string;
  /** Bytes of its log not yet in a snapshot (what a restart replays). */
  logBytes: number;
  nprobe?: number;
  efSearch?: number;
  efConstruction?: number;
  createdAt: string;
  /** A cluster's sharded index: how many shards, and the node owning each (docs/cluster.md). */
  shards?: number;
  shardOwners?: string[];
}

export interface StorageOptions {
  /** How searches run: batching of concurrent searches (search-scheduler.ts). */
  scheduling: SchedulingOptions;
  snapshotLogBytes: number;
  rebuildThreshold: number;
  /** Bytes of indexes kept in memory before the least recently used are evicted; 0: no limit. */
  maxMemory: number;
  /** A cluster's replicated log (serve --cluster), in place of the local logs. */
  replication?: ReplicatedLog;
  /** A cluster's shard placement and forwarding (cluster/shard-rpc.ts): what sharded indexes need. */
  shards?: ShardNetwork;
  /** A cluster's usage of each tenant, shared by every node (cluster/quota-ledger.ts): quotas exact across nodes. */
  sharedUsage?: SharedUsage;
  /** The GPUs indexes created with a device may live on (serve --gpu); none: every index on the CPU. */
  gpuDevices?: readonly number[];
  /** Bytes of indexes kept on each GPU before its least recently used are evicted (--gpu-memory); 0: no limit. */
  gpuMemory?: number;
}

/** What metrics learn from the domain, without the domain knowing about metrics. */
export interface IndexObserver {
  operation(operation: string, indexType: string, seconds: number): void;
}

/** One index as operators see it (metrics, dashboard). */
export interface IndexStatus {
  tenant: string;
  name: string;
  type: string;
  dimension: number;
  ntotal: number;
  bytes: number;
  loaded: boolean;
  /** "cpu" or "gpu:<n>": where it lives when loaded. */
  device: string;
  logBytes: number;
  /** Seconds since this process last snapshotted it (undefined: not since start). */
  snapshotAgeSeconds: number | undefined;
  /** What its last load found wrong on disk: damage cut off its log, or why it cannot load. */
  storage?: StorageReport;
  /** A cluster's: records of its stream this node has not applied yet (0 when not loaded: it catches up on load); a sharded index's: of the streams of the shards this node holds. */
  replicaLag?: number;
}

/** Damage recovery cut off the end of logs since start (metrics). */
export interface LogDamageTotals {
  repairs: number;
  bytes: number;
  records: number;
}

export type { CacheStats };

/** See IndexService.host(). */
export interface DurableHost {
  registry: IndexRegistry;
  residency: Residency;
  quotas: TenantQuotas;
  durableOptions(): DurableOptions;
  rebuildThreshold: number;
  forget(l: DurableObject): Promise<void>;
  /** A cluster's: frees an object another node deleted and removes this node's files of it (its log is the deleting node's to remove). */
  forgetLocally(l: DurableObject): Promise<void>;
  /** A cluster's shard placement and forwarding, which sharded collections share with sharded indexes; undefined on a single node. */
  sharded: ShardedIndexes | undefined;
  /** A deleted sharded index's or collection's streams, shared snapshots and placement. */
  removeShards(record: { id: string; name: string; shards?: number }): Promise<void>;
}

export class IndexService {
  private readonly registry = new IndexRegistry((tenant) => this.catalog.tenantId(tenant));
  private readonly residency: Residency;
  /** Each GPU's memory budget (--gpu-memory), kept as residency keeps --max-memory. */
  private readonly gpuResidency: Residency[];
  private readonly placement: GpuPlacement;
  private readonly quotas: TenantQuotas;
  private readonly scheduler: SearchScheduler;
  private readonly damage: LogDamageTotals = { repairs: 0, bytes: 0, records: 0 };
  /** A cluster's sharded indexes (serve --cluster); undefined on a single node. */
  private readonly sharded: ShardedIndexes | undefined;

  constructor(
    private readonly catalog: Catalog,
    private readonly snapshots: SnapshotStore,
    private readonly logs: LogStore,
    /** undefined: no such tenant (deleted meanwhile). */
    quotasOf: (tenant: string) => Quotas | undefined,
    private readonly storage: StorageOptions,
    private readonly observer: IndexObserver = { operation: () => undefined },
  ) {
    this.scheduler = new SearchScheduler(storage.scheduling);
    this.placement = new GpuPlacement(storage.gpuDevices ?? [], storage.gpuMemory ?? 0);
    // Host memory's budget counts what is in host memory: not the indexes on a GPU, which have their own.
    this.sharded =
      storage.shards && storage.replication
        ? new ShardedIndexes({
            net: storage.shards,
            make: (record) => this.durableIndex(record),
            search: (l, x, k, params) => this.scheduler.search(l, x, k, params),
            records: () => this.catalog.listIndexes(),
            record: (tenant, name) => this.catalog.getIndex(tenant, name),
            catchUp: async () => await this.catalog.caughtUp?.(),
            forgetLocally: (l) => this.forgetLocally(l),
            onResident: () => this.residency.enforceBudget(),
          })
        : undefined;
    this.residency = new Residency(() => [...this.registry.all(), ...(this.sharded?.all() ?? [])].filter((l) => this.gpuOf(l) === undefined), storage.maxMemory);
    this.gpuResidency = this.placement.devices.map((n) => new Residency(() => [...this.registry.all()].filter((l) => this.gpuOf(l) === n), storage.gpuMemory ?? 0));
    this.quotas = new TenantQuotas(this.registry, quotasOf, storage.sharedUsage && { usage: storage.sharedUsage, count: (l) => this.countAtHead(l) });
  }

  /**
   * Registers every index of the catalog (each loads on first use), after
   * removing the files no index or collection owns (what a crash between the steps of a
   * change left behind: orphans.ts). Only the process that owns the data
   * directory may call this.
   */
  async open(): Promise<void> {
    const records = this.catalog.listIndexes();
    // Collections' files live beside the indexes' (durable-collection.ts): theirs are owned too.
    const collections = this.catalog.listCollections();
    const owners = new Set([...records, ...collections].map((r) => r.id));
    // A cluster's sharded index or collection: its shards' files (this node's snapshots of the shards it held).
    for (const r of [...records, ...collections]) for (let s = 0; s < (r.shards ?? 0); s++) owners.add(shardStorageId(r.id, s));
    const removed = await this.snapshots.removeOrphans(owners);
    if (removed.length > 0) console.error(`faiss-proxy: removed ${removed.length} file(s) no index owns (left by an interrupted change): ${removed.join(', ')}`);
    for (const record of records) this.registry.register(this.durableIndex(record));
  }

  /**
   * A cluster's: the registry follows the catalog's index records that other
   * nodes made or deleted (each made one loads, from its log, on first use).
   */
  async followCatalog(): Promise<void> {
    const records = this.catalog.listIndexes();
    const wanted = new Map(records.map((r) => [`${r.tenant}\u0000${r.name}`, r]));
    for (const l of this.registry.allIndexes()) {
      if (wanted.get(`${l.record.tenant}\u0000${l.record.name}`)?.id !== l.record.id) await this.forgetLocally(l);
    }
    this.registerNew(records);
  }

  /** Registers the index records no index of the registry has yet (each loads on first use). */
  private registerNew(records: IndexRecord[]): void {
    for (const r of records) {
      if (!this.registry.find(r.tenant, r.name) && !this.registry.isCreating(r.tenant, r.name)) this.registry.register(this.durableIndex(r));
    }
  }

  /** Whether this node knows an index of this name (a cluster's may not yet: awaitCatalog). */
  knows(tenant: string, name: string): boolean {
    return this.registry.find(tenant, name) !== undefined;
  }

  /**
   * A cluster's: once this node's catalog holds every change acknowledged before
   * the call, the records it holds are registered (an index another node just
   * made is served here, not 404). A single node: nothing to wait for.
   */
  async awaitCatalog(): Promise<void> {
    if (!this.catalog.caughtUp) return;
    await this.catalog.caughtUp();
    this.registerNew(this.catalog.listIndexes());
  }

  /**
   * Resolves once the index reflects every write up to version `seq` (a write's
   * X-Index-Version, read-your-writes on another node of a cluster), waiting up
   * to MIN_SEQUENCE_WAIT_MS for this node to apply them; else ERR_REPLICA_BEHIND.
   */
  awaitVersion(tenant: string, name: string, seq: number): Promise<void> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) return sharded.awaitVersion(l.record, seq);
    return l.appliedThrough(seq, MIN_SEQUENCE_WAIT_MS);
  }

  /**
   * `tenantId`: the id of the tenant record the caller was let in under (its key's, Principal.tenantId); the
   * index is made only while it is the tenant's. Absent: the tenant as the catalog has it now (the CLI, tests).
   */
  async create(tenant: string, spec: CreateIndexSpec, tenantId?: TenantId): Promise<IndexInfo> {
    requireName(spec.name, 'the index name');
    const under = this.registry.tenantIdFor(tenant, tenantId);
    this.registry.requireOpen(tenant, under);
    if (this.registry.find(tenant, spec.name) || this.registry.isCreating(tenant, spec.name)) {
      throw new ServiceError('ERR_INDEX_EXISTS', `Index ${spec.name} already exists`);
    }
    this.quotas.requireIndexQuota(tenant);
    const { factory, metric } = factoryString(spec);
    const device = this.placement.resolve(spec.device, factory, spec.params?.mmap === true, (n) => this.onGpu(n).bytes);
    const index = buildIndex(spec.dimension, factory, metric);
    try {
      const p = spec.params ?? {};
      if (p.nprobe !== undefined) index.nprobe = p.nprobe;
      if (p.efSearch !== undefined) index.efSearch = p.efSearch;
      if (p.efConstruction !== undefined) index.efConstruction = p.efConstruction;
    } catch (e) {
      index.dispose();
      throw e;
    }
    const shards = this.requireShards(spec, index);
    const { nprobe, efSearch, efConstruction } = spec.params ?? {};
    const tunables = { ...(nprobe !== undefined && { nprobe }), ...(efSearch !== undefined && { efSearch }), ...(efConstruction !== undefined && { efConstruction }) };
    const record: IndexRecord = {
      tenant,
      name: spec.name,
      id: randomUUID(),
      dimension: spec.dimension,
      factory,
      metric,
      createdAt: new Date().toISOString(),
      mmap: spec.params?.mmap === true,
      ...(Object.keys(tunables).length > 0 && { params: tunables }),
      ...(device !== CPU && { device }),
      ...(shards > 1 && { shards }),
    };
    if (shards > 1) {
      index.dispose(); // each shard's replica builds its own from the record
      return this.installSharded(record, under);
    }
    return this.installNew(record, under, index, { indexes: 1, vectors: 0, bytes: 0 });
  }

  /**
   * A create's shards (1: whole), checked: an integer 1..MAX_SHARDS, only in a
   * cluster, and only for an index that takes the caller's ids (a vector's shard
   * is its id's: a sharded index cannot number vectors as FAISS does, which
   * would take one counter every write of every shard waits on). Disposes
   * `index` when it refuses.
   */
  private requireShards(spec: CreateIndexSpec, index: AnyIndex): number {
    const shards = spec.shards ?? 1;
    let why: ServiceError | undefined;
    if (!Number.isInteger(shards) || shards < 1 || shards > MAX_SHARDS) {
      why = new ServiceError('ERR_INVALID_ARGUMENT', `shards must be an integer from 1 to ${MAX_SHARDS}, not ${JSON.stringify(spec.shards)}`);
    } else if (shards > 1 && !this.sharded) {
      why = new ServiceError('ERR_UNSUPPORTED', 'shards partition an index over the nodes of a cluster: start the server with --cluster (docs/cluster.md)');
    } else if (shards > 1 && !isIdMapped(index) && index.nprobe === undefined) {
      why = new ServiceError(
        'ERR_UNSUPPORTED',
        `A sharded index places each vector by its id, so it takes ids the caller gives (add with ids): ${index.typeName} cannot; create it with params.idMap, or an IDMap or IVF factory`,
      );
    }
    if (why) {
      index.dispose();
      throw why;
    }
    return shards;
  }

  list(tenant: string): IndexInfo[] {
    return [...this.registry.indexesOf(tenant)]
      .sort((a, b) => a.record.name.localeCompare(b.record.name))
      .map((l) => this.info(l, l.current));
  }

  async describe(tenant: string, name: string): Promise<IndexInfo> {
    const l = this.registry.get(tenant, name);
    if (this.shardedOf(l)) return this.describeSharded(l);
    return l.read(async (index) => this.info(l, index));
  }

  /** Changes with every mutation of the index; survives restarts. A sharded index's: its shards' versions summed, as last seen here. */
  version(tenant: string, name: string): number {
    const l = this.registry.get(tenant, name);
    return this.shardedOf(l)?.version(l.record) ?? l.version;
  }

  dimension(tenant: string, name: string): number {
    return this.registry.get(tenant, name).record.dimension;
  }

  /** Whether the index holds binary codes (rows of dimension / 8 bytes) rather than float vectors. */
  isBinary(tenant: string, name: string): boolean {
    return isBinaryFactory(this.registry.get(tenant, name).record.factory);
  }

  /** The catalog row goes first (the deletion is durable then), the files after (orphans.ts if a crash comes between). */
  async delete(tenant: string, name: string): Promise<void> {
    const l = this.registry.get(tenant, name);
    this.catalog.deleteIndex(tenant, name, l.record.id);
    await this.quotas.forget(tenant, l.record.id);
    await this.forget(l);
    if (this.shardedOf(l)) await this.removeShards(l.record);
  }

  /** A deleted sharded index's streams, shared snapshots and placement (each node forgets its own replicas: ShardedIndexes.balance). */
  private async removeShards(record: { id: string; name: string; shards?: number }): Promise<void> {
    try {
      for (let s = 0; s < record.shards!; s++) await this.storage.replication!.remove(shardStorageId(record.id, s));
      this.storage.shards!.deletePlacement(record.id);
    } catch (e) {
      console.error(`faiss-proxy: removing the shards of deleted index ${record.name} failed:`, e);
    }
  }

  /**
   * Deletes every index of the tenant atomically against the tenant's other
   * requests: from the first moment none of its indexes can be used or made
   * (ERR_TENANT_NOT_FOUND / ERR_INDEX_NOT_FOUND); creates and imports in flight
   * are waited for, and fail rather than finish. Then `deleteRows` removes the
   * tenant's catalog rows in one transaction (the deletion is durable then), and
   * the files go after (orphans.ts if a crash comes between).
   */
  async dropTenant(tenant: string, deleteRows: () => void): Promise<void> {
    await this.registry.closingTenant(tenant, async () => {
      deleteRows();
      this.quotas.dropTenant(tenant);
      for (const l of [...this.registry.ofTenant(tenant)]) {
        await this.forget(l);
        const record = l.record as { id: string; name: string; shards?: number }; // a sharded index's or collection's
        if (record.shards) await this.removeShards(record);
      }
    });
  }

  /** A cluster's: another node deleted `l`; only this node's files of it go here. */
  async forgetLocally(l: DurableObject): Promise<void> {
    this.registry.unregister(l);
    l.drop();
    await l
      .exclusive(() => this.snapshots.remove(l.record.id))
      .catch((e) => console.error(`faiss-proxy: removing the files of deleted ${l.what} ${l.record.name} failed (removed at next start):`, e));
  }

  /** Unregisters a deleted index or collection; its files go after (orphans.ts if a crash comes between). */
  async forget(l: DurableObject): Promise<void> {
    this.registry.unregister(l);
    l.drop(); // operations in flight finish; later ones see "not found"
    await l
      .exclusive(() => l.removeFiles(l.record.id))
      .catch((e) => console.error(`faiss-proxy: removing the files of deleted index ${l.record.name} failed (removed at next start):`, e));
  }

  /** kmeansSeed: the seed of an IVF index's k-means (absent: FAISS's default, 1234); logged with the train. */
  async train(tenant: string, name: string, x: Rows, key?: string, kmeansSeed?: number): Promise<IndexInfo> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    const seed = kmeansSeed !== undefined ? { kmeansSeed } : {};
    if (sharded) {
      // Every shard trains on the same vectors with the same seed (FAISS's training is deterministic): one quantizer, as one index would have.
      await sharded.everyShard(l.record, { type: 'train', x, d: l.record.dimension, ...seed }, key);
      return this.describeSharded(l);
    }
    await l.mutate({ type: 'train', x, d: l.record.dimension, ...seed, key });
    return l.read(async (index) => this.info(l, index));
  }

  /** firstId: the id of the first vector when the service numbered them (consecutive ids), else null. */
  async add(
    tenant: string,
    name: string,
    x: Rows,
    ids?: BigInt64Array,
    key?: string,
  ): Promise<{ added: number; ntotal: number; firstId: number | null }> {
    const l = this.use(tenant, name);
    const d = l.record.dimension;
    const row = rowLength(d, isBinaryFactory(l.record.factory));
    if (x.length === 0 || x.length % row !== 0) throw new ServiceError('ERR_INVALID_ARGUMENT', `Expected rows of dimension ${d}`);
    const n = x.length / row;
    const sharded = this.shardedOf(l);
    if (sharded) {
      if (!ids) {
        throw new ServiceError('ERR_UNSUPPORTED', `Index ${name} is sharded: each vector goes to the shard its id hashes to, so add the vectors with ids (docs/cluster.md)`);
      }
      const admission = await this.quotas.admit(tenant, { indexes: 0, vectors: n, bytes: x.byteLength }, { object: l.record.id });
      try {
        const { added } = await sharded.add(l.record, x, ids, key);
        const counts = await this.countSharded(l);
        admission.end({ final: true, count: { vectors: counts.ntotal, bytes: counts.bytes, seq: counts.version } });
        return { added, ntotal: counts.ntotal, firstId: null };
      } catch (e) {
        // Some shards may have applied their part: the hold stays until it expires and the shards are counted (docs/cluster.md).
        admission.end({ final: false });
        throw e;
      }
    }
    // Loads the index: whether this is a retry (hasApplied) is known only then, and
    // the quota check needs its size. A retry of an add already applied is answered
    // from memory, quota or not. No await between the check and the reservation.
    const ntotal = await l.ntotal();
    const appendId = this.storage.replication ? l.appendIdFor(key) : undefined;
    const admission = key !== undefined && l.hasApplied(key) ? NOTHING_HELD : await this.quotas.admitVectors(tenant, l, ntotal, n, appendId);
    let result: Applied;
    try {
      // A retry is answered with the first request's result (idempotency.ts).
      result = await l.mutate(ids ? { type: 'add', x, d, ids, key } : { type: 'add', x, d, key }, appendId);
    } catch (e) {
      admission.end({ final: false, count: usageCountOf(l), applied: (id) => l.appliedAt(id) });
      throw e;
    }
    admission.end({ final: true, count: usageCountOf(l), applied: (id) => l.appliedAt(id) });
    return { added: result.added, ntotal: await l.ntotal(), firstId: result.firstId };
  }

  /** `version`: the index version the answer reflects (at least). */
  search(tenant: string, name: string, x: Float32Array, k: number, params?: SearchParams): Promise<SearchAnswer> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) return sharded.search(l.record, x, k, params) as Promise<SearchAnswer>;
    if (l.placedOn !== undefined) this.placement.noteSearch(l.device, x.length / l.d);
    return this.scheduler.search(l, x, k, params);
  }

  /** Searches answered and FAISS calls made for them: batching saves the difference. */
  searchStats(): SearchStats {
    return this.scheduler.stats();
  }

  /** A binary index's search (not batched: binary indexes gain nothing from it). */
  searchCodes(tenant: string, name: string, x: Uint8Array, k: number, params?: SearchParams): Promise<BinarySearchResult & { version: number }> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) return sharded.search(l.record, x, k, params) as Promise<BinarySearchResult & { version: number }>;
    return l.searchCodes(x, k, params);
  }

  rangeSearch(tenant: string, name: string, x: Rows, radius: number, params?: SearchParams): Promise<AnyRangeSearchResult> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) return sharded.rangeSearch(l.record, x, radius, params);
    return l.rangeSearch(x, radius, params);
  }

  /** Removes `ids`, or the ids present that a selector selects (resolved in the mutation's turn: selected-ids.ts). */
  async remove(tenant: string, name: string, ids: BigInt64Array | IDSelector, key?: string): Promise<{ removed: number; ntotal: number }> {
    const l = this.use(tenant, name);
    // FAISS 1.7.3's GPU indexes remove nothing, and cannot filter removed ids out of a search (this service's way for a flat index).
    if (this.placement.devices.includes(gpuNumber(l.device) ?? -1)) {
      throw new ServiceError('ERR_UNSUPPORTED', `Index ${name} lives on ${l.device}, and FAISS 1.7.3's GPU indexes cannot remove vectors; export it, and import it into a CPU index to remove`);
    }
    const sharded = this.shardedOf(l);
    if (sharded) {
      const { removed } = await (ids instanceof BigInt64Array ? sharded.remove(l.record, ids, key) : sharded.removeSelected(l.record, ids, key));
      const counts = await this.countSharded(l);
      await this.quotas.counted(tenant, l, { vectors: counts.ntotal, bytes: counts.bytes, seq: counts.version });
      return { removed, ntotal: counts.ntotal };
    }
    const { removed } = await (ids instanceof BigInt64Array ? l.mutate({ type: 'remove', ids, key }) : l.removeSelected({ type: 'remove-selected', sel: ids, key }));
    await this.quotas.counted(tenant, l);
    return { removed, ntotal: await l.ntotal() };
  }

  /** The stored vectors (binary indexes: codes) of `ids`, row after row. */
  async reconstruct(tenant: string, name: string, ids: readonly bigint[]): Promise<Rows> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) return sharded.reconstruct(l.record, ids);
    const binary = isBinaryFactory(l.record.factory);
    const row = rowLength(l.record.dimension, binary);
    const rows = await Promise.all(ids.map((id) => l.reconstruct(id)));
    const out = binary ? new Uint8Array(ids.length * row) : new Float32Array(ids.length * row);
    rows.forEach((r, i) => out.set(r, i * row));
    return out;
  }

  async reset(tenant: string, name: string, key?: string): Promise<IndexInfo> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) {
      await sharded.everyShard(l.record, { type: 'reset' }, key);
      const info = await this.describeSharded(l);
      await this.quotas.counted(tenant, l, { vectors: info.ntotal, bytes: info.bytes, seq: info.version });
      return info;
    }
    await l.mutate({ type: 'reset', key });
    await this.quotas.counted(tenant, l);
    return l.read(async (index) => this.info(l, index));
  }

  /**
   * FAISS's serialized bytes, consistent with every write acknowledged before the
   * call. A sharded index's: its shards' vectors gathered into one index of its
   * factory, added in id order (exportSharded).
   */
  exportIndex(tenant: string, name: string): Promise<Buffer> {
    const l = this.use(tenant, name);
    const sharded = this.shardedOf(l);
    if (sharded) return this.exportSharded(l, sharded);
    return l.export();
  }

  /**
   * A sharded index's export. A flat one's (IDMap or IDMap2 over Flat): one
   * index of its factory holding every shard's vectors under their ids, added in
   * id order, the file one index holding the same vectors exports (gathered).
   * Any other: each shard's own file (shardFiles), merged into one index by
   * FAISS's merge_from where it can (IVF whose shards hold the same coarse
   * quantizer, as every shard trains on the same vectors: their inverted lists
   * joined; PQ or SQ codes under an IDMap: concatenated), which answers a search
   * as the shards together do; where it cannot (an HNSW graph, fast-scan codes,
   * shards trained apart), the archive of the shards' files (shard-archive.ts),
   * which an import restores shard for shard (docs/cluster.md).
   */
  private async exportSharded(l: DurableIndex, sharded: ShardedIndexes): Promise<Buffer> {
    if (!isFlatShards(l.record)) {
      this.requireFloatShards(l, 'an export');
      const files = await sharded.shardFiles(l.record);
      return (await mergedShards(files)) ?? encodeShardArchive({ factory: l.record.factory, dimension: l.record.dimension, metric: metricName(l.record.metric) }, files);
    }
    const { ids, vectors } = await sharded.gather(l.record);
    const index = buildIndex(l.record.dimension, l.record.factory, l.record.metric) as Index;
    try {
      if (ids.length > 0) await index.addWithIds(vectors, ids);
      return Buffer.from(await serializeIndex(index));
    } finally {
      index.dispose();
    }
  }

  /**
   * A binary sharded index is neither exported nor imported: this binding
   * neither merges binary indexes nor lists their ids, which an import checks
   * against each shard (docs/cluster.md).
   */
  private requireFloatShards(l: DurableIndex, what: string): void {
    if (!isBinaryFactory(l.record.factory)) return;
    throw new ServiceError(
      'ERR_UNSUPPORTED',
      `Index ${l.record.name} is sharded over ${l.record.shards} shards of binary ${l.record.factory}: ${what} of a sharded binary index is not offered (its shards can be neither merged nor checked id by id; docs/cluster.md)`,
    );
  }

  /**
   * An index file into a sharded index: every shard replaced by its part of the
   * file at once (replaceShards). Flat shards take the file's vectors whatever
   * its type (flatShardFiles); other shards, a file of their own type cut per
   * shard (splitFile).
   */
  private async importSharded(tenant: string, tenantId: TenantId, l: DurableIndex, index: AnyIndex, growth: Reservation): Promise<{ created: boolean; info: IndexInfo }> {
    const files = isFlatShards(l.record) ? await this.flatShardFiles(l, index) : await this.splitFile(l, index);
    return this.replaceShards(tenant, tenantId, l, files, growth);
  }

  /**
   * A file of one index into a sharded flat index: its vectors, as its index
   * reconstructs them, under its ids (for a file without an IDMap: its
   * positions), each in a new index of the shards' factory for the shard its
   * id hashes to, in the file's order; one file per shard (the shards' indexes
   * are made one at a time).
   */
  private async flatShardFiles(l: DurableIndex, index: AnyIndex): Promise<Uint8Array[]> {
    const { record } = l;
    let rows: { ids: BigInt64Array; vectors: Float32Array };
    try {
      if (isBinaryIndex(index) || index.d !== record.dimension || index.metricType !== record.metric) {
        throw new ServiceError(
          'ERR_UNSUPPORTED',
          `Index ${record.name} is sharded: an import puts the file's vectors in its shards, which hold vectors of dimension ${record.dimension} (metric ${metricName(record.metric)}); the file holds ${index.typeName} of dimension ${index.d}`,
        );
      }
      try {
        rows = await index.extractAll();
      } catch (e) {
        throw new ServiceError('ERR_UNSUPPORTED', `Index ${record.name} is sharded: an import splits the file's vectors by id over its shards, and ${index.typeName} cannot reconstruct them (${(e as Error).message})`);
      }
    } finally {
      index.dispose();
    }
    const d = record.dimension;
    const of = shardsOf(rows.ids, record.shards!);
    const files: Uint8Array[] = [];
    for (let s = 0; s < record.shards!; s++) {
      const picked: number[] = [];
      of.forEach((shard, i) => shard === s && picked.push(i));
      const ids = BigInt64Array.from(picked, (i) => rows.ids[i]);
      const x = new Float32Array(picked.length * d);
      picked.forEach((i, j) => x.set(rows.vectors.subarray(i * d, (i + 1) * d), j * d));
      const shard = buildIndex(d, record.factory, record.metric) as Index;
      try {
        if (picked.length > 0) await shard.addWithIds(x, ids);
        files.push(await serializeIndex(shard));
      } finally {
        shard.dispose();
      }
    }
    return files;
  }

  /**
   * A file of one index into a sharded index that is not flat: the file's index
   * (of the shards' factory's type, checked: checkShardIndex) cut into one file
   * per shard, each holding the vectors whose ids hash to it (the others
   * removed) and the whole file's training: IVF lists, PQ or SQ codes. An HNSW
   * graph cannot lose vectors (FAISS 1.7.3): its import is the archive.
   */
  private async splitFile(l: DurableIndex, index: AnyIndex): Promise<Uint8Array[]> {
    const { record } = l;
    try {
      this.requireFloatShards(l, 'an import');
      const { ids } = await checkShardIndex(record, index, undefined);
      const whole = await serializeIndex(index as Index);
      const of = shardsOf(ids, record.shards!);
      const files: Uint8Array[] = [];
      for (let s = 0; s < record.shards!; s++) {
        const part = await deserializeIndex(whole, { trusted: true }); // the service's own serialization of a checked file
        try {
          const others = ids.filter((_, i) => of[i] !== s);
          if (others.length > 0) await part.removeIds(others);
          files.push(await serializeIndex(part));
        } catch (e) {
          if (!(e instanceof FaissError)) throw e;
          throw new ServiceError(
            'ERR_UNSUPPORTED',
            `Index ${record.name} is sharded: an import of one ${index.typeName} file puts each shard's vectors in its own copy of the file, and ${part.typeName} cannot remove the others (${e.message}); import the archive its export gives instead (docs/cluster.md)`,
          );
        } finally {
          part.dispose();
        }
      }
      return files;
    } finally {
      index.dispose();
    }
  }

  /**
   * An archive of shards (shard-archive.ts) into the sharded index `name` of as
   * many shards, of the same factory, dimension and metric: each file checked
   * in the sandbox and against its shard (checkShardIndex), then every shard
   * replaced by its file at once (replaceShards).
   */
  private async importArchive(tenant: string, tenantId: TenantId, name: string, bytes: Uint8Array): Promise<{ created: boolean; info: IndexInfo }> {
    const archive = decodeShardArchive(bytes);
    const l = this.registry.find(tenant, name);
    if (!l || !this.shardedOf(l)) {
      throw new ServiceError(
        'ERR_UNSUPPORTED',
        `This is an archive of ${archive.files.length} shards: it imports into a sharded index of ${archive.files.length} shards of ${archive.factory} (create ${name} with shards: ${archive.files.length} first; docs/cluster.md)`,
      );
    }
    const { record } = l;
    const metric = metricName(record.metric);
    if (archive.files.length !== record.shards || archive.factory !== record.factory || archive.dimension !== record.dimension || archive.metric !== metric) {
      throw new ServiceError(
        'ERR_UNSUPPORTED',
        `Index ${name} is ${record.shards} shards of ${record.factory} (dimension ${record.dimension}, ${metric}); the archive holds ${archive.files.length} shards of ${archive.factory} (dimension ${archive.dimension}, ${archive.metric}): an archive restores the index it came from, shard for shard`,
      );
    }
    this.requireFloatShards(l, 'an import');
    const files: Uint8Array[] = [];
    let vectors = 0;
    let size = 0;
    for (const [s, file] of archive.files.entries()) {
      // Untrusted: each file read, checked and tried in the sandbox first, as any import.
      const index = await deserializeIndex(file);
      try {
        await checkShardIndex(record, index, s);
        vectors += index.ntotal;
        size += index.bytes;
        files.push(await serializeIndex(index));
      } finally {
        index.dispose();
      }
    }
    const growth: Reservation = { indexes: 0, ...this.quotas.requireRoom(tenant, vectors, size, l) };
    return this.replaceShards(tenant, tenantId, l, files, growth);
  }

  /**
   * Replaces every shard of a sharded index by its file (`files[s]`: the
   * service's own serialization of a checked index), as one switch: under a new
   * storage id, each shard gets a new stream numbered on from its old one's last
   * record (versions never go back), whose first record is the import of its
   * file (put in the object store first, as durable.ts importReplicated does);
   * the new shards are placed, then the catalog switches to the new record (a
   * failure before leaves the index as it was and removes the new streams). The
   * old shards' streams and placement go after. Writes acknowledged before the
   * switch are replaced by the import.
   */
  private async replaceShards(tenant: string, tenantId: TenantId, l: DurableIndex, files: Uint8Array[], growth: Reservation): Promise<{ created: boolean; info: IndexInfo }> {
    const replication = this.storage.replication!;
    const previous = l.record;
    const next: IndexRecord = { ...previous, id: randomUUID() };
    const release = this.quotas.reserve(tenant, growth);
    const replaced = (async () => {
      const made: string[] = [];
      try {
        // Every shard's at once (each a stream, an object and a record to make), all settled before any is removed.
        const settled = await Promise.allSettled(
          files.map(async (file, s) => {
            const id = shardStorageId(next.id, s);
            await replication.create(id, await replication.lastSeq(shardStorageId(previous.id, s)));
            made.push(id);
            await replication.append(id, { type: 'import', ...(await replication.putImport(id, file)) }, `${id}:import`);
          }),
        );
        const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
        this.sharded!.place(next);
        this.registry.requireOpen(tenant, tenantId);
        if (this.registry.find(tenant, previous.name) !== l || l.dropped) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(previous.name)}`);
        // Named within half the collector's grace period, or not at all (a sharded create's rule): older, the collector may have taken them.
        replication.beforeCommit(...made);
        this.catalog.replaceIndex(next, previous.id);
      } catch (e) {
        // A switch whose outcome is unknown may have named them: kept (the leak collector deletes them and the placement if no record names them).
        if (e instanceof OutcomeUnknown) throw e;
        for (const id of made) await replication.remove(id).catch(() => undefined);
        try {
          this.storage.shards!.deletePlacement(next.id);
        } catch {
          // Never placed, or the catalog unreachable: a placement no record names is never read.
        }
        throw e;
      }
      // In the same turn as the catalog's switch: requests from now on go to the new shards.
      const current = this.durableIndex(next);
      this.registry.register(current);
      l.drop();
      await this.removeShards(previous);
      const info = await this.describeSharded(current);
      // The tenant's shared usage counts the new shards in place of the old ones, at once (not at its next write's recount).
      await this.quotas.forget(tenant, previous.id);
      await this.quotas.counted(tenant, current, { vectors: info.ntotal, bytes: info.bytes, seq: info.version });
      return { created: false, info };
    })();
    try {
      return await this.registry.tracked(tenant, replaced);
    } finally {
      release();
    }
  }

  /**
   * Creates the index from FAISS's serialized bytes, or replaces an existing one; `tenantId` as create's: the
   * index it replaces is the one of that name under that tenant record, and one it makes lands only under it.
   */
  async importIndex(tenant: string, name: string, bytes: Uint8Array, tenantId?: TenantId): Promise<{ created: boolean; info: IndexInfo }> {
    requireName(name, 'the index name');
    const under = this.registry.tenantIdFor(tenant, tenantId);
    this.registry.requireOpen(tenant, under);
    if (isShardArchive(bytes)) return this.importArchive(tenant, under, name, bytes);
    // Untrusted, so read, checked and tried in the sandbox process first: a crafted
    // file that would crash FAISS is an ERR_CORRUPT_INDEX here, not a dead server.
    // A binary index's file starts with a type tag "IB..." (no float index's does).
    const binary = bytes.length >= 2 && bytes[0] === 0x49 && bytes[1] === 0x42;
    const index: AnyIndex = binary ? await deserializeIndexBinary(bytes) : await deserializeIndex(bytes);
    let existing: DurableIndex | undefined;
    let growth: Reservation;
    try {
      // Checked and reserved in one turn, after the last await: what the quota sees is current, and the index of this
      // name is the tenant's the request was let in under, not one of a tenant made again under the name meanwhile.
      this.registry.requireOpen(tenant, under);
      existing = this.registry.find(tenant, name);
      if (!existing && this.registry.isCreating(tenant, name)) throw new ServiceError('ERR_INDEX_EXISTS', `Index ${name} is being created`);
      if (!existing) this.quotas.requireIndexQuota(tenant);
      growth = { indexes: existing ? 0 : 1, ...this.quotas.requireRoom(tenant, index.ntotal, index.bytes, existing) };
    } catch (e) {
      index.dispose();
      throw e;
    }
    const sharded = existing && this.shardedOf(existing);
    if (existing && sharded) return this.importSharded(tenant, under, existing, index, growth);
    if (!existing) {
      const record: IndexRecord = {
        tenant,
        name,
        id: randomUUID(),
        dimension: index.d,
        factory: `imported ${index.typeName}`,
        metric: isBinaryIndex(index) ? METRIC_L2 : index.metricType,
        createdAt: new Date().toISOString(),
        mmap: false,
      };
      return { created: true, info: await this.installNew(record, under, index, growth, true) };
    }
    const replacing = existing;
    const release = this.quotas.reserve(tenant, growth);
    const replaced = (async () => {
      // New files under a new storage id; the catalog switches to them only once they are durable.
      const record: IndexRecord = {
        ...replacing.record,
        id: randomUUID(),
        dimension: index.d,
        metric: isBinaryIndex(index) ? METRIC_L2 : index.metricType,
        factory: `imported ${index.typeName}`,
      };
      try {
        await replacing.replace(
          index,
          record,
          () => {
            this.registry.requireOpen(tenant, under);
            this.catalog.replaceIndex(record, replacing.record.id);
          },
          true,
        );
      } catch (e) {
        index.dispose();
        throw e;
      }
      return { created: false, info: await replacing.read(async (ix) => this.info(replacing, ix)) };
    })();
    try {
      return await this.registry.tracked(tenant, replaced);
    } finally {
      release();
    }
  }

  /** Snapshots every index whose log is not empty (shutdown, tests). */
  async snapshotAll(): Promise<void> {
    for (const l of [...this.registry.all(), ...(this.sharded?.all() ?? [])]) if (l.loaded) await l.snapshot();
  }

  /**
   * Saves what changed and frees every index. A snapshot that fails is reported
   * and the others still happen (the log still holds that index's writes); then
   * close rejects, so the exit status tells.
   */
  async close(): Promise<void> {
    const failed: string[] = [];
    for (const l of [...this.registry.all(), ...(this.sharded?.all() ?? [])]) {
      await l.close().catch((e) => {
        failed.push(`${l.record.tenant}/${l.record.name}`);
        console.error(`faiss-proxy: saving ${l.record.name} at shutdown failed (its log keeps its writes):`, e);
      });
    }
    this.registry.clear();
    if (failed.length > 0) throw new ServiceError('ERR_STORAGE_FAILED', `Saving ${failed.length} index(es) at shutdown failed: ${failed.join(', ')}`);
  }

  /** Damage cut off the end of logs since start. */
  logDamage(): LogDamageTotals {
    return { ...this.damage };
  }

  /**
   * Per-tenant usage as quotas see it, for operators: a cluster's shared usage
   * (every node's objects and the holds of writes in flight); a single node's
   * own (not-loaded indexes: as of their last snapshot).
   */
  usage(tenant: string): Promise<{ indexes: number; vectors: number; bytes: number }> {
    return this.quotas.checkedUsage(tenant);
  }

  /** Every index of every tenant, without loading any. */
  status(): IndexStatus[] {
    return this.registry.allIndexes().map((l) => {
      const info = this.info(l, l.current);
      return {
        tenant: l.record.tenant,
        name: l.record.name,
        type: info.type,
        dimension: info.dimension,
        ntotal: info.ntotal,
        bytes: info.bytes,
        loaded: info.loaded,
        device: info.device,
        logBytes: l.logBytes,
        snapshotAgeSeconds: l.lastSnapshotAt === undefined ? undefined : (Date.now() - l.lastSnapshotAt) / 1000,
        ...(l.storage && { storage: l.storage }),
        // A sharded index's: the shards this node holds.
        ...(this.storage.replication && { replicaLag: this.shardedOf(l)?.lagOf(l.record) ?? l.lag }),
      };
    });
  }

  /** A cluster's: records of the streams this node follows (its indexes' and the shards it holds) not applied yet: its heartbeat's lag. */
  replicaLag(): number {
    return this.status().reduce((s, i) => s + (i.replicaLag ?? 0), 0);
  }

  cacheStats(): CacheStats {
    return this.residency.stats();
  }

  /** Each GPU of serve --gpu: its indexes' bytes, budget, memory and searches (metrics, dashboard). */
  gpuStatus(): GpuStatus[] {
    return this.placement.status((n) => this.onGpu(n));
  }

  /** The bytes and count of the loaded indexes on GPU `n`. */
  private onGpu(n: number): { bytes: number; indexes: number } {
    const on = [...this.registry.all()].filter((l) => this.gpuOf(l) === n);
    return { bytes: on.reduce((s, l) => s + l.residentBytes, 0), indexes: on.length };
  }

  /** The GPU a loaded index is on; undefined for the CPU's (and collections, always there). */
  private gpuOf(l: DurableObject): number | undefined {
    return l instanceof DurableIndex ? l.placedOn : undefined;
  }

  private durableIndex(record: IndexRecord): DurableIndex {
    return new DurableIndex(record, { ...this.durableOptions(), rebuildThreshold: this.storage.rebuildThreshold, placement: this.placement });
  }

  /** What every durable object of this service is made with: the same files, memory budget, metrics and damage reports. */
  private durableOptions(): DurableOptions {
    return {
      snapshots: this.snapshots,
      logs: this.logs,
      snapshotLogBytes: this.storage.snapshotLogBytes,
      onLoad: () => this.residency.noteLoad(),
      onResident: () => {
        this.residency.enforceBudget();
        for (const r of this.gpuResidency) r.enforceBudget();
      },
      onOperation: (op, type, seconds) => this.observer.operation(op, type, seconds),
      onLogDamage: (l, damage) => this.logDamaged(l, damage),
      ...(this.storage.replication && { replication: this.storage.replication }),
    };
  }

  /**
   * What the collections (collections.ts) share with the indexes: one registry
   * (names, tenants' lifecycles: deleting a tenant deletes its collections too),
   * one memory budget (--max-memory), one set of quotas, the same files, log
   * settings and metrics.
   */
  host(): DurableHost {
    return {
      registry: this.registry,
      residency: this.residency,
      quotas: this.quotas,
      durableOptions: () => this.durableOptions(),
      rebuildThreshold: this.storage.rebuildThreshold,
      forget: (l) => this.forget(l),
      forgetLocally: (l) => this.forgetLocally(l),
      sharded: this.sharded,
      removeShards: (record) => this.removeShards(record),
    };
  }

  /** Loud: a log line, the metrics (logDamage()), and the index's status (dashboard). */
  private logDamaged(l: DurableObject, damage: LogDamage): void {
    this.damage.repairs++;
    this.damage.bytes += damage.bytes;
    this.damage.records += damage.recordsAfter;
    console.error(
      `faiss-proxy: ${l.what} ${l.record.tenant}/${l.record.name}: recovery cut ${damage.bytes} byte(s) off the end of its log at byte ${damage.offset} ` +
        `(${damage.why}); every record before it is kept` +
        (damage.recordsAfter > 0 ? `; ${damage.recordsAfter} valid record(s) after the damage were DROPPED` : '; no valid record was after it'),
    );
  }

  /**
   * Installs a new index under its name, holding its quota (`growth`) and its
   * name until it is in the catalog: its first snapshot and empty log are
   * durable before its catalog row is written, under the tenant record of id
   * `tenantId`. A tenant deleted meanwhile (and perhaps made again) wins: the
   * index and its files go, and the caller gets ERR_TENANT_NOT_FOUND.
   * `imported`: `index` came from a FAISS file (a cluster sends it to the other
   * replicas as such).
   */
  private async installNew(record: IndexRecord, tenantId: TenantId, index: AnyIndex, growth: Reservation, imported = false): Promise<IndexInfo> {
    const { tenant, name } = record;
    const releaseName = this.registry.claimName(tenant, name);
    let admission: Admission;
    try {
      admission = await this.quotas.admit(tenant, growth, { object: record.id });
    } catch (e) {
      releaseName();
      index.dispose();
      throw e;
    }
    let l: DurableIndex | undefined;
    const installed = (async () => {
      l = this.durableIndex(record);
      try {
        await l.replace(
          index,
          record,
          () => {
            this.registry.requireOpen(tenant, tenantId);
            this.catalog.insertIndex(record, tenantId);
          },
          imported,
        );
      } catch (e) {
        l.drop();
        index.dispose();
        // A commit whose outcome is unknown may have named its stream: kept, and followed as another node's record if it landed.
        if (!(e instanceof OutcomeUnknown)) await l.removeFiles(record.id).catch(() => undefined);
        throw e;
      }
      this.registry.register(l);
      return l.read(async (ix) => this.info(l!, ix));
    })();
    try {
      const info = await this.registry.tracked(tenant, installed);
      admission.end({ final: true, count: usageCountOf(l!) });
      return info;
    } catch (e) {
      admission.end({ final: !(e instanceof ServiceError && e.code === 'ERR_STORAGE_FAILED') });
      throw e;
    } finally {
      releaseName();
      this.adoptRecord(tenant, name);
    }
  }

  /**
   * After a create of `name` here ended: in a cluster, another node's record of
   * it that arrived while this node held the name (followCatalog skips a name
   * being created), as when this create lost the race to it (409), is registered
   * now. A no-op when this create made it, or no record has the name.
   */
  private adoptRecord(tenant: string, name: string): void {
    if (this.registry.find(tenant, name) || this.registry.isCreating(tenant, name)) return;
    const r = this.catalog.getIndex(tenant, name);
    if (r) this.registry.register(this.durableIndex(r));
  }

  /** The sharded indexes' operations if `l` is a sharded index's record (its DurableIndex is never loaded: its shards are). */
  private shardedOf(l: DurableIndex): ShardedIndexes | undefined {
    return l.record.shards ? this.sharded : undefined;
  }

  /** A sharded index refuses what it does not offer yet (docs/cluster.md), with a 422. */
  private notSharded(l: DurableIndex, what: string): ServiceError {
    return new ServiceError('ERR_UNSUPPORTED', `Index ${l.record.name} is sharded over ${l.record.shards} shards: ${what} is not offered for a sharded index (docs/cluster.md)`);
  }

  /**
   * An object's usage at the head of its log (what the shared usage settles a
   * dead node's hold with): a whole one caught up with its stream, a sharded
   * one's shards gathered. undefined: deleted.
   */
  private async countAtHead(l: DurableObject): Promise<UsageCount | undefined> {
    if (l.dropped) return undefined;
    if (l instanceof DurableIndex && this.shardedOf(l)) {
      const counts = await this.countSharded(l);
      return { vectors: counts.ntotal, bytes: counts.bytes, seq: counts.version };
    }
    // A sharded collection (collections.ts): its shards gathered; it has no stream of its own to catch up with.
    if (!(l instanceof DurableIndex) && (l.record as CollectionRecord).shards) return this.sharded!.countCollection(l.record as CollectionRecord);
    await l.catchUp();
    return usageCountOf(l);
  }

  /** Every shard's counts, gathered; kept as the index's summary (listing and quotas without asking the shards again). */
  private async countSharded(l: DurableIndex) {
    const counts = await this.sharded!.counts(l.record);
    l.summary = { type: counts.type, ntotal: counts.ntotal, bytes: counts.bytes, isTrained: counts.isTrained };
    return counts;
  }

  private async describeSharded(l: DurableIndex): Promise<IndexInfo> {
    const counts = await this.countSharded(l);
    return { ...this.info(l, undefined), type: counts.type, ntotal: counts.ntotal, bytes: counts.bytes, isTrained: counts.isTrained, version: counts.version };
  }

  /**
   * A new sharded index: a stream per shard, then its catalog record, then its
   * placement (every live node its share); each shard's owner builds its
   * replica from the record and its stream.
   */
  private async installSharded(record: IndexRecord, tenantId: TenantId): Promise<IndexInfo> {
    const { tenant, name } = record;
    const replication = this.storage.replication!;
    const releaseName = this.registry.claimName(tenant, name);
    let admission: Admission;
    try {
      admission = await this.quotas.admit(tenant, { indexes: 1, vectors: 0, bytes: 0 }, { object: record.id });
    } catch (e) {
      releaseName();
      throw e;
    }
    const installed = (async () => {
      try {
        for (let s = 0; s < record.shards!; s++) await replication.create(shardStorageId(record.id, s), 0);
        this.registry.requireOpen(tenant, tenantId);
        replication.beforeCommit(...Array.from({ length: record.shards! }, (_, s) => shardStorageId(record.id, s)));
        this.catalog.insertIndex(record, tenantId);
      } catch (e) {
        if (!(e instanceof OutcomeUnknown)) for (let s = 0; s < record.shards!; s++) await replication.remove(shardStorageId(record.id, s)).catch(() => undefined);
        throw e;
      }
      try {
        this.sharded!.place(record);
      } catch (e) {
        // Created all the same: the coordinator places it within a second (ShardedIndexes.balance).
        console.error(`faiss-proxy: placing the shards of new index ${tenant}/${name} failed:`, e);
      }
      const l = this.durableIndex(record);
      this.registry.register(l);
      return this.describeSharded(l);
    })();
    try {
      const info = await this.registry.tracked(tenant, installed);
      admission.end({ final: true, count: { vectors: info.ntotal, bytes: info.bytes, seq: info.version } });
      return info;
    } catch (e) {
      admission.end({ final: !(e instanceof ServiceError && e.code === 'ERR_STORAGE_FAILED') });
      throw e;
    } finally {
      releaseName();
      this.adoptRecord(tenant, name);
    }
  }

  /** A cluster's: places the sharded indexes' shards, loads the ones this node owns, unloads the others (every second: server.ts). */
  async balanceShards(): Promise<void> {
    await this.sharded?.balance();
  }

  /** A cluster's: answers a shard's part of a request another node sent (cluster/shard-rpc.ts). */
  handleShardRequest(request: ShardMessage): Promise<ShardMessage> {
    if (!this.sharded) return Promise.reject(new ServiceError('ERR_UNSUPPORTED', 'This node holds no shards'));
    return this.sharded.handle(request);
  }

  /** Each shard of each sharded collection and its owner (metrics, dashboard); empty on a single node. */
  collectionShardOwnership(): { tenant: string; collection: string; shard: number; node: string }[] {
    return this.sharded?.collectionOwnership() ?? [];
  }

  /** Each shard's owner (metrics, dashboard); empty on a single node. */
  shardOwnership(): { tenant: string; index: string; shard: number; node: string }[] {
    return this.sharded?.ownership() ?? [];
  }

  /** An index about to be used (counted as a cache hit or miss). */
  private use(tenant: string, name: string): DurableIndex {
    const l = this.registry.get(tenant, name);
    if (!l.record.shards) this.residency.noteUse(l); // a sharded index's shards are used at their owners
    return l;
  }

  private info(l: DurableIndex, index: AnyIndex | undefined): IndexInfo {
    const { record } = l;
    const base = {
      name: record.name,
      dimension: record.dimension,
      factory: record.factory,
      metric: isBinaryFactory(record.factory) ? ('Hamming' as const) : metricName(record.metric),
      createdAt: record.createdAt,
      version: l.version,
      mmap: record.mmap,
      memoryMapped: l.mapped,
      device: l.device,
      logBytes: l.logBytes,
      ...(l.record.shards && { shards: l.record.shards, shardOwners: [...(this.sharded?.owners(l.record) ?? [])], version: this.sharded?.version(l.record) ?? 0 }),
    };
    if (!index) {
      const s = l.summary;
      return { ...base, type: s?.type ?? 'unknown', ntotal: l.liveNtotal ?? s?.ntotal ?? 0, isTrained: s?.isTrained ?? false, bytes: l.loaded ? l.residentBytes : (s?.bytes ?? 0), loaded: l.loaded };
    }
    const out: IndexInfo = {
      ...base,
      type: index.typeName,
      ntotal: index.ntotal - l.hidden,
      isTrained: index.isTrained,
      bytes: index.bytes,
      loaded: true,
    };
    if (index.nprobe !== undefined) out.nprobe = index.nprobe;
    if (index.efSearch !== undefined) out.efSearch = index.efSearch;
    if (index.efConstruction !== undefined) out.efConstruction = index.efConstruction;
    return out;
  }
}

/** A sharded index whose shards store the vectors themselves (IDMap or IDMap2 over Flat): its export gathers, its import splits, vectors by id. */
const isFlatShards = (record: IndexRecord): boolean => /^IDMap2?,Flat$/.test(record.factory);

/**
 * Checks that `index` may be a sharded index's shard `shard` (undefined: a
 * file to split over every shard): a float index of the factory's type (the
 * type FAISS names at its top: an IDMap's inner index is not told apart),
 * dimension and metric, each id of which belongs to that shard (shardsOf).
 * Its ids: what splitting needs.
 */
async function checkShardIndex(record: IndexRecord, index: AnyIndex, shard: number | undefined): Promise<{ ids: BigInt64Array }> {
  const expected = buildIndex(record.dimension, record.factory, record.metric);
  const type = expected.typeName;
  expected.dispose();
  const where = shard === undefined ? 'the file' : `the archive's file of shard ${shard}`;
  if (isBinaryIndex(index) || index.typeName !== type || index.d !== record.dimension || index.metricType !== record.metric) {
    throw new ServiceError(
      'ERR_UNSUPPORTED',
      `Index ${record.name} is sharded over shards of ${record.factory} (${type}, dimension ${record.dimension}, ${metricName(record.metric)}); ${where} holds ${index.typeName} of dimension ${index.d}${isBinaryIndex(index) ? '' : ` (${metricName(index.metricType)})`}`,
    );
  }
  let ids: BigInt64Array;
  try {
    ({ ids } = await index.extractAll());
  } catch (e) {
    throw new ServiceError('ERR_UNSUPPORTED', `Index ${record.name} is sharded: an import reads which shard each vector of ${where} belongs to, and ${index.typeName} cannot list them (${(e as Error).message})`);
  }
  if (shard !== undefined) {
    const of = shardsOf(ids, record.shards!);
    const stray = of.findIndex((s) => s !== shard);
    if (stray >= 0) throw new ServiceError('ERR_INVALID_ARGUMENT', `The archive's file of shard ${shard} holds id ${ids[stray]}, which belongs to shard ${of[stray]}: not an archive of ${record.shards} shards as this service cuts them`);
  }
  return { ids };
}

/**
 * The shards' files (their owners' own serializations) merged into one index by
 * FAISS's merge_from, serialized; undefined where FAISS (or this binding's
 * checks before it: native/merge_compat.cc) refuses: an HNSW graph, fast-scan
 * codes, shards whose trainings differ.
 */
async function mergedShards(files: readonly Uint8Array[]): Promise<Buffer | undefined> {
  const shards: Index[] = [];
  try {
    for (const f of files) shards.push(await deserializeIndex(f, { trusted: true }));
    for (const other of shards.slice(1)) {
      try {
        await shards[0].mergeFrom(other);
      } catch (e) {
        if (e instanceof FaissError) return undefined;
        throw e;
      }
    }
    return Buffer.from(await serializeIndex(shards[0]));
  } finally {
    for (const s of shards) s.dispose();
  }
}
