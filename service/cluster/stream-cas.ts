// A compare-and-set that holds on a clustered JetStream stream of nats-server
// 2.9.10 (docs/cluster.md "Concurrent creates"): an append that expects the
// stream's last sequence (Nats-Expected-Last-Sequence). It held in every probe
// of three concurrent ones (the stream's leader counts the appends it has
// proposed); the per-subject expectation that KV's update relies on (and KV's
// create of a deleted key, an update on the delete's revision) let two through
// on one revision, it seems because it is checked against what is applied only.
// Used for the catalog bucket's creates and updates (catalog-writer.ts) and its
// shared-snapshot pointers (replicated-log.ts); the quota ledger appends to its
// own streams the same way (quota-ledger.ts).
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import { Empty, headers } from '@nats-io/nats-core';

/** The refusal of an append whose expected last sequence is not the stream's. */
export const wrongLastSequence = (e: unknown): boolean => /wrong last sequence/i.test(`${(e as Error)?.message ?? ''}`);

/** The stream under a KV bucket, and the subject of one of its keys. */
const kvStream = (bucket: string) => `KV_${bucket}`;
const kvSubject = (bucket: string, key: string) => `$KV.${bucket}.${key}`;

/** A change that could not be made because the stream kept changing under it (`setKeyIf`): retry later. */
export class UnsettledChange extends Error {}

/** The value of `key` in the bucket's stream as its leader has it (undefined: none, or deleted). */
async function valueOf(jsm: JetStreamManager, bucket: string, key: string): Promise<string | undefined> {
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
): Promise<{ revision: number; value: string } | undefined> {
  return settle(jsm, bucket, timeoutMs, undefined, async (last) => {
    // At once, to keep each try short: a heartbeat (every second from each node) landing within it makes it try again.
    const [current, ...read] = await Promise.all([key, ...reads].map((k) => valueOf(jsm, bucket, k)));
    const next = decide(current, read);
    if (next === undefined) return { done: undefined };
    const ack = await js.publish(kvSubject(bucket, key), next, { expect: { lastSequence: last } });
    return { done: { revision: ack.seq, value: next } };
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
): Promise<boolean> {
  return settle(jsm, bucket, timeoutMs, undefined, async (last) => {
    const [current, ...read] = await Promise.all([key, ...reads].map((k) => valueOf(jsm, bucket, k)));
    if (!decide(current, read)) return { done: false };
    await js.publish(kvSubject(bucket, key), Empty, { headers: deleteHeaders(), expect: { lastSequence: last } });
    return { done: true };
  });
}

/** A delete's headers, as KV's own delete marks it. */
function deleteHeaders() {
  const h = headers();
  h.set('KV-Operation', 'DEL');
  return h;
}

/**
 * Deletes `key` of KV bucket `bucket` unless a record under `ref.prefix` (a JSON
 * object) has `ref.field` equal to `ref.value`, as the stream is when the delete
 * lands: a collection deleted while an alias is switched to it, through another
 * node, is either deleted before (the switch finds it gone) or kept (the alias's
 * key is answered). Undefined once deleted. Retried as setKeyIf's changes are.
 */
export async function deleteKeyUnlessReferenced(
  jsm: JetStreamManager,
  js: JetStreamClient,
  bucket: string,
  key: string,
  ref: { prefix: string; field: string; value: unknown },
  timeoutMs: number,
): Promise<string | undefined> {
  return settle(jsm, bucket, timeoutMs, kvSubject(bucket, `${ref.prefix}>`), async (last, subjects) => {
    // The keys under the prefix (deleted ones too: their value is none), read at once.
    const keys = subjects.map((subject) => subject.slice(kvSubject(bucket, '').length));
    const values = await Promise.all(keys.map((k) => valueOf(jsm, bucket, k)));
    const i = values.findIndex((v) => v !== undefined && (JSON.parse(v) as Record<string, unknown>)[ref.field] === ref.value);
    if (i >= 0) return { done: keys[i] };
    await js.publish(kvSubject(bucket, key), Empty, { headers: deleteHeaders(), expect: { lastSequence: last } });
    return { done: undefined };
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
export async function createKey(jsm: JetStreamManager, js: JetStreamClient, bucket: string, key: string, value: string, timeoutMs: number): Promise<number | undefined> {
  return (await setKeyIf(jsm, js, bucket, key, (current) => (current === undefined ? value : undefined), timeoutMs))?.revision;
}
