// The KV catalog's writer (kv-catalog.ts): a worker thread with its own NATS
// connection that makes one KV change per request and answers when JetStream has
// acknowledged it (or refused it). The catalog's interface is synchronous (as
// SQLite's commits are, fsync included), so its caller waits for this answer on
// a shared signal (Atomics.wait) and reads it with receiveMessageOnPort: a catalog
// change blocks the event loop for one replicated KV write, a few ms, as a SQLite
// commit blocks it for an fsync. Catalog changes are rare (tenants, keys, indexes).
// Creates and updates are compare-and-sets on the bucket's stream (stream-cas.ts):
// an update is decided here, on the record as the stream's leader has it, never
// on the node's mirror, and decided again whenever another change lands first.
// Every change (creates, updates, puts, deletes) is such an append, and one whose
// acknowledgement is lost is read back (stream-cas.ts) until just before the
// caller stops waiting: the answer says it landed, or it did not, or `unknown`
// (then the caller keeps what the record would name).
import { parentPort, workerData, type MessagePort } from 'node:worker_threads';
import { connect } from '@nats-io/transport-node';
import { Kvm } from '@nats-io/kv';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { createKey, deleteKeyIf, deleteKeyUnlessReferenced, setKeyIf, UnsettledChange } from './stream-cas';
import { decideCreateUnderTenant, isLeftover } from './tenant-records';
import { OutcomeUnknown } from '../domain/errors';

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
  /** When the caller stops waiting for the answer (ms since the epoch): nothing is appended after, and an answer comes before. */
  deadline: number;
  op: 'create' | 'put' | 'update' | 'delete';
  key: string;
  value?: string;
  /** update: how the current record changes. */
  update?: RecordUpdate;
  /** delete: not while a record under `prefix` has `field` equal to `value` (a collection an alias points at); answered `referenced`. */
  unlessReferenced?: { prefix: string; field: string; value: unknown };
  /**
   * create of a record under a tenant: the KV key of its tenant's record. Made only while that record has the
   * record's tenantId (tenant-records.ts), else answered `missing` with that key; a deleted tenant's leftover at
   * the key is replaced.
   */
  under?: string;
  /** delete: only while the record is a leftover of a deleted tenant of this name, whose record is at `tenantKey` (tenant-records.ts isLeftover); answered `kept` otherwise. */
  ifLeftoverOf?: { tenant: string; tenantKey: string };
  /**
   * delete: only while the record's fields have these values (absent counts as null): a tenant's record, only the
   * one of this id; an index's or collection's, only the one of this storage id; answered `kept` otherwise.
   */
  ifFields?: Record<string, unknown>;
}

/**
 * A read-modify-write of one record (docs/cluster.md "Concurrent updates"):
 * `set`'s fields written over the record as it is when the change lands, so a
 * racing change of other fields is kept, and nothing written when the record is
 * gone (a delete is never undone) or does not match.
 */
export interface RecordUpdate {
  /** The fields changed (JSON). */
  set: Record<string, unknown>;
  /** Written only while the record's fields have these values (absent counts as null); otherwise answered `conflict`. */
  expect?: Record<string, unknown>;
  /** Written only while each of these keys has a record (an alias switch: its target collection); otherwise answered `missing` with the key. */
  requires?: string[];
}

export interface WriteAnswer {
  id: number;
  /** The KV revision of the change (a create or put). */
  revision?: number;
  /** create: the key exists already. */
  exists?: boolean;
  /** update: the record written (JSON); or, with `conflict`, the record as it is. */
  value?: string;
  /** update: nothing written, the record (or this key of `requires`) has no value. */
  missing?: string;
  /** update: nothing written, the record does not match `expect`. */
  conflict?: boolean;
  /** delete with `unlessReferenced`: nothing deleted, the key of a record that refers to it. */
  referenced?: string;
  /** delete with `ifLeftoverOf`: nothing deleted, the record is not a leftover (or is gone). */
  kept?: boolean;
  error?: string;
  /** error: the change kept losing to others until its deadline (a 503 to retry, not a storage fault). */
  unsettled?: boolean;
  /** error: its append was sent, and whether it landed could not be learned before the caller's deadline. */
  unknown?: boolean;
}

/** How long a create or update keeps reading again after losing to another change: less than its caller waits (kv-catalog.ts CATALOG_WRITE_TIMEOUT_MS, not imported: this worker loads alone). */
const CHANGE_TIMEOUT_MS = 8_000;

/** How long before the caller's deadline the answer is sent (a lost acknowledgement is read back until then). */
const ANSWER_MARGIN_MS = 500;

/** Whether a record (undefined: none) is there with these fields' values (absent counts as null); with no fields, whether it is there. */
function fieldsMatch(fields: Record<string, unknown> = {}): (current: string | undefined) => boolean {
  const expected = Object.entries(fields);
  return (current) => {
    const record = current === undefined ? undefined : (JSON.parse(current) as Record<string, unknown>);
    return record !== undefined && expected.every(([f, v]) => (record[f] ?? null) === (v ?? null));
  };
}

/** What `u` makes of a record and the `requires` keys read with it: the answer, and the value to write (if any). */
export function decideUpdate(key: string, u: RecordUpdate, current: string | undefined, required: (string | undefined)[]): { answer: Omit<WriteAnswer, 'id'>; next?: string } {
  if (current === undefined) return { answer: { missing: key } };
  const gone = (u.requires ?? []).findIndex((_, i) => required[i] === undefined);
  if (gone >= 0) return { answer: { missing: u.requires![gone] } };
  const record = JSON.parse(current) as Record<string, unknown>;
  for (const [f, v] of Object.entries(u.expect ?? {})) if ((record[f] ?? null) !== (v ?? null)) return { answer: { conflict: true, value: current } };
  const set = Object.fromEntries(Object.entries(u.set).filter(([, v]) => v !== undefined)); // a field not given is kept, never dropped
  return { answer: {}, next: JSON.stringify({ ...record, ...set }) };
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
  await new Kvm(nc).create(setup.bucket, { replicas: setup.replicas, history: 1 });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  parentPort!.on('message', (r: WriteRequest | 'close') => {
    if (r === 'close') {
      void nc.close().finally(() => process.exit(0));
      return;
    }
    const resolveBy = r.deadline - ANSWER_MARGIN_MS;
    void (async () => {
      try {
        if (r.op === 'create' && r.under !== undefined) {
          let tenantGone = false;
          const made = await setKeyIf(
            jsm,
            js,
            setup.bucket,
            r.key,
            (current, [tenant]) => {
              const d = decideCreateUnderTenant(r.value!, current, tenant);
              tenantGone = !d.write && 'tenantGone' in d;
              return d.write ? r.value! : undefined;
            },
            CHANGE_TIMEOUT_MS,
            [r.under],
            resolveBy,
          );
          answer(made ? { id: r.id, revision: made.revision } : tenantGone ? { id: r.id, missing: r.under } : { id: r.id, exists: true });
        } else if (r.op === 'create') {
          const revision = await createKey(jsm, js, setup.bucket, r.key, r.value!, CHANGE_TIMEOUT_MS, resolveBy);
          answer(revision !== undefined ? { id: r.id, revision } : { id: r.id, exists: true });
        } else if (r.op === 'update') {
          let decided: Omit<WriteAnswer, 'id'> = {};
          const made = await setKeyIf(
            jsm,
            js,
            setup.bucket,
            r.key,
            (current, required) => {
              const d = decideUpdate(r.key, r.update!, current, required);
              decided = d.answer;
              return d.next;
            },
            CHANGE_TIMEOUT_MS,
            r.update!.requires,
            resolveBy,
          );
          answer(made ? { id: r.id, revision: made.revision, value: made.value } : { id: r.id, ...decided });
        } else if (r.op === 'put') {
          const made = await setKeyIf(jsm, js, setup.bucket, r.key, () => r.value!, CHANGE_TIMEOUT_MS, [], resolveBy);
          answer({ id: r.id, revision: made!.revision });
        } else if (r.ifLeftoverOf !== undefined) {
          const deleted = await deleteKeyIf(jsm, js, setup.bucket, r.key, (current, [tenant]) => isLeftover(current, r.ifLeftoverOf!.tenant, tenant), CHANGE_TIMEOUT_MS, [r.ifLeftoverOf.tenantKey], resolveBy);
          answer({ id: r.id, ...(!deleted && { kept: true }) });
        } else if (r.unlessReferenced) {
          const { referenced, kept } = await deleteKeyUnlessReferenced(jsm, js, setup.bucket, r.key, r.unlessReferenced, CHANGE_TIMEOUT_MS, resolveBy, fieldsMatch(r.ifFields));
          answer({ id: r.id, ...(referenced !== undefined && { referenced }), ...(kept && { kept }) });
        } else if (r.ifFields !== undefined) {
          const deleted = await deleteKeyIf(jsm, js, setup.bucket, r.key, fieldsMatch(r.ifFields), CHANGE_TIMEOUT_MS, [], resolveBy);
          answer({ id: r.id, ...(!deleted && { kept: true }) });
        } else {
          // Nothing to delete (gone already) is a delete done: a retry of one that landed answers as the first.
          await deleteKeyIf(jsm, js, setup.bucket, r.key, (current) => current !== undefined, CHANGE_TIMEOUT_MS, [], resolveBy);
          answer({ id: r.id });
        }
      } catch (e) {
        answer({ id: r.id, error: (e as Error).message ?? String(e), ...(e instanceof UnsettledChange && { unsettled: true }), ...(e instanceof OutcomeUnknown && { unknown: true }) });
      }
    })();
  });
  parentPort!.postMessage('ready');
}

main().catch((e) => {
  parentPort!.postMessage({ failed: (e as Error).message ?? String(e) });
});
