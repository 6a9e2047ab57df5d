// A 3-node nats-server cluster with JetStream on loopback, for the cluster tests
// (issue 19): random ports (ports.ts), a temporary store directory per server, every server
// bounded in time to start, and everything removed on stop() (also on the test
// process's exit: a failed test must not leave servers behind).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { unusedPort } from './ports';


export interface NatsNode {
  name: string;
  url: string;
  clientPort: number;
  clusterPort: number;
  proc: ChildProcess | undefined;
  output: () => string;
}

export interface NatsCluster {
  nodes: NatsNode[];
  /** The client URLs, comma-separated (what `serve --cluster` takes). */
  urls: string;
  /** SIGKILLs one server (its store stays: start() brings it back with it). */
  kill(i: number): Promise<void>;
  /** Starts a killed server again on its ports and store; `wait`: until its JetStream answers (needs a quorum of servers up). */
  restart(i: number, wait?: boolean): Promise<void>;
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const p of live) p.kill('SIGKILL');
});

function configOf(node: NatsNode, all: NatsNode[], dir: string): string {
  const routes = all.filter((n) => n !== node).map((n) => `nats-route://127.0.0.1:${n.clusterPort}`);
  return [
    `server_name: ${node.name}`,
    `listen: 127.0.0.1:${node.clientPort}`,
    `jetstream { store_dir: "${path.join(dir, node.name)}", max_memory_store: 256MB, max_file_store: 2GB }`,
    `cluster { name: fp-test, listen: 127.0.0.1:${node.clusterPort}, routes: [${routes.join(', ')}] }`,
  ].join('\n');
}

function spawnNode(node: NatsNode, conf: string): void {
  const proc = spawn('nats-server', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout!.on('data', (c) => (output += c));
  proc.stderr!.on('data', (c) => (output += c));
  live.add(proc);
  proc.once('exit', () => live.delete(proc));
  node.proc = proc;
  node.output = () => output;
}

/** Resolves once JetStream answers (a meta leader is elected) through `url`, within `ms`. */
export async function waitForJetStream(url: string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const nc = await connect({ servers: url, timeout: 1000, reconnect: false });
      try {
        const jsm = await jetstreamManager(nc, { timeout: 1000 });
        await jsm.getAccountInfo();
        return;
      } finally {
        await nc.close();
      }
    } catch (e) {
      last = e;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  throw new Error(`JetStream at ${url} did not become ready in ${ms} ms: ${String(last)}`);
}

/**
 * Resolves once a stream of `replicas` replicas can be placed through `url`:
 * JetStream answers as soon as a meta leader is elected, but it places an R3
 * stream only once every peer has joined the meta group ("no suitable peers for
 * placement" until then), which a loaded machine can take seconds to reach.
 */
async function waitForPlacement(url: string, replicas: number, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  const nc = await connect({ servers: url, timeout: 1000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 5000 });
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        await jsm.streams.add({ name: 'READY_PROBE', subjects: ['ready.probe'], num_replicas: replicas });
        await jsm.streams.delete('READY_PROBE');
        return;
      } catch (e) {
        last = e;
        await new Promise((r) => setTimeout(r, 200));
      }
    }
    throw new Error(`JetStream at ${url} could not place a stream of ${replicas} replicas in ${ms} ms: ${String(last)}`);
  } finally {
    await nc.close();
  }
}

// How often a cluster is started on new ports when one of its servers exits while it starts (another test's
// server took a port first: ports.ts).
const START_ATTEMPTS = 3;

export async function startNatsCluster(size = 3): Promise<NatsCluster> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(size);
    } catch (e) {
      if (!(e instanceof ServerExited) || attempt === START_ATTEMPTS) throw e;
    }
  }
}

/** A server of the cluster exited while the cluster started. */
class ServerExited extends Error {}

// Rejects with ServerExited when a server exits before `done` settles.
function exitOfAny(nodes: NatsNode[], done: Promise<unknown>): Promise<never> {
  return new Promise((_, reject) => {
    let settled = false;
    done.then(
      () => (settled = true),
      () => (settled = true),
    );
    for (const n of nodes) {
      n.proc!.once('exit', (code, signal) => {
        if (!settled) reject(new ServerExited(`nats-server ${n.name} exited (${signal ?? code}) while the cluster started`));
      });
    }
  });
}

async function startOnce(size: number): Promise<NatsCluster> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-nats-'));
  const nodes: NatsNode[] = [];
  for (let i = 0; i < size; i++) {
    nodes.push({ name: `n${i + 1}`, url: '', clientPort: await unusedPort(), clusterPort: await unusedPort(), proc: undefined, output: () => '' });
  }
  for (const n of nodes) n.url = `nats://127.0.0.1:${n.clientPort}`;
  const confs = nodes.map((n) => {
    const file = path.join(dir, `${n.name}.conf`);
    fs.writeFileSync(file, configOf(n, nodes, dir));
    return file;
  });
  nodes.forEach((n, i) => spawnNode(n, confs[i]));
  const stopAll = async () => {
    await Promise.all(
      nodes.map(
        (n) =>
          new Promise<void>((resolve) => {
            const p = n.proc;
            if (!p || p.exitCode !== null || p.signalCode !== null) return resolve();
            p.once('exit', () => resolve());
            p.kill('SIGKILL');
          }),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    const ready = (async () => {
      await Promise.all(nodes.map((n) => waitForJetStream(n.url)));
      await waitForPlacement(nodes[0].url, size);
    })();
    // Settled either way, so that the waits left behind after a server exited reject unheard.
    ready.catch(() => undefined);
    await Promise.race([ready, exitOfAny(nodes, ready)]);
  } catch (e) {
    const out = nodes.map((n) => `--- ${n.name}\n${n.output().slice(-2000)}`).join('\n');
    await stopAll();
    const message = `${(e as Error).message}\n${out}`;
    throw e instanceof ServerExited ? new ServerExited(message) : new Error(message);
  }
  return {
    nodes,
    urls: nodes.map((n) => n.url).join(','),
    async kill(i) {
      const p = nodes[i].proc;
      if (!p || p.exitCode !== null || p.signalCode !== null) return;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGKILL');
      await exited;
    },
    async restart(i, wait = true) {
      spawnNode(nodes[i], confs[i]);
      if (wait) await waitForJetStream(nodes[i].url);
    },
    stop: stopAll,
  };
}

/** One connection to each of the first `count` servers: each as a node connected there sees the cluster. */
export async function connectEach(cluster: NatsCluster, count = cluster.nodes.length): Promise<NatsConnection[]> {
  const conns: NatsConnection[] = [];
  try {
    for (const n of cluster.nodes.slice(0, count)) conns.push(await connect({ servers: [n.url] }));
  } catch (e) {
    for (const nc of conns) await nc.close();
    throw e;
  }
  return conns;
}
