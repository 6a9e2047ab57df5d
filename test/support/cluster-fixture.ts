// What most cluster tests (test/cluster) start before their tests and stop after
// them: a 3-server NATS cluster, faiss-proxy nodes on it, and a tenant with a key
// of each role.
import { startNatsCluster, type NatsCluster } from './nats-cluster';
import { startProxyCluster, stopProxies, type ProxyNode } from './proxy-cluster';
import { makeTenant, type StartOptions } from './server';

/** A tenant's keys, one of each role (makeTenant). */
export type TenantKeys = { admin: string; write: string; read: string };

/** A NATS cluster and the proxy nodes `names` on it (startProxyCluster); the NATS cluster is stopped again when a node does not start. */
export async function startCluster(names?: string[], opts?: StartOptions): Promise<{ nats: NatsCluster; nodes: ProxyNode[] }> {
  const nats = await startNatsCluster();
  try {
    return { nats, nodes: await startProxyCluster(nats, names, opts) };
  } catch (e) {
    await nats.stop();
    throw e;
  }
}

/** startCluster, and the tenant `acme` with a key of each role, made through the first node. */
export async function startClusterWithTenant(names?: string[], opts?: StartOptions): Promise<{ nats: NatsCluster; nodes: ProxyNode[]; keys: TenantKeys }> {
  const { nats, nodes } = await startCluster(names, opts);
  try {
    return { nats, nodes, keys: await makeTenant(nodes[0], 'acme') };
  } catch (e) {
    await stopCluster(nats, nodes);
    throw e;
  }
}

/** Stops the proxy nodes (SIGKILL; their data directories removed), then the NATS cluster: whatever a describe's before() and tests got to start. */
export async function stopCluster(nats: NatsCluster | undefined, nodes: ProxyNode[]): Promise<void> {
  await stopProxies(nodes);
  await nats?.stop();
}
