// Prometheus metrics (prom-client). Labels are bounded: routes are route
// patterns, never raw paths; tenants and indexes past a configurable cap are
// folded into "other" / left out, so a tenant creating thousands of indexes
// cannot blow up the scrape.
import client from 'prom-client';
import { kernelStats, poolStats } from '../../lib';
import type { Collections, CollectionStatus } from '../domain/collections';
import type { IndexObserver, IndexService } from '../domain/indexes';
import type { GpuStatus } from '../domain/gpu-placement';
import type { StorageHealth } from '../storage/health';
import type { TenantMemoryBudget } from '../domain/memory-budget';

export interface MetricsOptions {
  /** Most distinct tenant label values (beyond: "other"). */
  maxTenants: number;
  /** Most per-index series (the largest indexes by bytes). */
  maxIndexSeries: number;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** A counter whose value is read from elsewhere at scrape time. */
function readCounter(registry: client.Registry, name: string, help: string, read: () => number): void {
  new client.Counter({
    name,
    help,
    registers: [registry],
    collect() {
      this.reset();
      this.inc(read());
    },
  });
}

interface HttpSeries {
  count: { inc(): void };
  duration: { observe(seconds: number): void };
}

export class Metrics {
  readonly registry = new client.Registry();
  private readonly tenants = new Set<string>();
  private readonly httpRequests: client.Counter<'route' | 'method' | 'status' | 'tenant'>;
  private readonly httpDuration: client.Histogram<'route' | 'method'>;
  private readonly faissDuration: client.Histogram<'operation' | 'index_type'>;
  private readonly fsyncDuration: client.Histogram;
  private readonly fsyncRecords: client.Histogram;

  constructor(private readonly o: MetricsOptions) {
    client.collectDefaultMetrics({ register: this.registry }); // event-loop lag, process memory, GC
    const registers = [this.registry];
    this.httpRequests = new client.Counter({ name: 'faiss_proxy_http_requests_total', help: 'HTTP requests by route pattern, method, status and tenant', labelNames: ['route', 'method', 'status', 'tenant'], registers });
    this.httpDuration = new client.Histogram({ name: 'faiss_proxy_http_request_duration_seconds', help: 'HTTP request latency by route pattern', labelNames: ['route', 'method'], buckets: LATENCY_BUCKETS, registers });
    this.faissDuration = new client.Histogram({ name: 'faiss_proxy_faiss_operation_duration_seconds', help: 'Time of FAISS operations by operation and index type', labelNames: ['operation', 'index_type'], buckets: LATENCY_BUCKETS, registers });
    this.fsyncDuration = new client.Histogram({ name: 'faiss_proxy_log_flush_duration_seconds', help: 'Write-ahead log flushes (write + fdatasync)', buckets: [0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5], registers });
    this.fsyncRecords = new client.Histogram({ name: 'faiss_proxy_log_flush_records', help: 'Records per log flush (group commit)', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers });
    readCounter(this.registry, 'faiss_proxy_threadpool_tasks_total', 'FAISS operations queued (libuv pool and search threads)', () => poolStats().tasks);
    readCounter(this.registry, 'faiss_proxy_search_lane_jobs_total', 'Searches run on the search threads (--search-threads)', () => poolStats().laneJobs);
    readCounter(this.registry, 'faiss_proxy_search_lane_wakes_total', 'Searches that had to wake a sleeping search thread', () => poolStats().laneWakes);
    readCounter(this.registry, 'faiss_proxy_search_lane_spin_seconds_total', 'Time search threads stayed awake waiting for the next search', () => poolStats().laneSpinSeconds);
    readCounter(this.registry, 'faiss_proxy_threadpool_wait_seconds_total', 'Total time FAISS operations waited for a thread (libuv worker or search thread)', () => poolStats().waitSeconds);
    new client.Counter({
      name: 'faiss_proxy_kernel_searches_total',
      help: "Searches answered by the addon's own search kernels (docs/api.md, kernelStats)",
      labelNames: ['kernel'],
      registers,
      collect() {
        this.reset();
        for (const [kernel, s] of Object.entries(kernelStats())) if ('searches' in s) this.inc({ kernel }, s.searches);
      },
    });
    new client.Counter({
      name: 'faiss_proxy_kernel_adds_total',
      help: "Adds made by the addon's own HNSW construction, hnswBuild (docs/api.md, kernelStats)",
      labelNames: ['kernel'],
      registers,
      collect() {
        this.reset();
        for (const [kernel, s] of Object.entries(kernelStats())) if ('adds' in s) this.inc({ kernel }, s.adds);
      },
    });
    new client.Counter({
      name: 'faiss_proxy_kernel_fallbacks_total',
      help: "Searches (adds, for hnswBuild) of a kernel's own kind that it left to FAISS, by reason (docs/api.md, kernelStats)",
      labelNames: ['kernel', 'reason'],
      registers,
      collect() {
        this.reset();
        for (const [kernel, s] of Object.entries(kernelStats())) {
          for (const [reason, count] of Object.entries(s.fallbacks as Record<string, number>)) this.inc({ kernel, reason }, count);
        }
      },
    });
    new client.Gauge({ name: 'faiss_proxy_threadpool_running', help: 'FAISS calls running now', registers, collect() { this.set(poolStats().running); } });
  }

  /** The tenant label: its name while under the cap, "other" beyond it. */
  tenantLabel(tenant: string | undefined): string {
    if (!tenant) return '-';
    if (this.tenants.has(tenant)) return tenant;
    if (this.tenants.size < this.o.maxTenants) {
      this.tenants.add(tenant);
      return tenant;
    }
    return 'other';
  }

  /**
   * The series of each (route, method, status, tenant) seen, by route, method,
   * status and tenant label in turn: Map lookups of strings the request already
   * holds, with no key string built per request.
   */
  private readonly httpSeries = new Map<string, Map<string, Map<number, Map<string, HttpSeries>>>>();

  http(route: string, method: string, status: number, tenant: string | undefined, seconds: number): void {
    const tenantLabel = this.tenantLabel(tenant);
    let byMethod = this.httpSeries.get(route);
    if (byMethod === undefined) this.httpSeries.set(route, (byMethod = new Map()));
    let byStatus = byMethod.get(method);
    if (byStatus === undefined) byMethod.set(method, (byStatus = new Map()));
    let byTenant = byStatus.get(status);
    if (byTenant === undefined) byStatus.set(status, (byTenant = new Map()));
    let series = byTenant.get(tenantLabel);
    if (series === undefined) {
      // Bounded like the labels: route patterns x methods x statuses x at most maxTenants + 2 tenant labels.
      series = { count: this.httpRequests.labels(route, method, String(status), tenantLabel), duration: this.httpDuration.labels(route, method) };
      byTenant.set(tenantLabel, series);
    }
    series.count.inc();
    series.duration.observe(seconds);
  }

  /** The FAISS operation histogram's series by operation and index type: no labels object made per search. */
  private readonly faissSeries = new Map<string, Map<string, { observe(seconds: number): void }>>();

  readonly observer: IndexObserver = {
    operation: (operation, indexType, seconds) => {
      let byType = this.faissSeries.get(operation);
      if (byType === undefined) this.faissSeries.set(operation, (byType = new Map()));
      let series = byType.get(indexType);
      // Bounded by the operations x FAISS's index types.
      if (series === undefined) byType.set(indexType, (series = this.faissDuration.labels(operation, indexType)));
      series.observe(seconds);
    },
  };

  readonly onLogFlush = (seconds: number, records: number): void => {
    this.fsyncDuration.observe(seconds);
    this.fsyncRecords.observe(records);
  };

  /**
   * Per-collection series (labels tenant, collection), read at scrape time, for
   * the --metrics-max-index-series largest collections. Their FAISS operations
   * are in faiss_proxy_faiss_operation_duration_seconds as collection_<op>.
   */
  attachCollections(collections: Collections): void {
    const registers = [this.registry];
    const o = this.o;
    const top = () => collections.status().sort((a, b) => b.bytes - a.bytes).slice(0, o.maxIndexSeries);
    const perCollection = (name: string, help: string, value: (s: CollectionStatus) => number | undefined) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['tenant', 'collection'],
        registers,
        collect: () => {
          const g = this.registry.getSingleMetric(name) as client.Gauge<'tenant' | 'collection'>;
          g.reset();
          for (const s of top()) {
            const v = value(s);
            if (v !== undefined) g.set({ tenant: s.tenant, collection: s.name }, v);
          }
        },
      });
    perCollection('faiss_proxy_collection_points', 'Points per collection', (s) => s.points);
    perCollection('faiss_proxy_collection_bytes', 'Bytes per collection, index and payloads (in memory when loaded, as last saved otherwise)', (s) => s.bytes);
    perCollection('faiss_proxy_collection_payload_bytes', "Bytes of a collection's payloads (JSON)", (s) => s.payloadBytes);
    perCollection('faiss_proxy_collection_loaded', '1 when the collection is in memory, 0 when evicted', (s) => (s.loaded ? 1 : 0));
    perCollection('faiss_proxy_collection_log_bytes', 'Write-ahead log bytes not yet folded into a snapshot', (s) => s.logBytes);
    perCollection('faiss_proxy_collection_replica_lag', "A cluster's: records of the collection's stream (a sharded one's: of its shards held here) this node has not applied yet", (s) => s.replicaLag);
    new client.Gauge({ name: 'faiss_proxy_collections', help: 'Collections, all tenants', registers, collect() { this.set(collections.status().length); } });
    new client.Gauge({ name: 'faiss_proxy_collection_series_dropped', help: 'Collections left out of the per-collection series by the cap', registers, collect() { this.set(Math.max(0, collections.status().length - o.maxIndexSeries)); } });
  }

  /**
   * One series per GPU of serve --gpu (label device), read at scrape time: its
   * indexes' bytes against its --gpu-memory budget, CUDA's free and total memory,
   * and the queries searched on it. No series without --gpu.
   */
  private attachGpus(indexes: IndexService): void {
    const registers = [this.registry];
    const perGpu = (name: string, help: string, value: (s: GpuStatus) => number, counter = false) => {
      const collect = function (this: client.Gauge<'device'> | client.Counter<'device'>) {
        this.reset();
        for (const s of indexes.gpuStatus()) {
          if (this instanceof client.Counter) this.inc({ device: String(s.device) }, value(s));
          else this.set({ device: String(s.device) }, value(s));
        }
      };
      if (counter) new client.Counter({ name, help, labelNames: ['device'], registers, collect });
      else new client.Gauge({ name, help, labelNames: ['device'], registers, collect });
    };
    perGpu('faiss_proxy_gpu_index_bytes', "Bytes of the indexes on a GPU (the addon's estimate of their device memory)", (s) => s.residentBytes);
    perGpu('faiss_proxy_gpu_budget_bytes', "A GPU's memory budget for indexes (--gpu-memory; 0: no limit)", (s) => s.budgetBytes);
    perGpu('faiss_proxy_gpu_free_bytes', "A GPU's free memory as CUDA reports it (every process's use)", (s) => s.freeBytes);
    perGpu('faiss_proxy_gpu_total_bytes', "A GPU's memory as CUDA reports it", (s) => s.totalBytes);
    perGpu('faiss_proxy_gpu_indexes', 'Indexes loaded on a GPU', (s) => s.indexes);
    perGpu('faiss_proxy_gpu_searches_total', "Queries searched on a GPU's indexes", (s) => s.searches, true);
  }

  /** Per-index, cache and storage series, read from the index service and storage health at scrape time. */
  /** A cluster's node (serve --cluster): its name, and each node's last heartbeat in the catalog. */
  attachCluster(node: string, nodes: () => { node: string; ageSeconds: number; lag: number }[]): void {
    const registers = [this.registry];
    new client.Gauge({ name: 'faiss_proxy_cluster_node', help: 'This node of the cluster (label node): always 1', labelNames: ['node'], registers }).set({ node }, 1);
    new client.Gauge({
      name: 'faiss_proxy_cluster_node_heartbeat_age_seconds',
      help: "Seconds since each node of the cluster last told the catalog it is up (this node's view)",
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of nodes()) this.set({ node: n.node }, n.ageSeconds);
      },
    });
    new client.Gauge({
      name: 'faiss_proxy_cluster_node_lag',
      help: "Records of the streams each node follows (its indexes' and the shards it holds) it had not applied yet, as its last heartbeat told",
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        for (const n of nodes()) this.set({ node: n.node }, n.lag);
      },
    });
  }

  /** A cluster's leak collector (cluster/collector.ts): what this node deleted, by kind. Returns the counter's increment. */
  attachCollector(): (kind: string) => void {
    const deleted = new client.Counter({
      name: 'faiss_proxy_cluster_gc_deleted_total',
      help: "Streams, snapshot objects and catalog keys no catalog record named, and records of deleted tenants, that this node's collector deleted, by kind (stream, usage-stream, object, key, record)",
      labelNames: ['kind'],
      registers: [this.registry],
    });
    return (kind) => deleted.inc({ kind });
  }

  /** A cluster's shard ownership (domain/sharded-indexes.ts): how many shards each node owns, and each shard's owner. */
  attachShards(
    nodes: () => string[],
    shards: () => { tenant: string; index: string; shard: number; node: string }[],
    collectionShards: () => { tenant: string; collection: string; shard: number; node: string }[],
  ): void {
    const registers = [this.registry];
    const o = this.o;
    new client.Gauge({
      name: 'faiss_proxy_cluster_shards',
      help: "Shards of sharded indexes and collections each node owns (this node's view of the placement)",
      labelNames: ['node'],
      registers,
      collect() {
        this.reset();
        const count = new Map(nodes().map((n) => [n, 0]));
        for (const s of [...shards(), ...collectionShards()]) count.set(s.node, (count.get(s.node) ?? 0) + 1);
        for (const [node, n] of count) this.set({ node }, n);
      },
    });
    new client.Gauge({
      name: 'faiss_proxy_shard_owner',
      help: 'The node owning each shard of each sharded index: 1 (at most --metrics-max-index-series indexes)',
      labelNames: ['tenant', 'index', 'shard', 'node'],
      registers,
      collect() {
        this.reset();
        const all = shards();
        const indexes = [...new Set(all.map((s) => `${s.tenant}\u0000${s.index}`))].slice(0, o.maxIndexSeries);
        const shown = new Set(indexes);
        for (const s of all) if (shown.has(`${s.tenant}\u0000${s.index}`)) this.set({ tenant: s.tenant, index: s.index, shard: String(s.shard), node: s.node }, 1);
      },
    });
    new client.Gauge({
      name: 'faiss_proxy_collection_shard_owner',
      help: 'The node owning each shard of each sharded collection: 1 (at most --metrics-max-index-series collections)',
      labelNames: ['tenant', 'collection', 'shard', 'node'],
      registers,
      collect() {
        this.reset();
        const all = collectionShards();
        const shown = new Set([...new Set(all.map((s) => `${s.tenant}\u0000${s.collection}`))].slice(0, o.maxIndexSeries));
        for (const s of all) if (shown.has(`${s.tenant}\u0000${s.collection}`)) this.set({ tenant: s.tenant, collection: s.collection, shard: String(s.shard), node: s.node }, 1);
      },
    });
  }

  attach(indexes: IndexService, health?: StorageHealth, memory?: TenantMemoryBudget): void {
    const registers = [this.registry];
    const o = this.o;
    const top = () => indexes.status().sort((a, b) => b.bytes - a.bytes).slice(0, o.maxIndexSeries);
    const perIndex = (name: string, help: string, value: (s: ReturnType<IndexService['status']>[number]) => number | undefined) =>
      new client.Gauge({
        name,
        help,
        labelNames: ['tenant', 'index'],
        registers,
        collect: () => {
          const g = this.registry.getSingleMetric(name) as client.Gauge<'tenant' | 'index'>;
          g.reset();
          for (const s of top()) {
            const v = value(s);
            if (v !== undefined) g.set({ tenant: s.tenant, index: s.name }, v);
          }
        },
      });
    perIndex('faiss_proxy_index_vectors', 'Live vectors per index', (s) => s.ntotal);
    perIndex('faiss_proxy_index_bytes', 'Bytes per index (in memory when loaded, as last saved otherwise)', (s) => s.bytes);
    perIndex('faiss_proxy_index_loaded', '1 when the index is in memory, 0 when evicted', (s) => (s.loaded ? 1 : 0));
    perIndex('faiss_proxy_index_log_bytes', 'Write-ahead log bytes not yet folded into a snapshot', (s) => s.logBytes);
    perIndex('faiss_proxy_index_snapshot_age_seconds', 'Seconds since the last snapshot this process wrote', (s) => s.snapshotAgeSeconds);
    perIndex('faiss_proxy_index_replica_lag', "A cluster's: records of the index's stream this node has not applied yet", (s) => s.replicaLag);
    new client.Gauge({ name: 'faiss_proxy_indexes', help: 'Indexes, all tenants', registers, collect() { this.set(indexes.status().length); } });
    new client.Gauge({ name: 'faiss_proxy_index_series_dropped', help: 'Indexes left out of the per-index series by the cap', registers, collect() { this.set(Math.max(0, indexes.status().length - o.maxIndexSeries)); } });
    new client.Gauge({ name: 'faiss_proxy_cache_resident_bytes', help: 'Bytes of indexes in memory', registers, collect() { this.set(indexes.cacheStats().residentBytes); } });
    readCounter(this.registry, 'faiss_proxy_search_requests_total', 'Searches answered (dynamic batching: see faiss_proxy_search_batches_total)', () => indexes.searchStats().searches);
    readCounter(this.registry, 'faiss_proxy_search_batches_total', 'FAISS search calls made for them (fewer than searches when batching coalesces)', () => indexes.searchStats().batches);
    readCounter(this.registry, 'faiss_proxy_cache_hits_total', 'Operations on an index already in memory', () => indexes.cacheStats().hits);
    readCounter(this.registry, 'faiss_proxy_cache_misses_total', 'Operations that had to load their index', () => indexes.cacheStats().misses);
    readCounter(this.registry, 'faiss_proxy_cache_loads_total', 'Index loads (snapshot + log replay)', () => indexes.cacheStats().loads);
    readCounter(this.registry, 'faiss_proxy_cache_evictions_total', 'Indexes evicted to stay within --max-memory', () => indexes.cacheStats().evictions);
    readCounter(this.registry, 'faiss_proxy_log_damage_repairs_total', 'Index loads that cut damage off the end of a log', () => indexes.logDamage().repairs);
    readCounter(this.registry, 'faiss_proxy_log_damage_bytes_total', 'Bytes of damage cut off the end of logs', () => indexes.logDamage().bytes);
    this.attachGpus(indexes);
    readCounter(this.registry, 'faiss_proxy_log_damage_records_dropped_total', 'Valid log records dropped with damage before them (acknowledged writes lost)', () => indexes.logDamage().records);
    if (memory) {
      const metrics = this;
      new client.Gauge({
        name: 'faiss_proxy_tenant_memory_reserved_bytes',
        help: "Bytes a tenant's requests in flight hold of its memory budget (--max-tenant-memory)",
        labelNames: ['tenant'],
        registers,
        collect() {
          this.reset();
          const byLabel = new Map<string, number>();
          for (const h of memory.holders()) {
            const label = metrics.tenantLabel(h.tenant);
            byLabel.set(label, (byLabel.get(label) ?? 0) + h.bytes);
          }
          for (const [tenant, bytes] of byLabel) this.set({ tenant }, bytes);
        },
      });
    }
    if (health) {
      readCounter(this.registry, 'faiss_proxy_storage_faults_total', 'Storage operations that failed (ENOSPC, EIO, a deleted data directory, ...)', () => health.faults);
      new client.Gauge({ name: 'faiss_proxy_storage_healthy', help: '1 while storage takes writes, 0 after a fault until a probe succeeds', registers, collect() { this.set(health.current ? 0 : 1); } });
    }
  }
}
