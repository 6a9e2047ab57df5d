// faiss-proxy nodes of one cluster (serve --cluster ... --node ...) over a
// test/support/nats-cluster.ts cluster: each its own process, port and data
// directory, all with the same admin key.
import * as fs from 'node:fs';
import { newKey, startServer, type ServerProcess, type StartOptions } from './server';
import type { NatsCluster } from './nats-cluster';

export interface ProxyNode extends ServerProcess {
  node: string;
}

/** Nodes started and not yet stopped. */
const running = new Set<ProxyNode>();

// A failing test prints the end of each running node's output (its errors and
// request log): in CI that is the only record of what a node was doing, e.g.
// which request never ended. Registered at the root, for every test of the run.
if (typeof afterEach === 'function') {
  afterEach(function () {
    if (this.currentTest?.state !== 'failed') return;
    for (const n of running) console.error(`--- node ${n.node} (${n.url}), the end of its output ---\n${n.output().slice(-4000)}`);
  });
}

export async function startProxyNode(nats: NatsCluster, node: string, adminKey: string, opts: StartOptions = {}): Promise<ProxyNode> {
  const s = await startServer({ ...opts, adminKey, args: ['--cluster', nats.urls, '--node', node, ...(opts.args ?? [])] });
  const started: ProxyNode = {
    ...s,
    node,
    stop: (signal) => {
      running.delete(started);
      return s.stop(signal);
    },
  };
  running.add(started);
  return started;
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
