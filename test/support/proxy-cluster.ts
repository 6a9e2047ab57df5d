// faiss-proxy nodes of one cluster (serve --cluster ... --node ...) over a
// test/support/nats-cluster.ts cluster: each its own process, port and data
// directory, all with the same admin key.
import * as fs from 'node:fs';
import { newKey, startServer, type ServerProcess, type StartOptions } from './server';
import type { NatsCluster } from './nats-cluster';

export interface ProxyNode extends ServerProcess {
  node: string;
}

export async function startProxyNode(nats: NatsCluster, node: string, adminKey: string, opts: StartOptions = {}): Promise<ProxyNode> {
  const s = await startServer({ ...opts, adminKey, args: ['--cluster', nats.urls, '--node', node, ...(opts.args ?? [])] });
  return { ...s, node };
}

/** `names` nodes, started one after the other (the first makes the catalog's admin tenant and key). */
export async function startProxyCluster(nats: NatsCluster, names: string[] = ['A', 'B', 'C'], opts: StartOptions = {}): Promise<ProxyNode[]> {
  const adminKey = opts.adminKey ?? newKey();
  const nodes: ProxyNode[] = [];
  try {
    for (const name of names) nodes.push(await startProxyNode(nats, name, adminKey, opts));
  } catch (e) {
    await stopProxies(nodes);
    throw e;
  }
  return nodes;
}

export async function stopProxies(nodes: ProxyNode[]): Promise<void> {
  await Promise.all(nodes.map((n) => n.stop('SIGKILL')));
  for (const n of nodes) fs.rmSync(n.dataDir, { recursive: true, force: true });
}

/** Polls `f` until it is true, within `ms` (a cluster's change seen through a node: placement, catalog). */
export async function until(what: string, f: () => Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await f())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
