// The KV catalog's writer (kv-catalog.ts): a worker thread with its own NATS
// connection that makes one KV change per request and answers when JetStream has
// acknowledged it (or refused it). The catalog's interface is synchronous (as
// SQLite's commits are, fsync included), so its caller waits for this answer on
// a shared signal (Atomics.wait) and reads it with receiveMessageOnPort: a catalog
// change blocks the event loop for one replicated KV write, a few ms, as a SQLite
// commit blocks it for an fsync. Catalog changes are rare (tenants, keys, indexes).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createKey } from './stream-cas';

export interface WriterSetup {
  servers: string[];
  name: string;
  bucket: string;
  replicas: number;
  /** Int32Array over a SharedArrayBuffer: [0] becomes 1 when an answer is posted. */
  signal: SharedArrayBuffer;
  answers: MessagePort;
}

export interface WriteRequest {
  id: number;
  op: 'create' | 'put' | 'delete';
  key: string;
  value?: string;
}

export interface WriteAnswer {
  id: number;
  /** The KV revision of the change (a create or put). */
  revision?: number;
  /** create: the key exists already. */
  exists?: boolean;
  error?: string;
}

/** How long a create keeps reading again after losing to another change: less than its caller waits (kv-catalog.ts CATALOG_WRITE_TIMEOUT_MS, not imported: this worker loads alone). */
const CREATE_TIMEOUT_MS = 8_000;

async function main(): Promise<void> {
  const setup = workerData as WriterSetup;
  const signal = new Int32Array(setup.signal);
  const answer = (a: WriteAnswer) => {
    setup.answers.postMessage(a);
    Atomics.store(signal, 0, 1);
    Atomics.notify(signal, 0);
  };
  // The node's own connection's attempt and wait (cluster.ts CONNECT_ATTEMPT_MS, RECONNECT_WAIT_MS: not imported, this worker loads alone).
  const nc = await connect({ servers: setup.servers, name: `${setup.name}-catalog-writer`, maxReconnectAttempts: -1, timeout: 2_000, reconnectTimeWait: 250 });
  const kv = await new Kvm(nc).create(setup.bucket, { replicas: setup.replicas, history: 1 });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  parentPort!.on('message', (r: WriteRequest | 'close') => {
    if (r === 'close') {
      void nc.close().finally(() => process.exit(0));
      return;
    }
    void (async () => {
      try {
        if (r.op === 'create') {
          const revision = await createKey(jsm, js, setup.bucket, r.key, r.value!, CREATE_TIMEOUT_MS);
          answer(revision !== undefined ? { id: r.id, revision } : { id: r.id, exists: true });
        } else if (r.op === 'put') answer({ id: r.id, revision: await kv.put(r.key, r.value!) });
        else {
          await kv.delete(r.key);
          answer({ id: r.id });
        }
      } catch (e) {
        answer({ id: r.id, error: (e as Error).message ?? String(e) });
      }
    })();
  });
  parentPort!.postMessage('ready');
}

main().catch((e) => {
  parentPort!.postMessage({ failed: (e as Error).message ?? String(e) });
});
