// Assembles the service from a Config: storage, domain, HTTP app; first-start
// admin key; periodic snapshots; graceful shutdown on SIGTERM/SIGINT.
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { setGraphAddThreads, setInlineSearchBudget, setMemoryLimits, setSearchLanes } from '../lib';
import type { Config } from './config';
import { IndexService, type IndexObserver } from './domain/indexes';
import { Collections } from './domain/collections';
import { Activity } from './observability/activity';
import { createLogger } from './observability/logger';
import { Metrics } from './observability/metrics';
import { KeyService } from './domain/keys';
import { TenantService } from './domain/tenants';
import { createApp, expressObjects } from './http/app';
import { abandonStalledAnswer, answerClientError } from './http/client-error';
import { SqliteCatalog, type Catalog } from './storage/catalog';
import { FileSnapshotStore } from './storage/snapshots';
import { FileLogStore } from './storage/storage';
import { StorageHealth } from './storage/health';
import { FileIO, type StorageIO } from './storage/storage-io';
import { TenantMemoryBudget } from './domain/memory-budget';
import { ServiceError } from './domain/errors';
import { joinCluster } from './cluster/cluster';
import type { ReplicatedLog } from './domain/durable';
import type { SharedUsage } from './domain/quotas';
import type { ShardNetwork } from './domain/sharded-indexes';
import { HEARTBEAT_MS } from './cluster/cluster';
import { collectEvery, LeakCollector } from './cluster/collector';

import { OPERATOR_TENANT } from './http/routes/admin';

export const ADMIN_TENANT = OPERATOR_TENANT;

/** The pid of a service running on this data directory, if any. */
export function runningServerPid(dataDir: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(path.join(dataDir, 'server.pid'), 'utf8'));
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

export interface Services {
  catalog: Catalog;
  keys: KeyService;
  indexes: IndexService;
  /** Collections and aliases (issue 18), sharing the indexes' registry, memory budget, quotas and files. */
  collections: Collections;
  tenants: TenantService;
  /** Memory held by each tenant's requests in flight, against its budget. */
  memory: TenantMemoryBudget;
  /** Whether storage takes writes now (readiness). */
  health: StorageHealth;
  /** The files under the domain (faiss-proxy check / repair). */
  storage: { io: StorageIO; snapshots: FileSnapshotStore; logs: FileLogStore };
}

/** What the domain reports to metrics (nothing, for the CLI and tests). */
export interface ServiceHooks {
  observer?: IndexObserver;
  onLogFlush?: (seconds: number, records: number) => void;
  /**
   * The storage I/O to use instead of the real disk's (tests wrap it to inject
   * faults and crashes). Given the health's fault listener, which it must call
   * on every fault.
   */
  io?: (onFault: StorageHealth['onFault']) => StorageIO;
}

/**
 * The domain over a data directory, without HTTP (also used by the CLI).
 * `catalog`: a cluster's (cluster/kv-catalog.ts) instead of the data directory's SQLite one.
 */
export function openServices(
  config: Config,
  hooks: ServiceHooks = {},
  cluster?: { catalog: Catalog; replication: ReplicatedLog & { useSnapshots(s: FileSnapshotStore): void }; shards?: ShardNetwork; usage?: SharedUsage },
): Services {
  fs.mkdirSync(config.dataDir, { recursive: true });
  const indexDir = path.join(config.dataDir, 'indexes');
  fs.mkdirSync(indexDir, { recursive: true });
  const health = new StorageHealth(config.dataDir, [config.dataDir, indexDir]);
  const io = hooks.io ? hooks.io(health.onFault) : new FileIO(health.onFault);
  health.use(io);
  const catalog = cluster?.catalog ?? new SqliteCatalog(config.dataDir, io);
  const keys = new KeyService(catalog);
  const quotasOf = (tenant: string) => catalog.getTenant(tenant);
  const snapshots = new FileSnapshotStore(config.dataDir, io);
  cluster?.replication.useSnapshots(snapshots);
  const logs = new FileLogStore(snapshots.dir, io, config.fsync, hooks.onLogFlush);
  const indexes = new IndexService(catalog, snapshots, logs, quotasOf, {
    scheduling: { batching: config.batching, maxWaitMs: config.batchMaxWaitMs },
    snapshotLogBytes: config.snapshotLogBytes,
    rebuildThreshold: config.rebuildThreshold,
    maxMemory: config.maxMemory,
    ...(cluster && { replication: cluster.replication }),
    ...(cluster?.shards && { shards: cluster.shards }),
    ...(cluster?.usage && { sharedUsage: cluster.usage }),
    gpuDevices: config.gpu,
    gpuMemory: config.gpuMemory,
  }, hooks.observer);
  const collections = new Collections(catalog, indexes.host(), { limits: { maxPayloadBytes: config.maxPayloadBytes } });
  const tenants = new TenantService(catalog, indexes, config.defaultQuotas, config.maxRequestMemory);
  const memory = new TenantMemoryBudget((tenant) => catalog.getTenant(tenant)?.maxTenantMemory ?? config.maxTenantMemory, config.maxRequestMemory);
  return { catalog, keys, indexes, collections, tenants, memory, health, storage: { io, snapshots, logs } };
}

/** On first start: the admin tenant and an admin key (given, or generated and printed once). */
function ensureAdmin(s: Services, config: Config, log: (line: string) => void): void {
  try {
    if (!s.catalog.getTenant(ADMIN_TENANT)) s.tenants.create(ADMIN_TENANT);
  } catch (e) {
    // A cluster's nodes starting together: another one made it first.
    if (!(e instanceof ServiceError && e.code === 'ERR_TENANT_EXISTS')) throw e;
  }
  if (config.adminKey) {
    const known = s.keys.verify(config.adminKey);
    if (known && (known.role !== 'admin' || known.tenant !== ADMIN_TENANT)) {
      throw new Error(`FAISS_PROXY_ADMIN_KEY is a ${known.role} key of tenant ${known.tenant}, not an admin key of ${ADMIN_TENANT}`);
    }
    if (!known) {
      const id = /^fp_([0-9a-f]{16})_/.exec(config.adminKey)?.[1];
      if (id && s.keys.tenantOf(id)) throw new Error('FAISS_PROXY_ADMIN_KEY was revoked (or its id is taken by another key); give a new key');
      try {
        s.keys.issue(ADMIN_TENANT, 'admin', 'from FAISS_PROXY_ADMIN_KEY', config.adminKey);
      } catch (e) {
        // A cluster's nodes starting together with the same key: another one stored it first.
        if (!(e instanceof ServiceError && s.keys.verify(config.adminKey)?.role === 'admin')) throw e;
      }
    }
    return;
  }
  if (!s.keys.hasAdmin(ADMIN_TENANT)) {
    const issued = s.keys.issue(ADMIN_TENANT, 'admin', 'created on first start');
    log(`faiss-proxy: admin API key (shown once, store it now): ${issued.key}`);
  }
}

export interface RunningServer {
  url: string;
  server: http.Server;
  /** Stops accepting, finishes requests in flight, saves every index. */
  shutdown(): Promise<void>;
}

/** `hooks.io`: the storage I/O to run on (tests inject storage faults into a real server: test/support/soak-server.ts). */
export async function startServer(config: Config, log: (line: string) => void = console.log, hooks: Pick<ServiceHooks, 'io'> = {}): Promise<RunningServer> {
  // Searches run on the addon's search threads, never on the event loop, which is
  // the service's bottleneck under load (domain/search-scheduler.ts).
  setInlineSearchBudget(0);
  setMemoryLimits({ perCallBytes: config.maxRequestMemory });
  setSearchLanes({ threads: config.searchThreads });
  // Every replica builds its own HNSW graphs from the log: on one thread, the same graph everywhere (docs/cluster.md).
  if (config.cluster) setGraphAddThreads(1);
  const metrics = new Metrics({ maxTenants: config.metricsMaxTenants, maxIndexSeries: config.metricsMaxIndexSeries });
  const cluster = config.cluster ? await joinCluster(config) : undefined;
  const services = openServices(config, { observer: metrics.observer, onLogFlush: metrics.onLogFlush, io: hooks.io }, cluster);
  metrics.attach(services.indexes, services.health, services.memory);
  metrics.attachCollections(services.collections);
  if (cluster) {
    metrics.attachCluster(cluster.node, () => cluster.catalog.nodes().map((n) => ({ node: n.node, ageSeconds: Math.max(0, (Date.now() - n.at) / 1000), lag: n.lag })));
    metrics.attachShards(() => cluster.catalog.liveNodes(), () => services.indexes.shardOwnership(), () => services.indexes.collectionShardOwnership());
    cluster.heartbeat(() => services.indexes.replicaLag() + services.collections.replicaLag());
  }
  const activity = new Activity();
  activity.start();
  const logger = createLogger(config.logLevel);
  ensureAdmin(services, config, log);
  let ready = false;
  const version = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8')).version as string;
  // Ready: started, not stopping, and storage takes writes (a probe heals it after a fault).
  const isReady = async () => ready && (await services.health.healthy(() => services.catalog.checkFile()));
  const handle = createApp({ config, ...services, isReady, version, observability: { logger, metrics, activity }, ...(cluster && { cluster: { node: cluster.node, nodes: () => cluster.catalog.nodes() } }) });

  let inFlight = 0;
  let stopping = false;
  const server = http.createServer({
    ...expressObjects(handle),
    headersTimeout: config.headersTimeoutMs,
    requestTimeout: config.requestTimeoutMs,
    // How often Node looks for requests past those timeouts: often enough that a
    // short timeout (tests) is kept to within a quarter of itself.
    connectionsCheckingInterval: Math.max(50, Math.min(30_000, Math.floor(config.headersTimeoutMs / 4))),
  }, (req, res) => {
    if (stopping) {
      res.writeHead(503, { 'Content-Type': 'application/json', Connection: 'close' });
      res.end(JSON.stringify({ error: { code: 'ERR_SHUTTING_DOWN', message: 'The service is shutting down' } }));
      return;
    }
    inFlight++;
    res.once('close', () => inFlight--);
    handle(req, res);
  });
  // requestTimeout bounds receiving a request, not answering it: a long training
  // whose body has arrived runs to the end. A client that sends its headers or
  // body too slowly, or never ends a chunked body, gets a 408 (clientError.ts).
  server.maxConnections = config.maxConnections;
  server.keepAliveTimeout = 5_000;
  server.on('clientError', answerClientError);
  // An answer the client stops reading is abandoned after as long (client-error.ts).
  server.timeout = config.requestTimeoutMs;
  server.on('timeout', abandonStalledAnswer);

  await services.indexes.open();
  await services.collections.open();
  cluster?.follow(async () => {
    // A tenant deleted through another node: this node's leases and queued changes of its usage record go (cluster/quota-ledger.ts).
    cluster.usage.followCatalog((tenant) => cluster.catalog.getTenant(tenant) !== undefined);
    await services.indexes.followCatalog();
    await services.collections.followCatalog();
  });
  // Sharded indexes: this node answers for the shards it owns, and every second the
  // shards are placed over the live nodes (a node joining or gone moves some).
  let balancing: NodeJS.Timeout | undefined;
  if (cluster) {
    cluster.shards.serve((m) => services.indexes.handleShardRequest(m));
    let running = false;
    balancing = setInterval(() => {
      if (running) return;
      running = true;
      services.indexes
        .balanceShards()
        .catch((e) => console.error('faiss-proxy: placing shards failed:', e))
        .finally(() => (running = false));
    }, HEARTBEAT_MS);
    balancing.unref();
  }
  // What dead or outraced nodes left in JetStream, named by no catalog record (cluster/collector.ts).
  let stopCollecting: (() => void) | undefined;
  if (cluster && config.clusterGcIntervalMs > 0) {
    const collected = metrics.attachCollector();
    stopCollecting = collectEvery(await LeakCollector.open(cluster.nc), config.clusterGcIntervalMs, config.clusterGcGraceMs, (l) => collected(l.kind));
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  ready = true;
  const pidFile = path.join(config.dataDir, 'server.pid');
  fs.writeFileSync(pidFile, String(process.pid));

  let stopped: Promise<void> | undefined;
  const shutdown = (): Promise<void> =>
    (stopped ??= (async () => {
      ready = false;
      stopping = true;
      clearInterval(balancing);
      stopCollecting?.();
      cluster?.shards.close(); // the shards' next owners take their requests
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const deadline = Date.now() + config.shutdownGraceMs;
      while (inFlight > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      server.closeAllConnections();
      await closed;
      try {
        await services.indexes.close(); // rejects if a final snapshot failed: the exit status tells
      } finally {
        services.catalog.close();
        await cluster?.close();
        activity.stop();
        fs.rmSync(pidFile, { force: true });
      }
    })());

  return { url, server, shutdown };
}
