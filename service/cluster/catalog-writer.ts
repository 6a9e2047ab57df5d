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
  parentPort!.on('message', (r: WriteRequest | 'close') => {
    if (r === 'close') {
      void nc.close().finally(() => process.exit(0));
      return;
    }
    void (async () => {
      try {
        if (r.op === 'create') answer({ id: r.id, revision: await kv.create(r.key, r.value!) });
        else if (r.op === 'put') answer({ id: r.id, revision: await kv.put(r.key, r.value!) });
        else {
          await kv.delete(r.key);
          answer({ id: r.id });
        }
      } catch (e) {
        const message = (e as Error).message ?? String(e);
        // The KV refuses a create of a key that exists ("wrong last sequence").
        if (r.op === 'create' && /wrong last sequence|key exists/i.test(message)) answer({ id: r.id, exists: true });
        else answer({ id: r.id, error: message });
      }
    })();
  });
  parentPort!.postMessage('ready');
}

main().catch((e) => {
  parentPort!.postMessage({ failed: (e as Error).message ?? String(e) });
});
