// Joining a cluster (serve --cluster, docs/cluster.md): one NATS connection for
// this node, the KV catalog over it (kv-catalog.ts), and what the domain's
// durable objects replicate through (replicated-log.ts).
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Config } from '../config';
import { KvCatalog } from './kv-catalog';
import { JetStreamLog } from './replicated-log';

export interface Cluster {
  node: string;
  nc: NatsConnection;
  catalog: KvCatalog;
  replication: JetStreamLog;
  replicas: number;
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
    return {
      node: config.node,
      nc,
      catalog,
      replication,
      replicas: config.clusterReplicas,
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
        catalog.close();
        await nc.drain().catch(() => nc.close());
      },
    };
  } catch (e) {
    await nc.close();
    throw e;
  }
}
