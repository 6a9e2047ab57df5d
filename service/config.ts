// Service configuration: command-line flags, then FAISS_PROXY_* environment
// variables, then defaults. The embedded defaults need nothing else. OPTIONS is
// the one table of the service's options: each row gives a flag, its variable,
// its group, unit and default in the help, and its validation.
import { Command, InvalidArgumentError, Option as CommanderOption, CommanderError } from 'commander';
import * as fs from 'node:fs';
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
  /** Replicas of the cluster's KV catalog, streams and snapshots (JetStream allows 1, 3 or 5). */
  clusterReplicas: number;
  /** How often this node runs the cluster's leak collector (cluster/collector.ts), in ms; 0: never. */
  clusterGcIntervalMs: number;
  /** What the collector deletes is older than this (ms); a new stream is named in the catalog within half of it, or not at all. */
  clusterGcGraceMs: number;
  /** CUDA devices GPU indexes may live on (--gpu 0,1; docs/gpu.md); empty: every index on the CPU. */
  gpu: number[];
  /** Bytes of indexes kept on each GPU before its least recently used are evicted; 0: no limit. */
  gpuMemory: number;
}

/**
 * The help's groups of options, in the order the help lists them. A new group is
 * a new line here; its options list under its heading.
 */
const GROUPS = {
  network: 'Network options:',
  storage: 'Storage options:',
  memory: 'Memory options:',
  search: 'Search options:',
  security: 'Security options:',
  observability: 'Observability options:',
  tenants: 'Quotas of new tenants (existing ones keep theirs):',
  cluster: 'Cluster options (docs/cluster.md):',
  gpu: 'GPU options (the CUDA build: docs/gpu.md):',
} as const;
export type OptionGroup = keyof typeof GROUPS;

type ConfigKey = keyof Config | `defaultQuotas.${keyof Quotas}`;

/** One option of the service: a flag, its variable, and what the help says of it. */
export interface ServeOption {
  flag: string;
  env: string;
  group: OptionGroup;
  /** What it does, one or two sentences. */
  help: string;
  /** What the value is measured in or what kind it is: the help's `<placeholder>` (bytes, ms, count, ...). */
  unit: string;
  /** The value when neither flag nor variable gives one (a function: computed when read); undefined: none. */
  default: unknown;
  /** How the help shows the default, where the value alone would not say it. */
  defaultHelp?: string;
  /** Validates and converts a given value; throws an Error that says what the option accepts. */
  parse: (v: string) => unknown;
  key: ConfigKey;
}

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new Error(`Expected a non-negative integer for ${name} but received ${JSON.stringify(v)}`);
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
  if (v.trim() === '' || !(n > 0 && n <= 1)) throw new Error(`Expected a fraction in (0, 1] for the rebuild threshold but received ${JSON.stringify(v)}`);
  return n;
};

const bool = (name: string) => (v: string): boolean => {
  if (!['true', 'false', '1', '0'].includes(v)) throw new Error(`Expected true or false for ${name} but received ${JSON.stringify(v)}`);
  return v === 'true' || v === '1';
};

const oneOf = (name: string, values: readonly string[]) => (v: string): string => {
  if (!values.includes(v)) throw new Error(`Expected one of ${values.join(', ')} for ${name} but received ${JSON.stringify(v)}`);
  return v;
};

const text = (name: string) => (v: string): string => {
  if (v === '') throw new Error(`Expected a non-empty ${name}`);
  return v;
};

/** CUDA device numbers, comma-separated ("0" or "0,1"), each once. */
const gpuDevices = (v: string): number[] => {
  const devices = v.split(',').map((s) => s.trim());
  const bad = devices.find((s) => !/^\d{1,4}$/.test(s));
  if (bad !== undefined) throw new Error(`Expected CUDA device numbers separated by commas (0 or 0,1) for gpu but received ${JSON.stringify(v)}`);
  const out = devices.map(Number);
  if (new Set(out).size !== out.length) throw new Error(`Expected each GPU once for gpu but received ${JSON.stringify(v)}`);
  return out;
};

/** pino's levels; any other would stop the service when its logger is made. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const MiB = 1024 * 1024;

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

/** The collector's grace period: at least 1 s (what is safe: docs/cluster.md). */
const gcGrace = (v: string): number => {
  const n = int('cluster gc grace')(v);
  if (n < 1_000) throw new Error(`Expected at least 1000 ms for the cluster gc grace but received ${JSON.stringify(v)}`);
  return n;
};

const replicas = (v: string): number => {
  if (!['1', '3', '5'].includes(v)) throw new Error(`Expected 1, 3 or 5 cluster replicas but received ${JSON.stringify(v)}`);
  return Number(v);
};

/** This machine's host name as a node name. */
const hostNode = (): string => os.hostname().replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64) || 'node';

/**
 * The default --max-tenant-memory, in largest requests: enough for a tenant's
 * ordinary concurrency of heavy reads, and a quarter of what one tenant could
 * otherwise take with a few connections.
 */
const TENANT_MEMORY_PER_REQUEST = 4;

/**
 * A secret kept in a file (a container's /run/secrets/..., a systemd credential):
 * its content without the trailing newline an editor or `echo` leaves.
 */
const secretFile = (name: string) => (v: string): string => {
  let content: string;
  try {
    content = fs.readFileSync(text(`${name} file`)(v), 'utf8');
  } catch (e) {
    throw new Error(`Cannot read the ${name} file ${JSON.stringify(v)}: ${(e as Error).message}`);
  }
  const secret = content.replace(/\r?\n$/, '');
  if (secret === '' || /\s/.test(secret)) throw new Error(`The ${name} file ${JSON.stringify(v)} must hold one key and nothing else`);
  return secret;
};

export const OPTIONS: readonly ServeOption[] = [
  { flag: '--host', env: 'FAISS_PROXY_HOST', group: 'network', unit: 'address', default: '127.0.0.1', parse: text('host'), key: 'host',
    help: 'Interface to listen on (0.0.0.0 for all).' },
  { flag: '--port', env: 'FAISS_PROXY_PORT', group: 'network', unit: 'port', default: 8080, parse: upTo('port', 65_535), key: 'port',
    help: 'TCP port to listen on (0: any free port).' },
  { flag: '--data-dir', env: 'FAISS_PROXY_DATA_DIR', group: 'storage', unit: 'path', default: () => path.resolve('data'), defaultHelp: './data', parse: (v) => path.resolve(text('data directory')(v)), key: 'dataDir',
    help: 'Where the catalog, index snapshots and logs live.' },
  { flag: '--admin-key', env: 'FAISS_PROXY_ADMIN_KEY', group: 'security', unit: 'key', default: undefined, defaultHelp: 'none: one is generated and printed on first start', parse: text('admin key'), key: 'adminKey',
    help: 'An admin key to install on first start instead of generating one.' },
  { flag: '--admin-key-file', env: 'FAISS_PROXY_ADMIN_KEY_FILE', group: 'security', unit: 'file', default: undefined, defaultHelp: 'none', parse: secretFile('admin key'), key: 'adminKey',
    help: 'A file holding that admin key (a container secret, a systemd credential); its trailing newline is dropped. Give the key one way, not both.' },
  { flag: '--body-limit', env: 'FAISS_PROXY_BODY_LIMIT', group: 'network', unit: 'bytes', default: 64 * MiB, parse: int('body limit'), key: 'bodyLimit',
    help: 'Largest request body accepted.' },
  { flag: '--headers-timeout-ms', env: 'FAISS_PROXY_HEADERS_TIMEOUT_MS', group: 'network', unit: 'ms', default: 20_000, parse: positive('headers timeout'), key: 'headersTimeoutMs',
    help: "Longest time a client may take to send a request's headers (then 408 and the connection closes)." },
  { flag: '--request-timeout-ms', env: 'FAISS_PROXY_REQUEST_TIMEOUT_MS', group: 'network', unit: 'ms', default: 300_000, parse: positive('request timeout'), key: 'requestTimeoutMs',
    help: 'Longest time a client may take to send a whole request, and longest an answer may make no progress; not the time to answer. At least the headers timeout.' },
  { flag: '--max-connections', env: 'FAISS_PROXY_MAX_CONNECTIONS', group: 'network', unit: 'count', default: 1024, parse: positive('max connections'), key: 'maxConnections',
    help: 'Most open client connections; more are closed as they arrive.' },
  { flag: '--max-k', env: 'FAISS_PROXY_MAX_K', group: 'search', unit: 'count', default: 10_000, parse: upTo('max k', LIMITS.k.max), key: 'maxK',
    help: `Largest k a search may ask for (at most ${LIMITS.k.max}).` },
  { flag: '--max-batch', env: 'FAISS_PROXY_MAX_BATCH', group: 'search', unit: 'count', default: 10_000, parse: int('max batch'), key: 'maxBatch',
    help: 'Most query vectors in one search or range search request.' },
  { flag: '--snapshot-log-bytes', env: 'FAISS_PROXY_SNAPSHOT_LOG_BYTES', group: 'storage', unit: 'bytes', default: 256 * MiB, parse: int('snapshot log bytes'), key: 'snapshotLogBytes',
    help: "Snapshot an index once its write-ahead log holds this many bytes." },
  { flag: '--max-memory', env: 'FAISS_PROXY_MAX_MEMORY', group: 'memory', unit: 'bytes', default: 0, defaultHelp: '0 (no limit)', parse: int('max memory'), key: 'maxMemory',
    help: 'Bytes of indexes kept in memory; beyond it the least recently used are evicted (0: no limit).' },
  { flag: '--max-request-memory', env: 'FAISS_PROXY_MAX_REQUEST_MEMORY', group: 'memory', unit: 'bytes', default: 256 * MiB, parse: requestMemory, key: 'maxRequestMemory',
    help: `Bytes one request may make the server allocate (results, buffers, tables), ${LIMITS.perCallBytes.min} to ${LIMITS.perCallBytes.max}; beyond it 422 ERR_RESOURCE_LIMIT.` },
  { flag: '--max-tenant-memory', env: 'FAISS_PROXY_MAX_TENANT_MEMORY', group: 'memory', unit: 'bytes', default: TENANT_MEMORY_PER_REQUEST * 256 * MiB, defaultHelp: `${TENANT_MEMORY_PER_REQUEST} × --max-request-memory`, parse: int('max tenant memory'), key: 'maxTenantMemory',
    help: "Bytes one tenant's requests in flight may hold together, unless its quota says otherwise; at least --max-request-memory. Beyond it 429 ERR_TENANT_MEMORY." },
  { flag: '--rebuild-threshold', env: 'FAISS_PROXY_REBUILD_THRESHOLD', group: 'storage', unit: 'fraction', default: 0.1, parse: fraction, key: 'rebuildThreshold',
    help: 'Rebuild an index that cannot remove once its removed vectors pass this fraction of it, in (0, 1].' },
  { flag: '--max-payload-bytes', env: 'FAISS_PROXY_MAX_PAYLOAD_BYTES', group: 'storage', unit: 'bytes', default: 65_536, parse: positive('max payload bytes'), key: 'maxPayloadBytes',
    help: "Most bytes of one point's payload (its JSON) in a collection; beyond it 413 ERR_PAYLOAD_TOO_LARGE." },
  { flag: '--fsync', env: 'FAISS_PROXY_FSYNC', group: 'storage', unit: 'true|false', default: true, parse: bool('fsync'), key: 'fsync',
    help: 'fdatasync the log before acknowledging a write; turn off for benchmarks only.' },
  { flag: '--batching', env: 'FAISS_PROXY_BATCHING', group: 'search', unit: 'true|false', default: true, parse: bool('batching'), key: 'batching',
    help: 'Answer concurrent searches of an index that gains from it (a flat index) with one FAISS call; false only to measure what it buys.' },
  { flag: '--batch-max-wait-ms', env: 'FAISS_PROXY_BATCH_MAX_WAIT_MS', group: 'search', unit: 'ms', default: 10, parse: upTo('batch max wait', 60_000), key: 'batchMaxWaitMs',
    help: 'Under load, the longest a search waits for others to gather between batches (0: none; at most 60000).' },
  { flag: '--search-threads', env: 'FAISS_PROXY_SEARCH_THREADS', group: 'search', unit: 'count', default: () => os.availableParallelism(), defaultHelp: `one per core (${os.availableParallelism()} here)`, parse: upTo('search threads', 1024), key: 'searchThreads',
    help: 'Threads that run searches (0: the libuv pool; at most 1024).' },
  { flag: '--metrics-token', env: 'FAISS_PROXY_METRICS_TOKEN', group: 'security', unit: 'token', default: undefined, defaultHelp: 'none: /metrics needs an admin key', parse: text('metrics token'), key: 'metricsToken',
    help: 'A token that lets a Prometheus scraper read /metrics (Authorization: Bearer <token>) without an admin key.' },
  { flag: '--metrics-max-tenants', env: 'FAISS_PROXY_METRICS_MAX_TENANTS', group: 'observability', unit: 'count', default: 100, parse: int('metrics max tenants'), key: 'metricsMaxTenants',
    help: 'Distinct tenant label values in metrics; the others count as "other".' },
  { flag: '--metrics-max-index-series', env: 'FAISS_PROXY_METRICS_MAX_INDEX_SERIES', group: 'observability', unit: 'count', default: 500, parse: int('metrics max index series'), key: 'metricsMaxIndexSeries',
    help: 'Per-index metric series (the largest indexes).' },
  { flag: '--log-level', env: 'FAISS_PROXY_LOG_LEVEL', group: 'observability', unit: 'level', default: 'info', parse: oneOf('log level', LOG_LEVELS), key: 'logLevel',
    help: `Log level: ${LOG_LEVELS.join(', ')} (silent turns request logs off).` },
  { flag: '--max-indexes', env: 'FAISS_PROXY_MAX_INDEXES', group: 'tenants', unit: 'count', default: 100, parse: int('max indexes'), key: 'defaultQuotas.maxIndexes',
    help: 'Indexes a new tenant may create.' },
  { flag: '--max-vectors', env: 'FAISS_PROXY_MAX_VECTORS', group: 'tenants', unit: 'count', default: 10_000_000, parse: int('max vectors'), key: 'defaultQuotas.maxVectors',
    help: "Vectors a new tenant may hold, all its indexes together." },
  { flag: '--max-bytes', env: 'FAISS_PROXY_MAX_BYTES', group: 'tenants', unit: 'bytes', default: 8 * 1024 ** 3, parse: int('max bytes'), key: 'defaultQuotas.maxBytes',
    help: "Bytes of indexes a new tenant may hold, all its indexes together." },
  { flag: '--cluster', env: 'FAISS_PROXY_CLUSTER', group: 'cluster', unit: 'urls', default: undefined, defaultHelp: 'none: a single node', parse: natsServers, key: 'cluster',
    help: 'Join the cluster of these NATS JetStream servers (nats://host:port, comma-separated): the catalog, writes and snapshots are replicated there.' },
  { flag: '--node', env: 'FAISS_PROXY_NODE', group: 'cluster', unit: 'name', default: hostNode, defaultHelp: 'the host name', parse: nodeName, key: 'node',
    help: "This node's name in the cluster, unique among its nodes (1-64 letters, digits, - or _)." },
  { flag: '--cluster-replicas', env: 'FAISS_PROXY_CLUSTER_REPLICAS', group: 'cluster', unit: 'replicas', default: 3, parse: replicas, key: 'clusterReplicas',
    help: 'Replicas JetStream keeps of the catalog, each stream and the snapshots: 1, 3 or 5 (at most the number of NATS servers).' },
  { flag: '--cluster-gc-interval-ms', env: 'FAISS_PROXY_CLUSTER_GC_INTERVAL_MS', group: 'cluster', unit: 'ms', default: 300_000, defaultHelp: '300000 (5 min)', parse: int('cluster gc interval'), key: 'clusterGcIntervalMs',
    help: "How often this node deletes the streams, snapshots and catalog keys no catalog record names (a leak collector; 0: never, run faiss-proxy cluster gc instead)." },
  { flag: '--cluster-gc-grace-ms', env: 'FAISS_PROXY_CLUSTER_GC_GRACE_MS', group: 'cluster', unit: 'ms', default: 900_000, defaultHelp: '900000 (15 min)', parse: gcGrace, key: 'clusterGcGraceMs',
    help: 'The collector deletes only what is older than this; a create or import names its new stream in the catalog within half of it, or fails (503). The same on every node; at least 1000 (under a minute only for tests: half of it must outlast a catalog change, 10 s).' },
  { flag: '--gpu', env: 'FAISS_PROXY_GPU', group: 'gpu', unit: 'devices', default: () => [], defaultHelp: 'none: every index on the CPU', parse: gpuDevices, key: 'gpu',
    help: 'CUDA devices indexes created with "device": "gpu" or "gpu:<n>" live on, comma-separated (0 or 0,1); needs the addon built with CUDA (npm run build:native-gpu).' },
  { flag: '--gpu-memory', env: 'FAISS_PROXY_GPU_MEMORY', group: 'gpu', unit: 'bytes', default: 0, defaultHelp: '0 (no limit)', parse: int('gpu memory'), key: 'gpuMemory',
    help: "Bytes of indexes kept on each GPU; beyond it that GPU's least recently used are evicted, as --max-memory does (0: no limit)." },
];

/** Configuration that no option sets. */
const FIXED = {
  /** How long shutdown waits for requests in flight, in ms. */
  shutdownGraceMs: 30_000,
  defaultQuotas: { maxTenantMemory: null },
};

function assign(config: Config, key: ConfigKey, value: unknown): void {
  if (key.startsWith('defaultQuotas.')) {
    (config.defaultQuotas as unknown as Record<string, unknown>)[key.slice('defaultQuotas.'.length)] = value;
  } else {
    (config as unknown as Record<string, unknown>)[key] = value;
  }
}

const defaultOf = (o: ServeOption): unknown => (typeof o.default === 'function' ? (o.default as () => unknown)() : o.default);

export function defaults(): Config {
  const config = { ...FIXED, defaultQuotas: { ...FIXED.defaultQuotas } } as unknown as Config;
  for (const o of OPTIONS) if (defaultOf(o) !== undefined) assign(config, o.key, defaultOf(o));
  return config;
}

const MEASURES: [number, string][] = [[1024 ** 3, 'GiB'], [MiB, 'MiB'], [1024, 'KiB']];

/** A default as the help shows it: with its unit, bytes also in KiB/MiB/GiB. */
function shownDefault(o: ServeOption): string {
  if (o.defaultHelp !== undefined) return o.defaultHelp;
  const v = defaultOf(o);
  if (o.unit === 'bytes' && typeof v === 'number' && v > 0) {
    const [size, name] = MEASURES.find(([size]) => v % size === 0) ?? [1, ''];
    return size === 1 ? `${v} bytes` : `${v} bytes = ${v / size} ${name}`;
  }
  if (o.unit === 'ms') return `${v} ms`;
  return String(v);
}

/** The commander name of an option's value (`--data-dir` → dataDir). */
const attribute = (o: ServeOption): string => new CommanderOption(o.flag).attributeName();

/**
 * Adds the options of the given groups (all by default) to a command, each
 * under its group's heading with its unit, default and variable in the help.
 * Its values are read back with configFrom.
 */
export function addServeOptions(cmd: Command, groups: readonly OptionGroup[] = Object.keys(GROUPS) as OptionGroup[]): Command {
  for (const group of Object.keys(GROUPS) as OptionGroup[]) {
    if (!groups.includes(group)) continue;
    for (const o of OPTIONS.filter((x) => x.group === group)) {
      const option = new CommanderOption(`${o.flag} <${o.unit}>`, `${o.help} (default: ${shownDefault(o)}; env ${o.env})`)
        .argParser((v: string) => {
          try {
            return o.parse(v);
          } catch (e) {
            throw new InvalidArgumentError(e instanceof Error ? e.message : String(e));
          }
        })
        .helpGroup(GROUPS[group]);
      cmd.addOption(option);
    }
  }
  return cmd;
}

/**
 * The configuration of a command that addServeOptions gave its options and
 * commander has parsed: its flags win over the environment, which wins over
 * the defaults; an empty variable counts as unset.
 */
export function configFrom(cmd: Command, env: NodeJS.ProcessEnv = process.env): Config {
  const config = defaults();
  const flags = cmd.opts();
  const given = new Set<ConfigKey>();
  // Options that set one value two ways (--admin-key, --admin-key-file): one of them.
  const givenBy = new Map<ConfigKey, ServeOption>();
  for (const o of OPTIONS) {
    const flag = flags[attribute(o)];
    const other = givenBy.get(o.key);
    if (other && (flag !== undefined || (env[o.env] !== undefined && env[o.env] !== ''))) {
      throw new Error(`${other.flag} (${other.env}) and ${o.flag} (${o.env}) both give the ${o.key}: give one`);
    }
    if (flag !== undefined) {
      assign(config, o.key, flag);
    } else if (env[o.env] !== undefined && env[o.env] !== '') {
      try {
        assign(config, o.key, o.parse(env[o.env]!));
      } catch (e) {
        throw new Error(`The environment variable ${o.env} (the option ${o.flag}) is invalid: ${e instanceof Error ? e.message : String(e)}`);
      }
    } else {
      continue;
    }
    givenBy.set(o.key, o);
    given.add(o.key);
  }
  if (!given.has('maxTenantMemory')) config.maxTenantMemory = TENANT_MEMORY_PER_REQUEST * config.maxRequestMemory;
  if (config.maxTenantMemory < config.maxRequestMemory) {
    throw new Error(`The max tenant memory (--max-tenant-memory, ${config.maxTenantMemory} bytes) cannot be less than the max request memory (--max-request-memory, ${config.maxRequestMemory} bytes): one request could fill it`);
  }
  // Every replica of a cluster holds the same index (docs/cluster.md): a GPU's FAISS
  // trains and adds with other float sums than a CPU replica's.
  if (config.cluster && config.gpu.length > 0) {
    throw new Error('--gpu (FAISS_PROXY_GPU) cannot be used with --cluster (FAISS_PROXY_CLUSTER): a GPU index would differ from its replicas on the CPU');
  }
  if (config.headersTimeoutMs > config.requestTimeoutMs) {
    throw new Error(`The headers timeout (--headers-timeout-ms, ${config.headersTimeoutMs} ms) cannot be longer than the request timeout (--request-timeout-ms, ${config.requestTimeoutMs} ms)`);
  }
  return config;
}

/**
 * The configuration `serve` would run with given these arguments (flags only)
 * and environment; a wrong flag or value throws an Error that names it.
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): Config {
  const cmd = addServeOptions(new Command('serve'))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {}, outputError: () => {} });
  try {
    cmd.parse(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) throw new Error(e.message.replace(/^error: /, ''));
    throw e;
  }
  return configFrom(cmd, env);
}
