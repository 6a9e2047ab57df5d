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
  /** Tells the catalog every HEARTBEAT_MS that this node is up, with its lag (`lag()`). */
  heartbeat(lag: () => number): void;
  /** Runs `sync` after each batch of catalog changes other nodes made (one run at a time). */
  follow(sync: () => Promise<void>): void;
  close(): Promise<void>;
}

/** Connects to the cluster's NATS servers (retrying while none answers, up to `waitMs`) and mirrors its catalog. */
export async function joinCluster(config: Config, waitMs = 60_000): Promise<Cluster> {
  const servers = config.cluster!;
  const nc = await connect({
    servers,
    name: `faiss-proxy-${config.node}`,
    // A cluster that is still starting: try for a while (systemd starts the nodes in any order).
    waitOnFirstConnect: true,
    timeout: waitMs,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
  });
  try {
    const catalog = await KvCatalog.open(nc, servers, config.node, config.clusterReplicas);
    const replication = await JetStreamLog.open(nc, config.clusterReplicas);
    const kv = await new Kvm(nc).open(CATALOG_BUCKET);
    const startedAt = Date.now();
    let beating: NodeJS.Timeout | undefined;
    const shards = new ShardRpc(nc, config.node, catalog);
    return {
      node: config.node,
      nc,
      catalog,
      replication,
      replicas: config.clusterReplicas,
      shards,
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
