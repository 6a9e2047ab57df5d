// Service configuration: command-line flags, then FAISS_PROXY_* environment
// variables, then defaults. The embedded defaults need nothing else.
import * as os from 'node:os';
import * as path from 'node:path';
import { LIMITS } from '../lib/limits';
import type { Quotas } from './storage/catalog';

export interface Config {
  host: string;
  port: number;
  dataDir: string;
  /** Admin key to install on first start instead of generating one. */
  adminKey?: string;
  /** Largest request body accepted, in bytes. */
  bodyLimit: number;
  /** Longest time a client may take to send a request's headers, in ms. */
  headersTimeoutMs: number;
  /**
   * Longest time a client may take to send a whole request (headers and body),
   * in ms. Only the receiving: a long training after its body arrived is not cut.
   * Also how long an answer may make no progress (the client stopped reading it).
   */
  requestTimeoutMs: number;
  /** Most open client connections; more are closed as they arrive. */
  maxConnections: number;
  /** Largest k a search may ask for. */
  maxK: number;
  /** Most query vectors in one search request. */
  maxBatch: number;
  /** Snapshot an index once its write-ahead log holds this many bytes. */
  snapshotLogBytes: number;
  /** Bytes of indexes kept in memory; the least recently used beyond it are evicted (0: no limit). */
  maxMemory: number;
  /**
   * Bytes one request may make the server allocate for a search's or range
   * search's results and buffers, or an index's tables (lib setMemoryLimits
   * perCallBytes), and for what the service builds to answer (a JSON answer, a
   * reconstruct's rows: http/answer-size.ts); beyond it the request is refused
   * with 422 ERR_RESOURCE_LIMIT.
   */
  maxRequestMemory: number;
  /**
   * Bytes one tenant's requests in flight may hold together (domain/memory-budget.ts),
   * unless the tenant's quota maxTenantMemory says otherwise; past it, 429
   * ERR_TENANT_MEMORY. At least maxRequestMemory; 4 times it unless given.
   */
  maxTenantMemory: number;
  /** Rebuild an index that cannot remove once deleted ids pass this fraction of it. */
  rebuildThreshold: number;
  /** Bytes of one point's payload (its JSON) in a collection; past it, 413 ERR_PAYLOAD_TOO_LARGE. */
  maxPayloadBytes: number;
  /** fdatasync the log before acknowledging a write. Only benchmarks turn this off. */
  fsync: boolean;
  /**
   * Whether concurrent searches of an index that gains from it (a flat index) are
   * answered by one FAISS call (domain/search-scheduler.ts). Only benchmarks turn
   * this off, to measure what it buys (npm run bench:batching).
   */
  batching: boolean;
  /** Between consecutive batches, the longest a search waits for others to gather, in ms. */
  batchMaxWaitMs: number;
  /**
   * Threads that run searches (the addon's search lanes, lib setSearchLanes), one
   * per core by default; 0 sends searches to the libuv pool. Not one fewer to leave
   * the event loop a core: a one-query flat search uses one thread, so one thread
   * on 2 cores halved flat throughput without batching (npm run bench:batching,
   * bench/RESULTS.md), while HNSW over HTTP gained nothing from it.
   */
  searchThreads: number;
  /** How long shutdown waits for requests in flight, in ms. */
  shutdownGraceMs: number;
  /** Quotas of a new tenant unless given. */
  defaultQuotas: Quotas;
  /** A token that lets a Prometheus scraper read /metrics without an admin key. */
  metricsToken?: string;
  /** Metric label caps: distinct tenants, per-index series. */
  metricsMaxTenants: number;
  metricsMaxIndexSeries: number;
  /** pino log level (info, warn, error, silent, ...). */
  logLevel: string;
  /**
   * The NATS servers of a cluster to join (serve --cluster, docs/cluster.md); absent:
   * a single node with its local log and SQLite catalog.
   */
  cluster?: string[];
  /** This node's name in the cluster (unique among its nodes); the host name unless given. */
  node: string;
  /** Replicas of the cluster's KV catalog and streams (JetStream allows 1, 3 or 5). */
  clusterReplicas: number;
}

interface Option {
  flag: string;
  env: string;
  parse: (v: string) => unknown;
  key: keyof Config | `defaultQuotas.${keyof Quotas}`;
}

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`Expected a non-negative integer for ${name} but received ${JSON.stringify(v)}`);
  return n;
};

/** A limit of 0 would refuse everything (or, for Node's timeouts, mean none): at least 1. */
const positive = (name: string) => (v: string): number => {
  const n = int(name)(v);
  if (n < 1) throw new Error(`Expected a positive integer for ${name} but received ${JSON.stringify(v)}`);
  return n;
};

const upTo = (name: string, max: number) => (v: string): number => {
  const n = int(name)(v);
  if (n > max) throw new Error(`Expected at most ${max} for ${name} but received ${JSON.stringify(v)}`);
  return n;
};

const requestMemory = (v: string): number => {
  const n = int('max request memory')(v);
  const { min, max } = LIMITS.perCallBytes; // the library's per-call limit, which it sets
  if (n < min || n > max) throw new Error(`Expected between ${min} and ${max} bytes for the max request memory but received ${JSON.stringify(v)}`);
  return n;
};

const fraction = (v: string): number => {
  const n = Number(v);
  if (!(n > 0 && n <= 1)) throw new Error(`Expected a fraction in (0, 1] for the rebuild threshold but received ${JSON.stringify(v)}`);
  return n;
};

const bool = (name: string) => (v: string): boolean => {
  if (!['true', 'false', '1', '0'].includes(v)) throw new Error(`Expected true or false for ${name} but received ${JSON.stringify(v)}`);
  return v === 'true' || v === '1';
};

/** A comma-separated list of nats:// URLs. */
const natsServers = (v: string): string[] => {
  const servers = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (servers.length === 0) throw new Error(`Expected nats://host:port[,nats://host:port...] for the cluster but received ${JSON.stringify(v)}`);
  for (const s of servers) {
    if (!/^(nats|tls):\/\/[^\s/]+:\d+$/.test(s)) throw new Error(`Expected nats://host:port for each cluster server but received ${JSON.stringify(s)}`);
  }
  return servers;
};

const nodeName = (v: string): string => {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(v)) throw new Error(`Expected a node name of 1 to 64 letters, digits, - or _ but received ${JSON.stringify(v)}`);
  return v;
};

const replicas = (v: string): number => {
  if (!['1', '3', '5'].includes(v)) throw new Error(`Expected 1, 3 or 5 cluster replicas but received ${JSON.stringify(v)}`);
  return Number(v);
};

const OPTIONS: Option[] = [
  { flag: '--host', env: 'FAISS_PROXY_HOST', parse: String, key: 'host' },
  { flag: '--port', env: 'FAISS_PROXY_PORT', parse: int('port'), key: 'port' },
  { flag: '--data-dir', env: 'FAISS_PROXY_DATA_DIR', parse: (v) => path.resolve(v), key: 'dataDir' },
  { flag: '--admin-key', env: 'FAISS_PROXY_ADMIN_KEY', parse: String, key: 'adminKey' },
  { flag: '--body-limit', env: 'FAISS_PROXY_BODY_LIMIT', parse: int('body limit'), key: 'bodyLimit' },
  { flag: '--headers-timeout-ms', env: 'FAISS_PROXY_HEADERS_TIMEOUT_MS', parse: positive('headers timeout'), key: 'headersTimeoutMs' },
  { flag: '--request-timeout-ms', env: 'FAISS_PROXY_REQUEST_TIMEOUT_MS', parse: positive('request timeout'), key: 'requestTimeoutMs' },
  { flag: '--max-connections', env: 'FAISS_PROXY_MAX_CONNECTIONS', parse: positive('max connections'), key: 'maxConnections' },
  { flag: '--max-k', env: 'FAISS_PROXY_MAX_K', parse: upTo('max k', LIMITS.k.max), key: 'maxK' },
  { flag: '--max-batch', env: 'FAISS_PROXY_MAX_BATCH', parse: int('max batch'), key: 'maxBatch' },
  { flag: '--snapshot-log-bytes', env: 'FAISS_PROXY_SNAPSHOT_LOG_BYTES', parse: int('snapshot log bytes'), key: 'snapshotLogBytes' },
  { flag: '--max-memory', env: 'FAISS_PROXY_MAX_MEMORY', parse: int('max memory'), key: 'maxMemory' },
  { flag: '--max-request-memory', env: 'FAISS_PROXY_MAX_REQUEST_MEMORY', parse: requestMemory, key: 'maxRequestMemory' },
  { flag: '--max-tenant-memory', env: 'FAISS_PROXY_MAX_TENANT_MEMORY', parse: int('max tenant memory'), key: 'maxTenantMemory' },
  { flag: '--rebuild-threshold', env: 'FAISS_PROXY_REBUILD_THRESHOLD', parse: fraction, key: 'rebuildThreshold' },
  { flag: '--max-payload-bytes', env: 'FAISS_PROXY_MAX_PAYLOAD_BYTES', parse: positive('max payload bytes'), key: 'maxPayloadBytes' },
  { flag: '--fsync', env: 'FAISS_PROXY_FSYNC', parse: bool('fsync'), key: 'fsync' },
  { flag: '--batching', env: 'FAISS_PROXY_BATCHING', parse: bool('batching'), key: 'batching' },
  { flag: '--batch-max-wait-ms', env: 'FAISS_PROXY_BATCH_MAX_WAIT_MS', parse: upTo('batch max wait', 60_000), key: 'batchMaxWaitMs' },
  { flag: '--search-threads', env: 'FAISS_PROXY_SEARCH_THREADS', parse: upTo('search threads', 1024), key: 'searchThreads' },
  { flag: '--metrics-token', env: 'FAISS_PROXY_METRICS_TOKEN', parse: String, key: 'metricsToken' },
  { flag: '--metrics-max-tenants', env: 'FAISS_PROXY_METRICS_MAX_TENANTS', parse: int('metrics max tenants'), key: 'metricsMaxTenants' },
  { flag: '--metrics-max-index-series', env: 'FAISS_PROXY_METRICS_MAX_INDEX_SERIES', parse: int('metrics max index series'), key: 'metricsMaxIndexSeries' },
  { flag: '--log-level', env: 'FAISS_PROXY_LOG_LEVEL', parse: String, key: 'logLevel' },
  { flag: '--max-indexes', env: 'FAISS_PROXY_MAX_INDEXES', parse: int('max indexes'), key: 'defaultQuotas.maxIndexes' },
  { flag: '--max-vectors', env: 'FAISS_PROXY_MAX_VECTORS', parse: int('max vectors'), key: 'defaultQuotas.maxVectors' },
  { flag: '--max-bytes', env: 'FAISS_PROXY_MAX_BYTES', parse: int('max bytes'), key: 'defaultQuotas.maxBytes' },
  { flag: '--cluster', env: 'FAISS_PROXY_CLUSTER', parse: natsServers, key: 'cluster' },
  { flag: '--node', env: 'FAISS_PROXY_NODE', parse: nodeName, key: 'node' },
  { flag: '--cluster-replicas', env: 'FAISS_PROXY_CLUSTER_REPLICAS', parse: replicas, key: 'clusterReplicas' },
];

/**
 * The default --max-tenant-memory, in largest requests: enough for a tenant's
 * ordinary concurrency of heavy reads, and a quarter of what one tenant could
 * otherwise take with a few connections.
 */
const TENANT_MEMORY_PER_REQUEST = 4;

export function defaults(): Config {
  return {
    host: '127.0.0.1',
    port: 8080,
    dataDir: path.resolve('data'),
    bodyLimit: 64 * 1024 * 1024,
    headersTimeoutMs: 20_000,
    requestTimeoutMs: 300_000,
    maxConnections: 1024,
    maxK: 10_000,
    maxBatch: 10_000,
    snapshotLogBytes: 256 * 1024 * 1024,
    maxMemory: 0,
    maxRequestMemory: 256 * 1024 * 1024,
    maxTenantMemory: TENANT_MEMORY_PER_REQUEST * 256 * 1024 * 1024,
    rebuildThreshold: 0.1,
    maxPayloadBytes: 65_536,
    fsync: true,
    batching: true,
    batchMaxWaitMs: 10,
    searchThreads: os.availableParallelism(),
    metricsMaxTenants: 100,
    metricsMaxIndexSeries: 500,
    logLevel: 'info',
    node: os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'node',
    clusterReplicas: 3,
    shutdownGraceMs: 30_000,
    defaultQuotas: { maxIndexes: 100, maxVectors: 10_000_000, maxBytes: 8 * 1024 ** 3, maxTenantMemory: null },
  };
}

function assign(config: Config, key: Option['key'], value: unknown): void {
  if (key.startsWith('defaultQuotas.')) {
    (config.defaultQuotas as unknown as Record<string, unknown>)[key.slice('defaultQuotas.'.length)] = value;
  } else {
    (config as unknown as Record<string, unknown>)[key] = value;
  }
}

/** Flags win over the environment, which wins over the defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaults();
  const given = new Set<Option['key']>();
  for (const o of OPTIONS) {
    if (env[o.env] === undefined || env[o.env] === '') continue;
    assign(config, o.key, o.parse(env[o.env]!));
    given.add(o.key);
  }
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i].split(/=(.*)/s, 2);
    const o = OPTIONS.find((x) => x.flag === flag);
    if (!o) throw new Error(`Unknown option ${flag}; options: ${OPTIONS.map((x) => x.flag).join(' ')}`);
    const value = inline ?? argv[++i];
    if (value === undefined) throw new Error(`${flag} needs a value`);
    assign(config, o.key, o.parse(value));
    given.add(o.key);
  }
  if (!given.has('maxTenantMemory')) config.maxTenantMemory = TENANT_MEMORY_PER_REQUEST * config.maxRequestMemory;
  if (config.maxTenantMemory < config.maxRequestMemory) {
    throw new Error(`The max tenant memory (${config.maxTenantMemory} bytes) cannot be less than the max request memory (${config.maxRequestMemory} bytes): one request could fill it`);
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new Error(`The headers timeout (${config.headersTimeoutMs} ms) cannot be longer than the request timeout (${config.requestTimeoutMs} ms)`);
  }
  return config;
}

export function usage(): string {
  return OPTIONS.map((o) => `  ${o.flag.padEnd(20)} (env ${o.env})`).join('\n');
}
