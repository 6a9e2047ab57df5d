// Joining a cluster (serve --cluster, docs/cluster.md): one NATS connection for
// this node, the KV catalog over it (kv-catalog.ts), and what the domain's
// durable objects replicate through (replicated-log.ts).
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../config';
import { Kvm } from '@nats-io/kv';
import { CATALOG_BUCKET, heartbeatKey, KvCatalog } from './kv-catalog';
import { JetStreamLog } from './replicated-log';
import { ShardRpc } from './shard-rpc';
import { StreamUsageLedger } from './quota-ledger';

/**
 * How often a node tells the catalog it is up (what the dashboard and
 * faiss_proxy_cluster_node_heartbeat_age_seconds show); its own heartbeat coming
 * back through its watch is also how it knows its catalog is fresh (kv-catalog.ts CATALOG_STALE_MS).
 */
export const HEARTBEAT_MS = 1_000;

export interface Cluster {
  node: string;
  nc: NatsConnection;
  catalog: KvCatalog;
  replication: JetStreamLog;
  replicas: number;
  /** Sharded indexes' placement and the requests nodes forward each other (shard-rpc.ts). */
  shards: ShardRpc;
  /** The tenants' usage every node checks quotas against (quota-ledger.ts). */
  usage: StreamUsageLedger;
  /** Tells the catalog every HEARTBEAT_MS that this node is up, with its lag (`lag()`). */
  heartbeat(lag: () => number): void;
  /** Runs `sync` after each batch of catalog changes other nodes made (one run at a time). */
  follow(sync: () => Promise<void>): void;
  close(): Promise<void>;
}

/**
 * How long one attempt to connect to one NATS server may take. Short: the client
 * tries its servers one attempt at a time, so an attempt that hangs (a server
 * dying or starting, a half-open route) holds up the reconnection to every
 * other server for that long; with the client's default (20 s, or a first
 * connection's whole wait) a cluster whose NATS servers all died came back
 * about a minute after they did (docs/cluster.md).
 */
export const CONNECT_ATTEMPT_MS = 2_000;
/** The wait between rounds of reconnection attempts (the NATS client's reconnectTimeWait). */
export const RECONNECT_WAIT_MS = 250;

/** Connects to the cluster's NATS servers (retrying while none answers, up to `waitMs`) and mirrors its catalog. */
export async function joinCluster(config: Config, waitMs = 60_000): Promise<Cluster> {
  const servers = config.cluster!;
  const connecting = connect({
    servers,
    name: `faiss-proxy-${config.node}`,
    // A cluster that is still starting: try until waitMs (systemd starts the nodes in any order).
    waitOnFirstConnect: true,
    timeout: CONNECT_ATTEMPT_MS,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT_MS,
  });
  let timer: NodeJS.Timeout | undefined;
  const nc = await Promise.race([
    connecting,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        // Given up: a connection made after all is closed at once.
        void connecting.then((late) => late.close(), () => undefined);
        reject(new Error(`No NATS server of the cluster (${servers.join(', ')}) answered within ${waitMs} ms`));
      }, waitMs);
    }),
  ]).finally(() => clearTimeout(timer));
  try {
    const catalog = await KvCatalog.open(nc, servers, config.node, config.clusterReplicas);
    const replication = await JetStreamLog.open(nc, config.clusterReplicas, config.clusterGcGraceMs);
    const kv = await new Kvm(nc).open(CATALOG_BUCKET);
    const startedAt = Date.now();
    let beating: NodeJS.Timeout | undefined;
    const shards = new ShardRpc(nc, config.node, catalog);
    const usage = await StreamUsageLedger.open(nc, config.node, config.clusterReplicas);
    return {
      node: config.node,
      nc,
      catalog,
      replication,
      replicas: config.clusterReplicas,
      shards,
      usage,
      heartbeat(lag) {
        const beat = () =>
          void kv.put(heartbeatKey(config.node), JSON.stringify({ node: config.node, at: Date.now(), startedAt, lag: lag() })).catch(() => undefined);
        beat();
        beating = setInterval(beat, HEARTBEAT_MS);
        beating.unref();
      },
      follow(sync) {
        let running: Promise<void> | undefined;
        let again = false;
        const run = (): void => {
          if (running) {
            again = true;
            return;
          }
          running = sync()
            .catch((e) => console.error('faiss-proxy: following the cluster catalog failed:', e))
            .finally(() => {
              running = undefined;
              if (again) {
                again = false;
                run();
              }
            });
        };
        catalog.onChange = () => {
          again = running !== undefined;
          if (!running) setImmediate(run);
        };
      },
      async close() {
        clearInterval(beating);
        shards.close();
        await kv.delete(heartbeatKey(config.node)).catch(() => undefined);
        catalog.close();
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (e) {
    await nc.close();
    throw e;
  }
}

/** A management command's own connection to the cluster, named `<node>-cli-<pid>` (never a node's); fails at once when no NATS server can be reached. */
export async function connectCommand(config: Config, waitMs = 10_000): Promise<{ nc: NatsConnection; name: string }> {
  const servers = config.cluster!;
  const name = `${config.node}-cli-${process.pid}`;
  try {
    const nc = await connect({ servers, name: `faiss-proxy-${name}`, timeout: Math.min(waitMs, CONNECT_ATTEMPT_MS), maxReconnectAttempts: 10, reconnectTimeWait: RECONNECT_WAIT_MS });
    return { nc, name };
  } catch (e) {
    throw new Error(`No NATS server of the cluster (${servers.join(', ')}) could be reached: ${(e as Error).message}`);
  }
}

/**
 * The cluster's catalog for one management command (faiss-proxy tenants / keys
 * --cluster): a connection of its own (named after this process, never a node's:
 * it sends no heartbeat), the KV catalog and the replicated log openServices
 * takes. Fails at once when no NATS server can be reached, within `waitMs` when
 * one does not answer.
 */
export async function openClusterCatalog(config: Config, waitMs = 10_000): Promise<Pick<Cluster, 'catalog' | 'replication'> & { close(): Promise<void> }> {
  const { nc, name } = await connectCommand(config, waitMs);
  const servers = config.cluster!;
  try {
    const catalog = await KvCatalog.open(nc, servers, name, config.clusterReplicas);
    const replication = await JetStreamLog.open(nc, config.clusterReplicas, config.clusterGcGraceMs);
    return {
      catalog,
      replication,
      async close() {
        catalog.close();
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (e) {
    await nc.close();
    throw e;
  }
}
