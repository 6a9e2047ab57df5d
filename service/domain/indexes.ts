// The indexes of every tenant: lifecycle, vector operations, quotas and
// snapshots. Takes and returns plain values (Float32Array, BigInt64Array,
// objects); knows nothing about HTTP, so the CLI and tests use it directly.
import { randomUUID } from 'node:crypto';
import {
  FaissError,
  deserializeIndex,
  indexFactory,
  serializeIndex,
  type Index,
  type RangeSearchResult,
  type SearchParams,
  type SearchResult,
} from '../../lib';
import type { Catalog, IndexRecord, Quotas } from '../storage/catalog';
import type { SnapshotStore } from '../storage/snapshots';
import { ServiceError } from './errors';
import { factoryString, metricName, type CreateIndexSpec } from './index-spec';
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
  version: number;
  nprobe?: number;
  efSearch?: number;
  efConstruction?: number;
  createdAt: string;
}

interface LiveIndex {
  record: IndexRecord;
  index: Index;
  dirty: boolean;
  /** Mutations of one index run one after another, in the order they arrived. */
  queue: Promise<unknown>;
}

const key = (tenant: string, name: string): string => `${tenant}\u0000${name}`;

export class IndexService {
  private readonly live = new Map<string, LiveIndex>();
  /** Vectors promised to adds in flight, per tenant, so concurrent adds cannot overshoot a quota. */
  private readonly reserved = new Map<string, number>();

  constructor(
    private readonly catalog: Catalog,
    private readonly snapshots: SnapshotStore,
    private readonly quotasOf: (tenant: string) => Quotas,
  ) {}

  /** Loads every index of the catalog from its latest snapshot. */
  async open(): Promise<void> {
    for (const record of this.catalog.listIndexes()) {
      const index = (await this.snapshots.load(record.id)) ?? indexFactory(record.dimension, record.factory, record.metric as 0 | 1);
      this.live.set(key(record.tenant, record.name), { record, index, dirty: false, queue: Promise.resolve() });
    }
  }

  async create(tenant: string, spec: CreateIndexSpec): Promise<IndexInfo> {
    requireName(spec.name, 'the index name');
    if (this.live.has(key(tenant, spec.name))) {
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
    };
    return this.install(record, index);
  }

  list(tenant: string): IndexInfo[] {
    return [...this.live.values()]
      .filter((l) => l.record.tenant === tenant)
      .sort((a, b) => a.record.name.localeCompare(b.record.name))
      .map((l) => describe(l));
  }

  describe(tenant: string, name: string): IndexInfo {
    return describe(this.entry(tenant, name));
  }

  async delete(tenant: string, name: string): Promise<void> {
    const l = this.entry(tenant, name);
    this.live.delete(key(tenant, name));
    this.catalog.deleteIndex(tenant, name);
    l.index.dispose(); // operations in flight finish; later ones see "not found"
    await this.snapshots.remove(l.record.id);
  }

  async dropTenant(tenant: string): Promise<void> {
    for (const l of [...this.live.values()]) if (l.record.tenant === tenant) await this.delete(tenant, l.record.name);
  }

  async train(tenant: string, name: string, x: Float32Array): Promise<IndexInfo> {
    return this.mutate(tenant, name, async (l) => {
      await l.index.train(x);
      return describe(l);
    });
  }

  async add(tenant: string, name: string, x: Float32Array, ids?: BigInt64Array): Promise<{ added: number; ntotal: number }> {
    const l = this.entry(tenant, name);
    const n = x.length / l.record.dimension;
    const release = this.reserveVectors(tenant, l, n);
    try {
      return await this.mutate(tenant, name, async (m) => {
        if (ids) await m.index.addWithIds(x, ids);
        else await m.index.add(x);
        return { added: n, ntotal: m.index.ntotal };
      });
    } finally {
      release();
    }
  }

  async search(tenant: string, name: string, x: Float32Array, k: number, params?: SearchParams): Promise<SearchResult> {
    return this.read(tenant, name, (l) => l.index.search(x, k, params));
  }

  async rangeSearch(tenant: string, name: string, x: Float32Array, radius: number, params?: SearchParams): Promise<RangeSearchResult> {
    return this.read(tenant, name, (l) => l.index.rangeSearch(x, radius, params));
  }

  async remove(tenant: string, name: string, ids: BigInt64Array): Promise<{ removed: number; ntotal: number }> {
    return this.mutate(tenant, name, async (l) => {
      const removed = await l.index.removeIds(ids);
      return { removed, ntotal: l.index.ntotal };
    });
  }

  /** The stored vectors of `ids`, row after row. */
  async reconstruct(tenant: string, name: string, ids: readonly bigint[]): Promise<Float32Array> {
    return this.read(tenant, name, async (l) => {
      const d = l.record.dimension;
      const out = new Float32Array(ids.length * d);
      const rows = await Promise.all(ids.map((id) => l.index.reconstruct(id)));
      rows.forEach((r, i) => out.set(r, i * d));
      return out;
    });
  }

  async reset(tenant: string, name: string): Promise<IndexInfo> {
    return this.mutate(tenant, name, async (l) => {
      await l.index.reset();
      return describe(l);
    });
  }

  /** FAISS's serialized bytes, consistent with every write acknowledged before the call. */
  async exportIndex(tenant: string, name: string): Promise<Buffer> {
    return this.mutate(tenant, name, async (l) => serializeIndex(l.index), false);
  }

  /** Creates the index from FAISS's serialized bytes, or replaces an existing one. */
  async importIndex(tenant: string, name: string, bytes: Uint8Array): Promise<{ created: boolean; info: IndexInfo }> {
    requireName(name, 'the index name');
    const index = await deserializeIndex(bytes);
    const existing = this.live.get(key(tenant, name));
    try {
      if (!existing) this.requireIndexQuota(tenant);
      this.requireRoom(tenant, index.ntotal, index.bytes, existing);
    } catch (e) {
      index.dispose();
      throw e;
    }
    const record: IndexRecord = {
      tenant,
      name,
      id: existing?.record.id ?? randomUUID(),
      dimension: index.d,
      factory: existing && existing.record.dimension === index.d ? existing.record.factory : `imported ${index.typeName}`,
      metric: index.metricType,
      createdAt: existing?.record.createdAt ?? new Date().toISOString(),
    };
    if (!existing) return { created: true, info: await this.install(record, index) };
    return this.mutate(tenant, name, async (l) => {
      await this.snapshots.save(record.id, index);
      if (record.dimension !== l.record.dimension || record.metric !== l.record.metric || record.factory !== l.record.factory) {
        this.catalog.deleteIndex(tenant, name);
        this.catalog.insertIndex(record);
      }
      const old = l.index;
      l.record = record;
      l.index = index;
      l.dirty = false;
      old.dispose();
      return { created: false, info: describe(l) };
    }, false);
  }

  /** Writes a snapshot of every index changed since its last one. */
  async snapshotDirty(): Promise<number> {
    let saved = 0;
    for (const l of [...this.live.values()]) {
      if (!l.dirty) continue;
      await this.serialize(l, async () => {
        if (!l.dirty || l.index.disposed) return;
        l.dirty = false;
        try {
          await this.snapshots.save(l.record.id, l.index);
          saved++;
        } catch (e) {
          l.dirty = true;
          throw e;
        }
      });
    }
    return saved;
  }

  /** Waits for operations in flight, saves what changed, frees every index. */
  async close(): Promise<void> {
    await this.snapshotDirty();
    for (const l of this.live.values()) l.index.dispose();
    this.live.clear();
  }

  /** Per-tenant usage, for quotas and operators. */
  usage(tenant: string): { indexes: number; vectors: number; bytes: number } {
    let vectors = 0;
    let bytes = 0;
    let indexes = 0;
    for (const l of this.live.values()) {
      if (l.record.tenant !== tenant) continue;
      indexes++;
      vectors += l.index.ntotal;
      bytes += l.index.bytes;
    }
    return { indexes, vectors, bytes };
  }

  private async install(record: IndexRecord, index: Index): Promise<IndexInfo> {
    try {
      await this.snapshots.save(record.id, index);
      this.catalog.insertIndex(record);
    } catch (e) {
      index.dispose();
      await this.snapshots.remove(record.id).catch(() => undefined);
      throw e;
    }
    const l: LiveIndex = { record, index, dirty: false, queue: Promise.resolve() };
    this.live.set(key(record.tenant, record.name), l);
    return describe(l);
  }

  private entry(tenant: string, name: string): LiveIndex {
    const l = typeof name === 'string' ? this.live.get(key(tenant, name)) : undefined;
    if (!l) throw notFound(name);
    return l;
  }

  private async read<T>(tenant: string, name: string, fn: (l: LiveIndex) => Promise<T>): Promise<T> {
    const l = this.entry(tenant, name);
    return translateDisposed(name, () => fn(l));
  }

  private async mutate<T>(tenant: string, name: string, fn: (l: LiveIndex) => Promise<T>, dirties = true): Promise<T> {
    const l = this.entry(tenant, name);
    return this.serialize(l, () =>
      translateDisposed(name, async () => {
        const result = await fn(l);
        if (dirties) l.dirty = true;
        return result;
      }),
    );
  }

  private serialize<T>(l: LiveIndex, fn: () => Promise<T>): Promise<T> {
    const run = l.queue.then(fn, fn);
    l.queue = run.catch(() => undefined);
    return run;
  }

  private requireIndexQuota(tenant: string): void {
    const { maxIndexes } = this.quotasOf(tenant);
    if (this.usage(tenant).indexes >= maxIndexes) {
      throw new ServiceError('ERR_QUOTA_EXCEEDED', `Tenant ${tenant} already has its maximum of ${maxIndexes} indexes`);
    }
  }

  private requireRoom(tenant: string, vectors: number, bytes: number, replacing?: LiveIndex): void {
    const quotas = this.quotasOf(tenant);
    const usage = this.usage(tenant);
    const freed = replacing ? { vectors: replacing.index.ntotal, bytes: replacing.index.bytes } : { vectors: 0, bytes: 0 };
    const reserved = this.reserved.get(tenant) ?? 0;
    if (usage.vectors - freed.vectors + reserved + vectors > quotas.maxVectors) {
      throw new ServiceError(
        'ERR_QUOTA_EXCEEDED',
        `Tenant ${tenant} would exceed its quota of ${quotas.maxVectors} vectors (it has ${usage.vectors}, this adds ${vectors})`,
      );
    }
    if (usage.bytes - freed.bytes + bytes > quotas.maxBytes) {
      throw new ServiceError(
        'ERR_QUOTA_EXCEEDED',
        `Tenant ${tenant} would exceed its quota of ${quotas.maxBytes} bytes (it uses ${usage.bytes}, this adds about ${bytes})`,
      );
    }
  }

  private reserveVectors(tenant: string, l: LiveIndex, n: number): () => void {
    const perVector = l.index.ntotal > 0 ? l.index.bytes / l.index.ntotal : l.record.dimension * 4;
    this.requireRoom(tenant, n, Math.ceil(perVector * n));
    this.reserved.set(tenant, (this.reserved.get(tenant) ?? 0) + n);
    return () => this.reserved.set(tenant, (this.reserved.get(tenant) ?? n) - n);
  }
}

function notFound(name: string): ServiceError {
  return new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(name)}`);
}

/** An index deleted while a request was using it reads as "not found", as it now is. */
async function translateDisposed<T>(name: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FaissError && e.code === 'ERR_DISPOSED') throw notFound(name);
    throw e;
  }
}

function describe(l: LiveIndex): IndexInfo {
  const { index, record } = l;
  const info: IndexInfo = {
    name: record.name,
    dimension: record.dimension,
    type: index.typeName,
    factory: record.factory,
    metric: metricName(record.metric),
    ntotal: index.ntotal,
    isTrained: index.isTrained,
    bytes: index.bytes,
    version: index.version,
    createdAt: record.createdAt,
  };
  if (index.nprobe !== undefined) info.nprobe = index.nprobe;
  if (index.efSearch !== undefined) info.efSearch = index.efSearch;
  if (index.efConstruction !== undefined) info.efConstruction = index.efConstruction;
  return info;
}
