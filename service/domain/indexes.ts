// The indexes of every tenant: lifecycle, vector operations, quotas, and the
// cache that keeps the recently used ones in memory within a budget. Takes and
// returns plain values (Float32Array, BigInt64Array, objects); knows nothing
// about HTTP, so the CLI and tests use it directly.
import { randomUUID } from 'node:crypto';
import { deserializeIndex, indexFactory, type Index, type RangeSearchResult, type SearchParams, type SearchResult } from '../../lib';
import type { Catalog, IndexRecord, Quotas } from '../storage/catalog';
import type { LogStore, SnapshotStore } from '../storage/storage';
import { ServiceError } from './errors';
import { factoryString, metricName, type CreateIndexSpec } from './index-spec';
import { LiveIndex, type StorageReport } from './live-index';
import type { LogDamage } from '../storage/mutation-log';
import { SearchScheduler, type SearchAnswer, type SchedulingOptions, type SearchStats } from './search-scheduler';
import { requireName } from './names';

export interface IndexInfo {
  name: string;
  dimension: number;
  type: string;
  factory: string;
  metric: 'L2' | 'IP';
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
  nprobe?: number;
  efSearch?: number;
  efConstruction?: number;
  createdAt: string;
}

export interface StorageOptions {
  /** How searches run: batching of concurrent searches (search-scheduler.ts). */
  scheduling: SchedulingOptions;
  snapshotLogBytes: number;
  rebuildThreshold: number;
  /** Bytes of indexes kept in memory before the least recently used are evicted; 0: no limit. */
  maxMemory: number;
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
  logBytes: number;
  /** Seconds since this process last snapshotted it (undefined: not since start). */
  snapshotAgeSeconds: number | undefined;
  /** What its last load found wrong on disk: damage cut off its log, or why it cannot load. */
  storage?: StorageReport;
}

/** Damage recovery cut off the end of logs since start (metrics). */
export interface LogDamageTotals {
  repairs: number;
  bytes: number;
  records: number;
}

export interface CacheStats {
  hits: number;
  misses: number;
  loads: number;
  evictions: number;
  residentBytes: number;
  resident: number;
}

const key = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

/** What a tenant's work in flight has been promised against its quotas. */
interface Reservation {
  indexes: number;
  vectors: number;
  bytes: number;
}

const tenantGone = (tenant: string): ServiceError => new ServiceError('ERR_TENANT_NOT_FOUND', `Tenant ${tenant} was deleted`);

export class IndexService {
  private readonly live = new Map<string, LiveIndex>();
  private readonly scheduler: SearchScheduler;
  /**
   * Quota promised to creates, imports and adds in flight, per tenant: taken in
   * the same turn of the event loop as the check, so concurrent requests cannot
   * all pass it; given back when each finishes (its index then counts itself).
   */
  private readonly reserved = new Map<string, Reservation>();
  /** Index names being created or imported (not yet in `live`): a second create of one is ERR_INDEX_EXISTS. */
  private readonly creating = new Set<string>();
  /** Creates and imports in flight per tenant: deleting the tenant waits for them. */
  private readonly installing = new Map<string, Set<Promise<unknown>>>();
  /** Tenants being deleted: none of their indexes can be used or made meanwhile. */
  private readonly closing = new Set<string>();
  /**
   * Bumped each time a tenant of that name is deleted: a create or import that
   * began before cannot finish into a later tenant of the same name.
   */
  private readonly generations = new Map<string, number>();
  private readonly counters = { hits: 0, misses: 0, loads: 0, evictions: 0 };
  private enforcing = false;
  private readonly damage: LogDamageTotals = { repairs: 0, bytes: 0, records: 0 };

  constructor(
    private readonly catalog: Catalog,
    private readonly snapshots: SnapshotStore,
    private readonly logs: LogStore,
    /** undefined: no such tenant (deleted meanwhile). */
    private readonly quotasOf: (tenant: string) => Quotas | undefined,
    private readonly storage: StorageOptions,
    private readonly observer: IndexObserver = { operation: () => undefined },
  ) {
    this.scheduler = new SearchScheduler(storage.scheduling);
  }

  /**
   * Registers every index of the catalog (each loads on first use), after
   * removing the files no index owns (what a crash between the steps of a
   * change left behind: orphans.ts). Only the process that owns the data
   * directory may call this.
   */
  async open(): Promise<void> {
    const records = this.catalog.listIndexes();
    const removed = await this.snapshots.removeOrphans(new Set(records.map((r) => r.id)));
    if (removed.length > 0) console.error(`faiss-proxy: removed ${removed.length} file(s) no index owns (left by an interrupted change): ${removed.join(', ')}`);
    for (const record of records) this.live.set(key(record.tenant, record.name), this.liveIndex(record));
  }

  async create(tenant: string, spec: CreateIndexSpec): Promise<IndexInfo> {
    requireName(spec.name, 'the index name');
    this.requireOpen(tenant);
    if (this.live.has(key(tenant, spec.name)) || this.creating.has(key(tenant, spec.name))) {
      throw new ServiceError('ERR_INDEX_EXISTS', `Index ${spec.name} already exists`);
    }
    this.requireIndexQuota(tenant);
    const { factory, metric } = factoryString(spec);
    const index = indexFactory(spec.dimension, factory, metric as 0 | 1);
    try {
      const p = spec.params ?? {};
      if (p.nprobe !== undefined) index.nprobe = p.nprobe;
      if (p.efSearch !== undefined) index.efSearch = p.efSearch;
      if (p.efConstruction !== undefined) index.efConstruction = p.efConstruction;
    } catch (e) {
      index.dispose();
      throw e;
    }
    const record: IndexRecord = {
      tenant,
      name: spec.name,
      id: randomUUID(),
      dimension: spec.dimension,
      factory,
      metric,
      createdAt: new Date().toISOString(),
      mmap: spec.params?.mmap === true,
    };
    return this.installNew(record, index, { indexes: 1, vectors: 0, bytes: 0 });
  }

  list(tenant: string): IndexInfo[] {
    return [...this.live.values()]
      .filter((l) => l.record.tenant === tenant)
      .sort((a, b) => a.record.name.localeCompare(b.record.name))
      .map((l) => this.info(l, l.current));
  }

  async describe(tenant: string, name: string): Promise<IndexInfo> {
    const l = this.entry(tenant, name);
    return l.read(async (index) => this.info(l, index));
  }

  /** Changes with every mutation of the index; survives restarts. */
  version(tenant: string, name: string): number {
    return this.entry(tenant, name).version;
  }

  dimension(tenant: string, name: string): number {
    return this.entry(tenant, name).record.dimension;
  }

  /** The catalog row goes first (the deletion is durable then), the files after (orphans.ts if a crash comes between). */
  async delete(tenant: string, name: string): Promise<void> {
    const l = this.entry(tenant, name);
    this.catalog.deleteIndex(tenant, name);
    await this.forget(l);
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
    this.closing.add(tenant);
    this.generations.set(tenant, this.generation(tenant) + 1);
    try {
      await Promise.allSettled([...(this.installing.get(tenant) ?? [])]);
      deleteRows();
      for (const l of [...this.live.values()]) if (l.record.tenant === tenant) await this.forget(l);
    } finally {
      this.closing.delete(tenant);
    }
  }

  private async forget(l: LiveIndex): Promise<void> {
    if (this.live.get(key(l.record.tenant, l.record.name)) === l) this.live.delete(key(l.record.tenant, l.record.name));
    l.drop(); // operations in flight finish; later ones see "not found"
    await l
      .exclusive(() => l.removeFiles(l.record.id))
      .catch((e) => console.error(`faiss-proxy: removing the files of deleted index ${l.record.name} failed (removed at next start):`, e));
  }

  async train(tenant: string, name: string, x: Float32Array, key?: string): Promise<IndexInfo> {
    const l = this.use(tenant, name);
    await l.mutate({ type: 'train', x, d: l.record.dimension, key });
    return l.read(async (index) => this.info(l, index));
  }

  /** firstId: the id of the first vector when the service numbered them (consecutive ids), else null. */
  async add(
    tenant: string,
    name: string,
    x: Float32Array,
    ids?: BigInt64Array,
    key?: string,
  ): Promise<{ added: number; ntotal: number; firstId: number | null }> {
    const l = this.use(tenant, name);
    const d = l.record.dimension;
    if (x.length === 0 || x.length % d !== 0) throw new ServiceError('ERR_INVALID_ARGUMENT', `Expected rows of dimension ${d}`);
    const n = x.length / d;
    // A retry of an add already applied is answered from memory, quota or not.
    await l.ntotal();
    const release = key !== undefined && l.hasApplied(key) ? () => undefined : await this.reserveVectors(tenant, l, n);
    try {
      // A retry is answered with the first request's result (idempotency.ts).
      const { added, firstId } = await l.mutate(ids ? { type: 'add', x, d, ids, key } : { type: 'add', x, d, key });
      return { added, ntotal: await l.ntotal(), firstId };
    } finally {
      release();
    }
  }

  /** `version`: the index version the answer reflects (at least). */
  search(tenant: string, name: string, x: Float32Array, k: number, params?: SearchParams): Promise<SearchAnswer> {
    return this.scheduler.search(this.use(tenant, name), x, k, params);
  }

  /** Searches answered and FAISS calls made for them: batching saves the difference. */
  searchStats(): SearchStats {
    return this.scheduler.stats();
  }

  rangeSearch(tenant: string, name: string, x: Float32Array, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    return this.use(tenant, name).rangeSearch(x, radius, params);
  }

  async remove(tenant: string, name: string, ids: BigInt64Array, key?: string): Promise<{ removed: number; ntotal: number }> {
    const l = this.use(tenant, name);
    const { removed } = await l.mutate({ type: 'remove', ids, key });
    return { removed, ntotal: await l.ntotal() };
  }

  /** The stored vectors of `ids`, row after row. */
  async reconstruct(tenant: string, name: string, ids: readonly bigint[]): Promise<Float32Array> {
    const l = this.use(tenant, name);
    const d = l.record.dimension;
    const rows = await Promise.all(ids.map((id) => l.reconstruct(id)));
    const out = new Float32Array(ids.length * d);
    rows.forEach((r, i) => out.set(r, i * d));
    return out;
  }

  async reset(tenant: string, name: string, key?: string): Promise<IndexInfo> {
    const l = this.use(tenant, name);
    await l.mutate({ type: 'reset', key });
    return l.read(async (index) => this.info(l, index));
  }

  /** FAISS's serialized bytes, consistent with every write acknowledged before the call. */
  exportIndex(tenant: string, name: string): Promise<Buffer> {
    return this.use(tenant, name).export();
  }

  /** Creates the index from FAISS's serialized bytes, or replaces an existing one. */
  async importIndex(tenant: string, name: string, bytes: Uint8Array): Promise<{ created: boolean; info: IndexInfo }> {
    requireName(name, 'the index name');
    this.requireOpen(tenant);
    const generation = this.generation(tenant);
    // Untrusted, so read, checked and tried in the sandbox process first: a crafted
    // file that would crash FAISS is an ERR_CORRUPT_INDEX here, not a dead server.
    const index = await deserializeIndex(bytes);
    let existing: LiveIndex | undefined;
    let growth: Reservation;
    try {
      // Checked and reserved in one turn, after the last await: what the quota sees is current.
      this.requireOpen(tenant, generation);
      existing = this.live.get(key(tenant, name));
      if (!existing && this.creating.has(key(tenant, name))) throw new ServiceError('ERR_INDEX_EXISTS', `Index ${name} is being created`);
      if (!existing) this.requireIndexQuota(tenant);
      growth = { indexes: existing ? 0 : 1, ...this.requireRoom(tenant, index.ntotal, index.bytes, existing) };
    } catch (e) {
      index.dispose();
      throw e;
    }
    if (!existing) {
      const record: IndexRecord = {
        tenant,
        name,
        id: randomUUID(),
        dimension: index.d,
        factory: `imported ${index.typeName}`,
        metric: index.metricType,
        createdAt: new Date().toISOString(),
        mmap: false,
      };
      return { created: true, info: await this.installNew(record, index, growth) };
    }
    const replacing = existing;
    const release = this.reserve(tenant, growth);
    const replaced = (async () => {
      // New files under a new storage id; the catalog switches to them only once they are durable.
      const record: IndexRecord = { ...replacing.record, id: randomUUID(), dimension: index.d, metric: index.metricType, factory: `imported ${index.typeName}` };
      try {
        await replacing.replace(index, record, () => {
          this.requireOpen(tenant, generation);
          this.catalog.replaceIndex(record);
        });
      } catch (e) {
        index.dispose();
        throw e;
      }
      return { created: false, info: await replacing.read(async (ix) => this.info(replacing, ix)) };
    })();
    try {
      return await this.tracked(tenant, replaced);
    } finally {
      release();
    }
  }

  /** Snapshots every index whose log is not empty (shutdown, tests). */
  async snapshotAll(): Promise<void> {
    for (const l of [...this.live.values()]) if (l.loaded) await l.snapshot();
  }

  /**
   * Saves what changed and frees every index. A snapshot that fails is reported
   * and the others still happen (the log still holds that index's writes); then
   * close rejects, so the exit status tells.
   */
  async close(): Promise<void> {
    const failed: string[] = [];
    for (const l of [...this.live.values()]) {
      await l.close().catch((e) => {
        failed.push(`${l.record.tenant}/${l.record.name}`);
        console.error(`faiss-proxy: saving ${l.record.name} at shutdown failed (its log keeps its writes):`, e);
      });
    }
    this.live.clear();
    if (failed.length > 0) throw new ServiceError('ERR_STORAGE_FAILED', `Saving ${failed.length} index(es) at shutdown failed: ${failed.join(', ')}`);
  }

  /** Damage cut off the end of logs since start. */
  logDamage(): LogDamageTotals {
    return { ...this.damage };
  }

  /** Per-tenant usage, for quotas and operators (not-loaded indexes: as of their last snapshot). */
  usage(tenant: string): { indexes: number; vectors: number; bytes: number } {
    let vectors = 0;
    let bytes = 0;
    let indexes = 0;
    for (const l of this.live.values()) {
      if (l.record.tenant !== tenant) continue;
      indexes++;
      vectors += l.liveNtotal ?? l.summary?.ntotal ?? 0;
      bytes += l.loaded ? l.residentBytes : (l.summary?.bytes ?? 0);
    }
    return { indexes, vectors, bytes };
  }

  /** Every index of every tenant, without loading any. */
  status(): IndexStatus[] {
    return [...this.live.values()].map((l) => {
      const info = this.info(l, l.current);
      return {
        tenant: l.record.tenant,
        name: l.record.name,
        type: info.type,
        dimension: info.dimension,
        ntotal: info.ntotal,
        bytes: info.bytes,
        loaded: info.loaded,
        logBytes: l.logBytes,
        snapshotAgeSeconds: l.lastSnapshotAt === undefined ? undefined : (Date.now() - l.lastSnapshotAt) / 1000,
        ...(l.storage && { storage: l.storage }),
      };
    });
  }

  cacheStats(): CacheStats {
    const resident = [...this.live.values()].filter((l) => l.loaded);
    return { ...this.counters, resident: resident.length, residentBytes: resident.reduce((s, l) => s + l.residentBytes, 0) };
  }

  private liveIndex(record: IndexRecord): LiveIndex {
    return new LiveIndex(record, {
      snapshots: this.snapshots,
      logs: this.logs,
      snapshotLogBytes: this.storage.snapshotLogBytes,
      rebuildThreshold: this.storage.rebuildThreshold,
      onLoad: () => this.counters.loads++,
      onResident: () => this.enforceBudget(),
      onOperation: (op, type, seconds) => this.observer.operation(op, type, seconds),
      onLogDamage: (l, damage) => this.logDamaged(l, damage),
    });
  }

  /** Loud: a log line, the metrics (logDamage()), and the index's status (dashboard). */
  private logDamaged(l: LiveIndex, damage: LogDamage): void {
    this.damage.repairs++;
    this.damage.bytes += damage.bytes;
    this.damage.records += damage.recordsAfter;
    console.error(
      `faiss-proxy: index ${l.record.tenant}/${l.record.name}: recovery cut ${damage.bytes} byte(s) off the end of its log at byte ${damage.offset} ` +
        `(${damage.why}); every record before it is kept` +
        (damage.recordsAfter > 0 ? `; ${damage.recordsAfter} valid record(s) after the damage were DROPPED` : '; no valid record was after it'),
    );
  }

  /**
   * Installs a new index under its name, holding its quota (`growth`) and its
   * name until it is in the catalog: its first snapshot and empty log are
   * durable before its catalog row is written. A tenant deleted meanwhile wins:
   * the index and its files go, and the caller gets ERR_TENANT_NOT_FOUND.
   */
  private async installNew(record: IndexRecord, index: Index, growth: Reservation): Promise<IndexInfo> {
    const { tenant, name } = record;
    const generation = this.generation(tenant);
    const release = this.reserve(tenant, growth);
    this.creating.add(key(tenant, name));
    const installed = (async () => {
      const l = this.liveIndex(record);
      try {
        await l.replace(index, record, () => {
          this.requireOpen(tenant, generation);
          this.catalog.insertIndex(record);
        });
      } catch (e) {
        l.drop();
        index.dispose();
        await l.removeFiles(record.id).catch(() => undefined);
        throw e;
      }
      this.live.set(key(tenant, name), l);
      return l.read(async (ix) => this.info(l, ix));
    })();
    try {
      return await this.tracked(tenant, installed);
    } finally {
      this.creating.delete(key(tenant, name));
      release();
    }
  }

  /** Registers a create or import in flight, for dropTenant to wait for. */
  private tracked<T>(tenant: string, work: Promise<T>): Promise<T> {
    let set = this.installing.get(tenant);
    if (!set) this.installing.set(tenant, (set = new Set()));
    const inFlight = set;
    inFlight.add(work);
    const forget = () => {
      inFlight.delete(work);
      if (inFlight.size === 0 && this.installing.get(tenant) === inFlight) this.installing.delete(tenant);
    };
    work.then(forget, forget);
    return work;
  }

  private generation(tenant: string): number {
    return this.generations.get(tenant) ?? 0;
  }

  /** A tenant gone since its request began has no quota to grow into: it is not found. */
  private quotas(tenant: string): Quotas {
    const q = this.quotasOf(tenant);
    if (!q) throw tenantGone(tenant);
    return q;
  }

  /** The tenant is not being deleted, nor (given `since`, its generation then) deleted and made again since. */
  private requireOpen(tenant: string, since?: number): void {
    if (this.closing.has(tenant) || (since !== undefined && this.generation(tenant) !== since)) throw tenantGone(tenant);
  }

  /** Holds `r` of the tenant's quotas until the returned function is called. */
  private reserve(tenant: string, r: Reservation): () => void {
    const add = (sign: number) => {
      const now = this.reserved.get(tenant) ?? { indexes: 0, vectors: 0, bytes: 0 };
      const next = { indexes: now.indexes + sign * r.indexes, vectors: now.vectors + sign * r.vectors, bytes: now.bytes + sign * r.bytes };
      if (next.indexes <= 0 && next.vectors <= 0 && next.bytes <= 0) this.reserved.delete(tenant);
      else this.reserved.set(tenant, next);
    };
    add(1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      add(-1);
    };
  }

  private entry(tenant: string, name: string): LiveIndex {
    const l = typeof name === 'string' && !this.closing.has(tenant) ? this.live.get(key(tenant, name)) : undefined;
    if (!l) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(name)}`);
    return l;
  }

  /** An entry about to be used: counts a cache hit or miss. */
  private use(tenant: string, name: string): LiveIndex {
    const l = this.entry(tenant, name);
    if (l.loaded) this.counters.hits++;
    else this.counters.misses++;
    return l;
  }

  /** Evicts the least recently used indexes until the resident ones fit the budget. */
  private enforceBudget(): void {
    const budget = this.storage.maxMemory;
    if (budget <= 0 || this.enforcing) return;
    this.enforcing = true;
    void (async () => {
      try {
        for (;;) {
          const resident = [...this.live.values()].filter((l) => l.loaded);
          const total = resident.reduce((s, l) => s + l.residentBytes, 0);
          if (total <= budget) return;
          const victim = resident.filter((l) => !l.busy).sort((a, b) => a.lastUsed - b.lastUsed)[0];
          if (!victim || resident.length <= 1) return; // the one in use stays, even if alone it is too big
          if (await victim.evict()) this.counters.evictions++;
          else return;
        }
      } catch (e) {
        console.error('faiss-proxy: eviction failed:', e);
      } finally {
        this.enforcing = false;
      }
    })();
  }

  private info(l: LiveIndex, index: Index | undefined): IndexInfo {
    const { record } = l;
    const base = {
      name: record.name,
      dimension: record.dimension,
      factory: record.factory,
      metric: metricName(record.metric),
      createdAt: record.createdAt,
      version: l.version,
      mmap: record.mmap,
      memoryMapped: l.mapped,
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

  private requireIndexQuota(tenant: string): void {
    const { maxIndexes } = this.quotas(tenant);
    if (this.usage(tenant).indexes + (this.reserved.get(tenant)?.indexes ?? 0) >= maxIndexes) {
      throw new ServiceError('ERR_QUOTA_EXCEEDED', `Tenant ${tenant} already has its maximum of ${maxIndexes} indexes`);
    }
  }

  /** Refuses growth past the tenant's quotas (counting what is reserved); answers the net growth to reserve. */
  private requireRoom(tenant: string, vectors: number, bytes: number, replacing?: LiveIndex): { vectors: number; bytes: number } {
    const quotas = this.quotas(tenant);
    const usage = this.usage(tenant);
    const freedVectors = replacing ? (replacing.liveNtotal ?? replacing.summary?.ntotal ?? 0) : 0;
    const freedBytes = replacing ? replacing.residentBytes : 0;
    const reserved = this.reserved.get(tenant) ?? { indexes: 0, vectors: 0, bytes: 0 };
    if (usage.vectors - freedVectors + reserved.vectors + vectors > quotas.maxVectors) {
      throw new ServiceError(
        'ERR_QUOTA_EXCEEDED',
        `Tenant ${tenant} would exceed its quota of ${quotas.maxVectors} vectors (it has ${usage.vectors}, this adds ${vectors})`,
      );
    }
    if (usage.bytes - freedBytes + reserved.bytes + bytes > quotas.maxBytes) {
      throw new ServiceError(
        'ERR_QUOTA_EXCEEDED',
        `Tenant ${tenant} would exceed its quota of ${quotas.maxBytes} bytes (it uses ${usage.bytes}, this adds about ${bytes})`,
      );
    }
    return { vectors: Math.max(0, vectors - freedVectors), bytes: Math.max(0, bytes - freedBytes) };
  }

  private async reserveVectors(tenant: string, l: LiveIndex, n: number): Promise<() => void> {
    const ntotal = await l.ntotal(); // loads the index, so usage is exact
    const perVector = ntotal > 0 ? l.residentBytes / ntotal : l.record.dimension * 4;
    return this.reserve(tenant, { indexes: 0, ...this.requireRoom(tenant, n, Math.ceil(perVector * n)) });
  }
}
