// A compare-and-set that holds on a clustered JetStream stream of nats-server
// 2.9.10 (docs/cluster.md "Concurrent creates"): an append that expects the
// stream's last sequence (Nats-Expected-Last-Sequence). It held in every probe
// of three concurrent ones (the stream's leader counts the appends it has
// proposed); the per-subject expectation that KV's update relies on (and KV's
// create of a deleted key, an update on the delete's revision) let two through
// on one revision, it seems because it is checked against what is applied only.
// Used for every change of the catalog bucket: its records' (catalog-writer.ts),
// its shared-snapshot pointers' (replicated-log.ts), the leak collector's; and
// for every change of a tenant's quota usage record (quota-ledger.ts).
// An append whose acknowledgement is lost (a timeout, a server gone) is read
// back before the change answers: it landed, it never will, or (not learned
// by the caller's deadline) OutcomeUnknown.
import type { JetStreamClient, JetStreamManager, StoredMsg } from '@nats-io/jetstream';
import { Empty, headers, type MsgHdrs } from '@nats-io/nats-core';
import { OutcomeUnknown } from '../domain/errors';

/** The refusal of an append whose expected last sequence is not the stream's. */
export const wrongLastSequence = (e: unknown): boolean => /wrong last sequence/i.test(`${(e as Error)?.message ?? ''}`);

/** The stream under a KV bucket, and the subject of one of its keys. */
const kvStream = (bucket: string) => `KV_${bucket}`;
const kvSubject = (bucket: string, key: string) => `$KV.${bucket}.${key}`;

/** A change that could not be made because the stream kept changing under it (`setKeyIf`): retry later. */
export class UnsettledChange extends Error {}

/** How long after its settling time (`timeoutMs`) a change may read back an append whose acknowledgement was lost, unless its caller says. */
const RESOLVE_MS = 2_000;

/**
 * Test-only (test/cluster/catalog-commit.test.ts, test/cluster/quota-acks.test.ts):
 * FAISS_PROXY_TEST_ACK_FAULT, a comma-separated list of <fault>:<subject prefix>,
 * makes the first append of this process (or worker) to a subject with each
 * prefix land and its acknowledgement be lost: `ack-lost`, a timeout at once;
 * `answer-late`, a timeout once the change's read-back time is over.
 */
const ackFaults = (process.env.FAISS_PROXY_TEST_ACK_FAULT ?? '')
  .split(',')
  .map((f) => /^(ack-lost|answer-late):(.+)$/.exec(f))
  .filter((m): m is RegExpExecArray => m !== null)
  .map(([, kind, prefix]) => ({ kind, prefix }));

/**
 * Appends `data` (with `h`) to `subject` of `stream`, expecting the stream's
 * last sequence to be `last`: such an append lands at `last + 1` or never.
 * When its acknowledgement is lost, that is read back until `resolveBy`: while
 * nothing landed after `last` the same append is sent again (whichever copy
 * lands, the change is made once); once something did, the record at
 * `last + 1` (kept, or the subject's last) says whether it is this change: the
 * same subject, data and headers (a change whose data may repeat carries an id
 * of its own in `h`). Resolves with the sequence it landed at; throws a
 * wrong-last-sequence error when another change landed there (the caller reads
 * and decides again), OutcomeUnknown when neither was learned by `resolveBy`.
 * Nothing is sent after `resolveBy`.
 */
export async function appendAt(
  jsm: JetStreamManager,
  js: JetStreamClient,
  stream: string,
  subject: string,
  data: Uint8Array | string,
  h: MsgHdrs | undefined,
  last: number,
  resolveBy: number,
): Promise<number> {
  const send = async () => {
    if (Date.now() >= resolveBy) throw new UnsettledChange('the change ran out of time before its append (retry)');
    const sent = await js.publish(subject, data, { expect: { lastSequence: last }, ...(h && { headers: h }) });
    const fault = ackFaults.find((f) => subject.startsWith(f.prefix));
    if (!fault) return sent.seq;
    ackFaults.splice(ackFaults.indexOf(fault), 1);
    if (fault.kind === 'answer-late') await new Promise((done) => setTimeout(done, resolveBy - Date.now() + 1_500));
    throw new Error('TIMEOUT (the acknowledgement was lost: FAISS_PROXY_TEST_ACK_FAULT)');
  };
  let lost: unknown;
  try {
    return await send();
  } catch (e) {
    // No responder: no server took it (a leader being elected, or none reachable), so it cannot land.
    if (wrongLastSequence(e) || e instanceof UnsettledChange || /no responders/i.test(`${(e as Error)?.message ?? ''}`)) throw e;
    lost = e;
  }
  const text = typeof data === 'string' ? data : new TextDecoder().decode(data);
  const names = ['KV-Operation', ...(h?.keys() ?? [])];
  const isThis = (m: StoredMsg) => m.subject === subject && names.every((n) => (m.header?.get(n) ?? '') === (h?.get(n) ?? '')) && new TextDecoder().decode(m.data) === text;
  const another = () => new Error(`wrong last sequence: another change landed at ${last + 1}, where this one (its acknowledgement lost) would have`);
  while (Date.now() < resolveBy) {
    try {
      const { state } = await jsm.streams.info(stream);
      if (state.last_seq === last) {
        try {
          return await send();
        } catch (e) {
          if (e instanceof UnsettledChange) break;
          continue; // landed meanwhile (this one's first copy, or another change): read again; or no answer again
        }
      }
      const subjectLast = await jsm.streams.getMessage(stream, { last_by_subj: subject });
      if (!subjectLast || subjectLast.seq <= last) throw another(); // last + 1 is another subject's
      if (subjectLast.seq === last + 1) {
        if (isThis(subjectLast)) return subjectLast.seq;
        throw another();
      }
      // The subject changed again after last + 1 (its older records may not be kept): last + 1 itself, if still there, says.
      const at = await jsm.streams.getMessage(stream, { seq: last + 1 });
      if (!at) break;
      if (isThis(at)) return at.seq;
      throw another();
    } catch (e) {
      if (wrongLastSequence(e)) throw e;
      await new Promise((r) => setTimeout(r, 100)); // a server away: read again a moment later
    }
  }
  throw new OutcomeUnknown(`its append to ${stream} was sent and not acknowledged (${(lost as Error)?.message ?? String(lost)}), and whether it landed could not be read back in time: it may have`);
}

/** The value of `key` in the bucket's stream as its leader has it (undefined: none, or deleted). */
export async function currentValue(jsm: JetStreamManager, bucket: string, key: string): Promise<string | undefined> {
  const m = await jsm.streams.getMessage(kvStream(bucket), { last_by_subj: kvSubject(bucket, key) });
  const op = m?.header?.get('KV-Operation');
  return m && op !== 'DEL' && op !== 'PURGE' ? new TextDecoder().decode(m.data) : undefined;
}

/**
 * Sets `key` of KV bucket `bucket` to what `decide` makes of its current value
 * (undefined: no value, or deleted) and of the current values of the keys
 * `reads` (in order), unless it returns undefined (then nothing is written:
 * undefined is returned). Read from the stream's leader (its last sequence,
 * then the keys), appended only if the stream's last sequence is still the one
 * read, so every key read is as it was when the change lands: any change in
 * between to any key of the bucket (a heartbeat too) makes it read and decide
 * again, until `timeoutMs`; then it throws UnsettledChange.
 */
export async function setKeyIf(
  jsm: JetStreamManager,
  js: JetStreamClient,
  bucket: string,
  key: string,
  decide: (current: string | undefined, read: (string | undefined)[]) => string | undefined,
  timeoutMs: number,
  reads: readonly string[] = [],
  resolveBy = Date.now() + timeoutMs + RESOLVE_MS,
): Promise<{ revision: number; value: string } | undefined> {
  return settle(jsm, bucket, timeoutMs, undefined, async (last) => {
    // At once, to keep each try short: a heartbeat (every second from each node) landing within it makes it try again.
    const [current, ...read] = await Promise.all([key, ...reads].map((k) => currentValue(jsm, bucket, k)));
    const next = decide(current, read);
    if (next === undefined) return { done: undefined };
    const revision = await appendAt(jsm, js, kvStream(bucket), kvSubject(bucket, key), next, undefined, last, resolveBy);
    return { done: { revision, value: next } };
  });
}

/**
 * Deletes `key` of KV bucket `bucket` if `decide` says so of its current value
 * and of the current values of the keys `reads`, as the stream is when the
 * delete lands (a deleted tenant's leftover, deleted only while it still is
 * one: never a record a tenant made again under that name wrote there since).
 * Whether it deleted. Retried as setKeyIf's changes are.
 */
export async function deleteKeyIf(
  jsm: JetStreamManager,
  js: JetStreamClient,
  bucket: string,
  key: string,
  decide: (current: string | undefined, read: (string | undefined)[]) => boolean,
  timeoutMs: number,
  reads: readonly string[] = [],
  resolveBy = Date.now() + timeoutMs + RESOLVE_MS,
): Promise<boolean> {
  return settle(jsm, bucket, timeoutMs, undefined, async (last) => {
    const [current, ...read] = await Promise.all([key, ...reads].map((k) => currentValue(jsm, bucket, k)));
    if (!decide(current, read)) return { done: false };
    const h = headers();
    h.set('KV-Operation', 'DEL'); // as KV's own delete marks it
    await appendAt(jsm, js, kvStream(bucket), kvSubject(bucket, key), Empty, h, last, resolveBy);
    return { done: true };
  });
}

/**
 * Deletes `key` of KV bucket `bucket` unless a record under `ref.prefix` (a JSON
 * object) has `ref.field` equal to `ref.value`, as the stream is when the delete
 * lands: a collection deleted while an alias is switched to it, through another
 * node, is either deleted before (the switch finds it gone) or kept (the alias's
 * key is answered: `referenced`). Only while `matches` its current value (by
 * default, while there is one): else `kept`. Retried as setKeyIf's changes are.
 */
export async function deleteKeyUnlessReferenced(
  jsm: JetStreamManager,
  js: JetStreamClient,
  bucket: string,
  key: string,
  ref: { prefix: string; field: string; value: unknown },
  timeoutMs: number,
  resolveBy = Date.now() + timeoutMs + RESOLVE_MS,
  matches: (current: string | undefined) => boolean = (current) => current !== undefined,
): Promise<{ referenced?: string; kept?: boolean }> {
  return settle<{ referenced?: string; kept?: boolean }>(jsm, bucket, timeoutMs, kvSubject(bucket, `${ref.prefix}>`), async (last, subjects) => {
    // The keys under the prefix (deleted ones too: their value is none), read at once, with the key's own.
    const keys = subjects.map((subject) => subject.slice(kvSubject(bucket, '').length));
    const [current, ...values] = await Promise.all([key, ...keys].map((k) => currentValue(jsm, bucket, k)));
    if (!matches(current)) return { done: { kept: true } };
    const i = values.findIndex((v) => v !== undefined && (JSON.parse(v) as Record<string, unknown>)[ref.field] === ref.value);
    if (i >= 0) return { done: { referenced: keys[i] } };
    const h = headers();
    h.set('KV-Operation', 'DEL'); // as KV's own delete marks it
    await appendAt(jsm, js, kvStream(bucket), kvSubject(bucket, key), Empty, h, last, resolveBy);
    return { done: {} };
  });
}

/**
 * Runs `attempt` with the stream's last sequence (and, given `subjectsFilter`,
 * the stream's subjects matching it, from the same answer) until it is done: an
 * attempt's append expects that sequence, and one refused because another
 * change came in between is made again (read, decided, appended), until
 * `timeoutMs`; then UnsettledChange.
 */
async function settle<T>(
  jsm: JetStreamManager,
  bucket: string,
  timeoutMs: number,
  subjectsFilter: string | undefined,
  attempt: (last: number, subjects: string[]) => Promise<{ done: T }>,
): Promise<T> {
  const started = Date.now();
  for (let tries = 0; ; tries++) {
    // The stream's last sequence first: the keys, read after it from the same leader, are as new or newer.
    const { state } = await jsm.streams.info(kvStream(bucket), subjectsFilter === undefined ? undefined : { subjects_filter: subjectsFilter });
    try {
      return (await attempt(state.last_seq, Object.keys(state.subjects ?? {}))).done;
    } catch (e) {
      if (!wrongLastSequence(e)) throw e;
      if (Date.now() - started > timeoutMs) {
        throw new UnsettledChange(`the catalog kept changing under this change: ${tries + 1} tries in ${Date.now() - started} ms did not settle (retry)`);
      }
      // Another change came in between: read again (a few tries in a row apart by a little, so that they interleave).
      if (tries >= 2) await new Promise((r) => setTimeout(r, Math.random() * 10 * tries));
    }
  }
}

/**
 * KV's create, as it holds on 2.9.10: `key` set to `value` unless it has a value
 * (its revision), or undefined (it exists). KV's own create of a key deleted
 * before (a tenant or index made again) is an update on the delete's revision,
 * which two nodes may both win.
 */
export async function createKey(jsm: JetStreamManager, js: JetStreamClient, bucket: string, key: string, value: string, timeoutMs: number, resolveBy?: number): Promise<number | undefined> {
  return (await setKeyIf(jsm, js, bucket, key, (current) => (current === undefined ? value : undefined), timeoutMs, [], resolveBy))?.revision;
}
