// A compare-and-set that holds on a clustered JetStream stream of nats-server
// 2.9.10 (docs/cluster.md "Concurrent creates"): an append that expects the
// stream's last sequence (Nats-Expected-Last-Sequence). It held in every probe
// of three concurrent ones (the stream's leader counts the appends it has
// proposed); the per-subject expectation that KV's update relies on (and KV's
// create of a deleted key, an update on the delete's revision) let two through
// on one revision, it seems because it is checked against what is applied only.
// Used for the catalog bucket's creates (catalog-writer.ts) and its
// shared-snapshot pointers (replicated-log.ts); the quota ledger appends to its
// own streams the same way (quota-ledger.ts).
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';

/** The refusal of an append whose expected last sequence is not the stream's. */
export const wrongLastSequence = (e: unknown): boolean => /wrong last sequence/i.test(`${(e as Error)?.message ?? ''}`);

/** The stream under a KV bucket, and the subject of one of its keys. */
const kvStream = (bucket: string) => `KV_${bucket}`;
const kvSubject = (bucket: string, key: string) => `$KV.${bucket}.${key}`;

/**
 * Sets `key` of KV bucket `bucket` to what `decide` makes of its current value
 * (undefined: no value, or deleted), unless it returns undefined (then nothing
 * is written: undefined is returned). Read from the stream's leader (its last
 * sequence, then the key), appended only if the stream's last sequence is still
 * the one read: any change in between to any key of the bucket (a heartbeat
 * too) makes it read and decide again, until `timeoutMs`.
 */
export async function setKeyIf(
  jsm: JetStreamManager,
  js: JetStreamClient,
  bucket: string,
  key: string,
  decide: (current: string | undefined) => string | undefined,
  timeoutMs: number,
): Promise<{ revision: number } | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let attempt = 0; ; attempt++) {
    // The stream's last sequence first: the key, read after it from the same leader, is as new or newer.
    const last = (await jsm.streams.info(kvStream(bucket))).state.last_seq;
    const m = await jsm.streams.getMessage(kvStream(bucket), { last_by_subj: kvSubject(bucket, key) });
    const op = m?.header?.get('KV-Operation');
    const current = m && op !== 'DEL' && op !== 'PURGE' ? new TextDecoder().decode(m.data) : undefined;
    const next = decide(current);
    if (next === undefined) return undefined;
    try {
      const ack = await js.publish(kvSubject(bucket, key), next, { expect: { lastSequence: last } });
      return { revision: ack.seq };
    } catch (e) {
      if (!wrongLastSequence(e) || Date.now() > deadline) throw e;
      // Another change came in between: read again (a few tries in a row apart by a little, so that they interleave).
      if (attempt >= 2) await new Promise((r) => setTimeout(r, Math.random() * 10 * attempt));
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
