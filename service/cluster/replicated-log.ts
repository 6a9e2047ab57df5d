// The replicated log of a cluster's indexes and collections (domain/durable.ts
// ReplicatedLog): one JetStream stream per object (its storage id), replicated
// (R3 by default: --cluster-replicas), each message one mutation
// (storage/mutation-log.ts's record body). An append is acknowledged once
// JetStream has it on a majority of its replicas; the message id deduplicates a
// second append of the same id within the stream's duplicate window
// (DUPLICATE_WINDOW_MS). Every replica follows the stream with an ordered
// consumer, which JetStream restarts where it stopped when a server dies.
import { createHash } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { mutationBytes, mutationOf, type ImportedFile, type Mutation } from '../storage/mutation-log';
import { LogGap, SequenceMoved, type Follower, type ReplicatedLog } from '../domain/durable';
import { Objm, type ObjectStore } from '@nats-io/obj';
import type { FileSnapshotStore } from '../storage/snapshots';
import { Kvm, type KV } from '@nats-io/kv';
import { CATALOG_BUCKET, sharedSnapshotKey as sharedKey } from './kv-catalog';
import { pack, unpack } from './frames';
import { deleteKeyIf, setKeyIf } from './stream-cas';
import { storageFault } from '../storage/storage-io';
import { readObject } from './object-read';

/** A shared snapshot's object: one per (storage id, sequence). */
const objectOf = (id: string, seq: number) => `${id}.${seq}`;

/**
 * An imported FAISS file's object (importObjectOf): one per storage id, since an
 * import makes a new one (durable.ts createReplicated). Needed while the stream
 * holds the import record: until the first shared snapshot of that id (which
 * holds the import) trims it away.
 */
const importObjectOf = (id: string) => `${id}.import`;

const sha256Of = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** The object store bucket of the cluster's shared snapshots (the latest of each index or collection: objectOf) and imported files (importObjectOf). */
export const SNAPSHOT_BUCKET = 'faiss-proxy-snapshots';

/** A shared snapshot as one object: u32 length of a JSON header { seq, files: [{ suffix, bytes }] }, the header, the files' bytes. */
function bundle(seq: number, files: { suffix: string; bytes: Buffer }[]): Buffer {
  return pack({ seq, files: files.map((f) => ({ suffix: f.suffix, bytes: f.bytes.length })) }, files.map((f) => f.bytes));
}

function unbundle(data: Uint8Array): { seq: number; files: { suffix: string; bytes: Uint8Array }[] } {
  type Header = { seq: number; files: { suffix: string; bytes: number }[] };
  const { header, parts } = unpack<Header>(data, (h) => h.files.map((f) => f.bytes), 'a shared snapshot');
  return { seq: header.seq, files: header.files.map((f, i) => ({ suffix: f.suffix, bytes: parts[i] })) };
}

/** How long JetStream remembers an append's id: a retry within it is not appended twice (past it: the replicas' remembered keys). */
export const DUPLICATE_WINDOW_MS = 10 * 60_000;
/** How long an append keeps trying while the cluster elects a leader or the client reconnects, before it fails (503). */
export const APPEND_TIMEOUT_MS = 15_000;
/** How often a follower catching up checks that the records it waits for were not trimmed away meanwhile. */
const TRIM_CHECK_MS = 1_000;

const streamOf = (id: string) => `FP_${id}`;
const subjectOf = (id: string) => `fp.log.${id}`;
const nanos = (ms: number) => ms * 1_000_000;

/** Errors worth another try: no responder (leader election, reconnecting), timeouts. */
export function transient(e: unknown): boolean {
  const text = `${(e as Error)?.name ?? ''} ${(e as Error)?.message ?? ''} ${String((e as { cause?: unknown })?.cause ?? '')}`;
  return /no responders|timeout|TIMEOUT|disconnect|closed|connection|503|not ready|stream not found/i.test(text);
}

/** JetStream's error codes (err_code) for a refused numbering probe (JetStreamLog.alignNumbering): the expected last sequence was not the stream's, or the store refused the record's sequence. */
const WRONG_LAST_SEQUENCE = 10071;
const STORE_FAILED = 10077;

export class JetStreamLog implements ReplicatedLog {
  private readonly js: JetStreamClient;
  /** This node's snapshot files (openServices gives them): what is shared and where a shared one is installed. */
  private files: FileSnapshotStore | undefined;
  /** When this node began making each stream whose catalog record is not committed yet (performance.now()): beforeCommit. */
  private readonly making = new Map<string, number>();
  private constructor(
    private readonly jsm: JetStreamManager,
    private readonly replicas: number,
    private readonly objects: ObjectStore,
    /** The catalog's bucket: its `s.<id>` keys say which shared snapshot is the latest. */
    private readonly kv: KV,
    nc: NatsConnection,
    /**
     * How long after making a stream or object this node may still write the record
     * or pointer naming it: half the collector's grace period (collector.ts: what is
     * older than the grace period and named by nothing is deleted).
     */
    private readonly commitWithinMs: number,
  ) {
    this.js = jetstream(nc, { timeout: 5_000 });
  }

  /** `graceMs`: the collector's grace period (--cluster-gc-grace-ms): a record naming a new stream is written within half of it, or not at all. */
  static async open(nc: NatsConnection, replicas: number, graceMs: number): Promise<JetStreamLog> {
    const objects = await new Objm(nc).create(SNAPSHOT_BUCKET, { replicas });
    const kv = await new Kvm(nc).open(CATALOG_BUCKET);
    return new JetStreamLog(await jetstreamManager(nc, { timeout: 10_000 }), replicas, objects, kv, nc, graceMs / 2);
  }

  /**
   * Before the catalog record naming the new streams `ids` (made here by create,
   * with an import's object) is written: throws (503) when the first of them was
   * begun more than commitWithinMs ago, since the collector may take a stream
   * that old for a leak (collector.ts); the caller removes them instead.
   */
  beforeCommit(...ids: string[]): void {
    const begun = Math.min(...ids.map((id) => this.making.get(id) ?? Infinity));
    for (const id of ids) this.making.delete(id);
    const took = performance.now() - begun;
    if (took > this.commitWithinMs) {
      throw storageFault('catalog.commit', undefined, new Error(`${Math.round(took)} ms passed between making the stream and naming it in the catalog, more than half the collector's grace period (${this.commitWithinMs * 2} ms, --cluster-gc-grace-ms): not committed (retry)`));
    }
  }

  useSnapshots(files: FileSnapshotStore): void {
    this.files = files;
  }

  /**
   * Puts this node's snapshot `seq` of `id` in the shared store, then trims the
   * stream through `seq`: every record it held is in a snapshot any node can
   * fetch. Each shared snapshot is its own object (`<id>.<seq>`); which one is
   * the latest is a catalog key (`s.<id>`) moved only forward, by a
   * compare-and-set on the catalog stream's last sequence (stream-cas.ts: KV's
   * update on the key's revision lets two nodes both win on nats-server 2.9.10),
   * so that two nodes sharing at once cannot put an older snapshot in place of a
   * newer one the stream was trimmed behind. A replica that was behind finds a
   * gap in its stream and loads the shared snapshot (durable.ts).
   */
  async shareSnapshot(id: string, seq: number): Promise<void> {
    const pointer = await this.retrying(() => this.kv.get(sharedKey(id)));
    if (pointer && pointer.operation === 'PUT' && Number(pointer.string()) >= seq) return;
    const latest = this.files!.latestFiles(id);
    if (!latest || latest.seq !== seq) return; // a newer one is being saved: it will be shared
    const putAt = performance.now();
    await this.retrying(() => this.objects.putBlob({ name: objectOf(id, seq) }, bundle(seq, latest.files)));
    /** The snapshot the pointer named when it was moved (its object goes). */
    let replaced = 0;
    let late = false;
    const moved = await this.retrying(() =>
      setKeyIf(
        this.jsm,
        this.js,
        CATALOG_BUCKET,
        sharedKey(id),
        (current) => {
          replaced = current === undefined ? 0 : Number(current);
          // An object older than commitWithinMs may be collected before the pointer names it (collector.ts): left unnamed.
          late = performance.now() - putAt > this.commitWithinMs;
          return replaced < seq && !late ? String(seq) : undefined;
        },
        APPEND_TIMEOUT_MS,
      ),
    ).catch(() => null);
    if (!moved) {
      // Another node shared a newer one, or this one came too late to be named: this one's object goes. Not when the pointer names this very object (another node's
      // snapshot at the same sequence, or this change's answer lost), nor when the catalog could not be reached (null).
      if (moved === undefined && (replaced > seq || (late && replaced < seq))) await this.objects.delete(objectOf(id, seq)).catch(() => undefined);
      return;
    }
    await this.retrying(() => this.jsm.streams.purge(streamOf(id), { seq: seq + 1 }));
    if (replaced > 0) await this.objects.delete(objectOf(id, replaced)).catch(() => undefined);
    // The first shared snapshot of an imported index holds its import (the stream's first record): the file is not needed any more.
    else await this.deleteImport(id);
  }

  /** Puts an imported FAISS file in the object store for the import record of `id` (its first) to name. */
  async putImport(id: string, file: Uint8Array): Promise<ImportedFile> {
    const object = importObjectOf(id);
    await this.retrying(() => this.objects.putBlob({ name: object }, file));
    return { object, sha256: sha256Of(file), bytes: file.length };
  }

  /** The imported file an import record names, checked against its length and SHA-256 (throws when it is gone or differs). */
  async importedFile(f: ImportedFile): Promise<Uint8Array> {
    const data = await this.retrying(() => readObject(this.objects, f.object));
    if (!data) throw new Error(`the imported file ${f.object} is not in the object store`);
    if (data.length !== f.bytes || sha256Of(data) !== f.sha256) throw new Error(`the imported file ${f.object} is not the one its import record names (${data.length} bytes, ${f.bytes} expected)`);
    return data;
  }

  private async deleteImport(id: string): Promise<void> {
    await this.objects.delete(importObjectOf(id)).catch(() => undefined);
  }

  /** The sequence of the last record appended to the log of `id`. */
  async lastSeq(id: string): Promise<number> {
    return (await this.retrying(() => this.jsm.streams.info(streamOf(id)))).state.last_seq;
  }

  /**
   * Installs the shared snapshot of `id` when it is newer than this node's
   * (`localSeq`): loading from it replays less, and the records before it may
   * be trimmed from the stream. Returns its sequence (0: none newer).
   */
  async fetchSnapshot(id: string, localSeq: number): Promise<number> {
    const pointer = await this.retrying(() => this.kv.get(sharedKey(id)));
    const current = pointer && pointer.operation === 'PUT' ? Number(pointer.string()) : 0;
    if (current <= localSeq) return 0;
    const data = await this.retrying(() => readObject(this.objects, objectOf(id, current)));
    if (!data) return 0;
    const { seq, files } = unbundle(data);
    await this.files!.install(id, seq, files);
    return seq;
  }

  /**
   * A new stream whose records are numbered past `seq`: a purge of the empty
   * stream moves its numbering to `seq + 1`, or to 3 when `seq` is 1 or 2
   * (alignNumbering says why), and its first append lands at once.
   */
  async create(id: string, seq: number): Promise<void> {
    this.making.set(id, performance.now());
    await this.retrying(() =>
      this.jsm.streams.add({
        name: streamOf(id),
        subjects: [subjectOf(id)],
        num_replicas: this.replicas,
        duplicate_window: nanos(DUPLICATE_WINDOW_MS),
      }),
    );
    if (seq === 0) return;
    await this.retrying(() => this.jsm.streams.purge(streamOf(id), { seq: Math.max(seq, 2) + 1 }));
    await this.alignNumbering(id);
  }

  /**
   * Brings every replica of a stream just purged to a new numbering onto it.
   * nats-server before 2.9.19 (Debian's 2.9.10) leaves the replicas' last
   * sequence at 0 after the purge: the next record fails in their stores
   * ("expected sequence does not match store"), and only that failure moves
   * them to the store's numbering. Worse, when the store's last record is then 1,
   * the record proposed after the failure is dropped by every replica with no
   * answer: its append waited out the 5 s publish timeout (hence numbering from
   * 3 at least: create). This probe takes that failure in place of the first
   * real record. It expects the stream to be empty (last sequence 0), which a
   * purged one is not: a server with the fix refuses it ("wrong last
   * sequence"), one without fails it in its store; neither stores it.
   */
  private async alignNumbering(id: string): Promise<void> {
    const stored = await this.retrying(() =>
      this.js.publish(subjectOf(id), new Uint8Array(0), { timeout: 5_000, expect: { lastSequence: 0 } }).then(
        (ack) => ack.seq,
        (e: unknown) => {
          if (e instanceof JetStreamApiError && (e.code === WRONG_LAST_SEQUENCE || e.code === STORE_FAILED)) return undefined;
          throw e;
        },
      ),
    );
    if (stored !== undefined) throw new Error(`the new stream ${streamOf(id)} stored the numbering probe (as record ${stored}), which expects it empty: not used`);
  }

  async remove(id: string): Promise<void> {
    this.making.delete(id);
    try {
      await this.jsm.streams.delete(streamOf(id));
    } catch (e) {
      // Already gone (another node's removal, the collector's): its pointer and objects still go. (`code` is JetStream's own, 10059.)
      if (!(e instanceof JetStreamApiError && e.status === 404)) throw e;
    }
    const pointer = await this.kv.get(sharedKey(id));
    if (pointer && pointer.operation === 'PUT') {
      await this.objects.delete(objectOf(id, Number(pointer.string()))).catch(() => undefined);
      await deleteKeyIf(this.jsm, this.js, CATALOG_BUCKET, sharedKey(id), (current) => current !== undefined, APPEND_TIMEOUT_MS);
    }
    await this.deleteImport(id);
  }

  async append(id: string, m: Mutation, appendId: string, expectLast?: number): Promise<{ seq: number; duplicate: boolean }> {
    const data = mutationBytes(m);
    try {
      const ack = await this.retrying(() =>
        this.js.publish(subjectOf(id), data, { msgID: appendId, timeout: 5_000, ...(expectLast !== undefined && { expect: { lastSequence: expectLast } }) }),
      );
      return { seq: ack.seq, duplicate: ack.duplicate };
    } catch (e) {
      const moved = /wrong last sequence: (\d+)/.exec((e as Error).message ?? '');
      if (moved) throw new SequenceMoved(Number(moved[1]));
      throw e;
    }
  }

  follow(id: string, afterSeq: number, deliver: (seq: number, m: Mutation, appendId?: string) => Promise<void>): Follower {
    let stopped = false;
    let lastSeen = afterSeq;
    let stop: () => void = () => undefined;
    const caughtUp = (async () => {
      const info = await this.retrying(() => this.jsm.streams.info(streamOf(id)));
      lastSeen = Math.max(lastSeen, info.state.last_seq);
      const target = info.state.last_seq;
      let reached!: () => void;
      let failed!: (e: unknown) => void;
      const done = new Promise<void>((resolve, reject) => {
        reached = resolve;
        failed = reject;
      });
      if (target <= afterSeq) reached();
      const consumer = await this.retrying(() => this.js.consumers.get(streamOf(id), { deliver_policy: 'by_start_sequence' as never, opt_start_seq: afterSeq + 1 }));
      // Pulls that expire every 5 s: a server's death is noticed (missed heartbeats) within seconds, not 30.
      const messages = await consumer.consume({ max_messages: 256, expires: 5_000 });
      stop = () => {
        stopped = true;
        void messages.close();
      };
      if (stopped) stop();
      let delivered = afterSeq;
      void (async () => {
        try {
          for await (const msg of messages) {
            if (stopped) break;
            lastSeen = Math.max(lastSeen, msg.info.streamSequence + msg.info.pending);
            await deliver(msg.seq, mutationOf(Buffer.from(msg.data.buffer, msg.data.byteOffset, msg.data.byteLength)), msg.headers?.get('Nats-Msg-Id') || undefined);
            delivered = msg.seq;
            if (msg.seq >= target) reached();
          }
        } catch (e) {
          failed(e);
          if (!stopped) console.error(`faiss-proxy: following the log of ${id} stopped:`, e);
        }
      })();
      // A record after a gap tells the replica it missed trimmed records (durable.ts). When
      // every record through `target` was trimmed (a shared snapshot, the one after an
      // import at once, taken while this follower started) none comes to tell it: it is
      // told here, and loads that snapshot.
      while (!(await Promise.race([done.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), TRIM_CHECK_MS))]))) {
        const now = await this.retrying(() => this.jsm.streams.info(streamOf(id)));
        if (now.state.first_seq > target && delivered < target) {
          stop();
          throw new LogGap(now.state.first_seq, delivered + 1);
        }
      }
    })();
    return {
      caughtUp,
      get lastSeen() {
        return lastSeen;
      },
      stop: () => {
        stopped = true;
        stop();
      },
    };
  }

  /** Runs `f` again while it fails transiently (leader election, reconnection), up to APPEND_TIMEOUT_MS. */
  private async retrying<T>(f: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + APPEND_TIMEOUT_MS;
    for (let wait = 50; ; wait = Math.min(wait * 2, 1_000)) {
      try {
        return await f();
      } catch (e) {
        if (!transient(e) || Date.now() + wait > deadline) throw e;
        await new Promise((r) => setTimeout(r, wait));
      }
    }
  }
}
