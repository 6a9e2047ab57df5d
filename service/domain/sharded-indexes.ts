// A cluster's sharded indexes ("shards": N at creation, docs/cluster.md): the
// points of one index partitioned by a hash of their ids (shards.ts) over N
// shards, each a durable index of its own (its own JetStream stream and shared
// snapshots: the same machinery as a whole index, durable.ts), owned by one node
// (placement, in the catalog's KV bucket). Any node takes any request: it sends
// each shard's part to the shard's owner (itself, or another node over the
// network: ShardNetwork) and gathers the answers: a search (filtered or not)
// scatters to every shard and merges the top-k, a range search takes every
// shard's results; a write goes to the shards its ids hash to, a remove by filter
// to every shard. The shards of sharded collections (sharded-collections.ts) are
// placed, loaded, unloaded and forwarded to by this same placement. Knows nothing
// of NATS or HTTP.
import { randomUUID } from 'node:crypto';
import { rowLength, type Rows } from '../../lib/any-index';
import { isBinaryFactory } from '../../lib/any-index';
import type { IDSelector, SearchParams } from '../../lib';
import type { AnyRangeSearchResult } from '../../lib/any-index';
import { readSelectorPart, selectorPart } from '../../lib/wire';
import type { CollectionRecord, IndexRecord } from '../storage/catalog';
import { mutationBytes, mutationOf, type Mutation } from '../storage/mutation-log';
import type { DurableIndex } from './durable-index';
import type { DurableCollection } from './durable-collection';
import type { UsageCount } from './quotas';
import { MIN_SEQUENCE_WAIT_MS, type DurableObject } from './durable';
import { ServiceError } from './errors';
import { balancedPlacements, mergeRanges, mergeTopK, shardsOf, shardStorageId, type ShardAnswer } from './shards';
import type { SearchAnswer } from './search-scheduler';

/** One shard's part of a request, or its answer: a JSON header and binary parts (vectors, ids, distances, labels). */
export interface ShardMessage {
  header: Record<string, unknown>;
  parts: Uint8Array[];
}

/** What a sharded index needs of the cluster (cluster/shard-rpc.ts): placement in the catalog, and request/reply to other nodes. */
export interface ShardNetwork {
  /** This node's name. */
  readonly node: string;
  /** The owner of each shard of the index of storage id `id`, as the catalog has it (undefined: none yet). */
  placement(id: string): readonly string[] | undefined;
  /** Writes a placement to the catalog (acknowledged by JetStream when it returns). */
  setPlacement(id: string, owners: readonly string[]): void;
  deletePlacement(id: string): void;
  /** The nodes heard from lately (heartbeats), by name. */
  liveNodes(): string[];
  /** Throws ERR_PAYLOAD_TOO_LARGE when `request` would not fit in one message to another node (checked before a write sends any part). */
  requireFits(request: ShardMessage): void;
  /** Sends a shard's request to `node`; rejects with ShardUnreachable when no node answers on its subject. */
  call(node: string, request: ShardMessage, timeoutMs: number): Promise<ShardMessage>;
}

/** A request nobody took: the node is gone (or not yet listening); the shard's next owner may take it. */
export class ShardUnreachable extends Error {
  constructor(readonly node: string, why: string) {
    super(`node ${node} did not answer (${why})`);
    this.name = 'ShardUnreachable';
  }
}

/** How long a request for a shard whose owner is gone waits for the shard's next owner (placement moves within ~3 s: NODE_LIVE_MS). */
export const SHARD_OWNER_WAIT_MS = 15_000;
/** How long a node waits for another's answer to a shard's read; a write may take longer (its append retries up to 15 s). */
export const READ_TIMEOUT_MS = 30_000;
const WRITE_TIMEOUT_MS = 60_000;
/** A page of a shard's rows (gather): well under NATS's default max_payload (1 MiB). */
const GATHER_PAGE_BYTES = 512 * 1024;
/** How many times a shard's own file is read again when its owner changed during the read (shardFiles). */
const SHARD_FILE_TRIES = 3;

export interface ShardedDeps {
  net: ShardNetwork;
  /** A durable index for one shard (its record: the shard's storage id). */
  make: (record: IndexRecord) => DurableIndex;
  /** Searches a loaded shard through the service's scheduler (batching). */
  search: (l: DurableIndex, x: Float32Array, k: number, params?: SearchParams) => Promise<SearchAnswer>;
  /** The catalog's index records (what rebalancing places). */
  records: () => IndexRecord[];
  /** The catalog's record of an index (what a shard's request is checked against). */
  record: (tenant: string, name: string) => IndexRecord | undefined;
  /** Resolves once this node's catalog holds every change acknowledged before the call (a record another node just switched: a sharded import). */
  catchUp: () => Promise<void>;
  /** Removes this node's files of a shard whose index (or collection) was deleted. */
  forgetLocally: (l: DurableObject) => Promise<void>;
  /** Told when a shard is loaded or unloaded here (memory budget). */
  onResident: () => void;
}

/** What a cluster's sharded collections (sharded-collections.ts) give the placement: their records, and their shards' replicas and requests. */
export interface CollectionShardsDeps {
  /** The catalog's collection records (the sharded ones are placed as the indexes' shards are). */
  records: () => CollectionRecord[];
  record: (tenant: string, name: string) => CollectionRecord | undefined;
  /** A durable collection for one shard (its record: the shard's storage id). */
  make: (record: CollectionRecord) => DurableCollection;
  /** Answers a shard's part of a collection's request with the shard's replica here. */
  handle: (l: DurableCollection, request: ShardMessage) => Promise<ShardMessage>;
  /** A sharded collection's usage, its shards gathered (the cluster's shared quota count, quotas.ts). */
  count: (record: CollectionRecord) => Promise<UsageCount>;
}

/** What placement needs of an index's or a collection's record. */
type ShardedRecord = IndexRecord | CollectionRecord;

const bytesOf = (a: ArrayBufferView): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** A search's parameters in a shard's request: nprobe and efSearch in its header, the filter (lib/wire.ts's filter part) as its last part. */
const paramsHeader = (params: SearchParams | undefined): Record<string, unknown> => ({
  ...(params?.nprobe !== undefined && { nprobe: params.nprobe }),
  ...(params?.efSearch !== undefined && { efSearch: params.efSearch }),
  ...(params?.sel !== undefined && { filtered: true }),
});
const filterParts = (params: SearchParams | undefined): Uint8Array[] => (params?.sel !== undefined ? [selectorPart(params.sel)] : []);

/** The search parameters of a shard's request (`filter`: its filter part, when the header says it has one). */
function paramsOf(h: Record<string, unknown>, filter: Uint8Array | undefined): SearchParams {
  return {
    ...(h.nprobe !== undefined && { nprobe: h.nprobe as number }),
    ...(h.efSearch !== undefined && { efSearch: h.efSearch as number }),
    ...(h.filtered === true && filter !== undefined && { sel: readSelectorPart(filter) }),
  };
}
/** A typed array over `u8` (copied when not aligned, as a part cut out of a message may be). */
function view<T>(u8: Uint8Array, C: { new (b: ArrayBuffer, o: number, n: number): T; BYTES_PER_ELEMENT: number }): T {
  const aligned = u8.byteOffset % C.BYTES_PER_ELEMENT === 0 ? u8 : new Uint8Array(u8); // a copy (a Buffer's slice() would share)
  return new C(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / C.BYTES_PER_ELEMENT);
}

/** How many times a read goes again with an index's new record (reading): once per import switched while it was on its way. */
const SWITCHED_READ_TRIES = 3;

/** Whether `now` is `record`'s index switched by an import (replaceShards: the record, under a new storage id), not another index of its name. */
const isSwitched = (record: IndexRecord, now: IndexRecord): boolean =>
  now.id !== record.id && now.createdAt === record.createdAt && now.shards === record.shards && now.factory === record.factory && now.dimension === record.dimension && now.metric === record.metric;

/** What every shard of an index told about itself (describe, count, versions). */
export interface ShardCounts {
  ntotal: number;
  bytes: number;
  isTrained: boolean;
  type: string;
  version: number;
  /** Each shard's own version (its stream's sequence). */
  versions: number[];
}

export class ShardedIndexes {
  /** This node's durable index (or collection) of each shard it has served, by shard storage id (unloaded when no longer owned). */
  private readonly replicas = new Map<string, { record: ShardedRecord; shard: number; l: DurableObject }>();
  /** The shards this node owned at the last balance (each loaded once when it came here). */
  private readonly owned = new Set<string>();
  /** The highest version of each shard seen here, by the index's storage id (what a write's X-Index-Version sums). */
  private readonly known = new Map<string, number[]>();

  /** A cluster's sharded collections, placed and served beside the indexes' shards (attachCollections). */
  private collections: CollectionShardsDeps | undefined;

  constructor(private readonly d: ShardedDeps) {}

  /** Sharded collections' shards are placed, loaded, unloaded and forwarded by this same placement (sharded-collections.ts). */
  attachCollections(collections: CollectionShardsDeps): void {
    this.collections = collections;
  }

  /** A sharded collection's usage, its shards gathered. */
  countCollection(record: CollectionRecord): Promise<UsageCount> {
    if (!this.collections) throw new Error('no sharded collections attached');
    return this.collections.count(record);
  }

  /** This node's shard replicas (memory budget, shutdown, metrics). */
  all(): DurableObject[] {
    return [...this.replicas.values()].map((r) => r.l);
  }

  /** A new sharded index's (or collection's) placement, before its record is answered: its shards on the nodes holding fewest (of every index's and collection's). */
  place(record: ShardedRecord): void {
    const live = this.d.net.liveNodes();
    const others = this.shardedRecords().filter((r) => r.id !== record.id);
    const placed = balancedPlacements([...others.map((r) => this.placed(r)), { id: record.id, shards: record.shards!, owners: undefined }], live.length > 0 ? live : [this.d.net.node]);
    this.d.net.setPlacement(record.id, placed.get(record.id)!);
  }

  /** Every sharded index's and collection's record: what placement balances together. */
  private shardedRecords(): ShardedRecord[] {
    return [...this.d.records(), ...(this.collections?.records() ?? [])].filter((r) => r.shards);
  }

  private placed(r: ShardedRecord): { id: string; shards: number; owners: readonly string[] | undefined } {
    return { id: r.id, shards: r.shards!, owners: this.d.net.placement(r.id) };
  }

  /** The owner of each shard, as this node knows it. */
  owners(record: ShardedRecord): readonly string[] {
    return this.d.net.placement(record.id) ?? [];
  }

  /** The sum of the shards' versions as last seen here (grows with every write through this node). */
  version(record: ShardedRecord): number {
    return (this.known.get(record.id) ?? []).reduce((s, v) => s + v, 0);
  }

  private noteVersion(record: ShardedRecord, shard: number, version: number): void {
    let v = this.known.get(record.id);
    if (!v) this.known.set(record.id, (v = new Array<number>(record.shards!).fill(0)));
    v[shard] = Math.max(v[shard], version);
  }

  // ---- operations, from any node ----

  /**
   * A read of every shard of `record` (`read`), run again with the index's new
   * record when an import switched it meanwhile (replaceShards: the same index
   * under a new storage id, its old shards removed): an owner that follows the
   * new record refuses the old one (replica), and one read takes every shard's
   * answer under one record, the old shards' or the new ones', never a mix.
   */
  private async reading<T>(record: IndexRecord, read: (record: IndexRecord) => Promise<T>): Promise<T> {
    for (let tries = 1; ; tries++) {
      try {
        return await read(record);
      } catch (e) {
        if (!(e instanceof ServiceError && e.code === 'ERR_INDEX_NOT_FOUND') || tries >= SWITCHED_READ_TRIES) throw e;
        await this.d.catchUp();
        const now = this.d.record(record.tenant, record.name);
        if (!now || !isSwitched(record, now)) throw e;
        record = now;
      }
    }
  }

  /**
   * k nearest neighbours over every shard, merged (mergeTopK); a filter goes to
   * every shard, each answering its top-k of what the filter selects there;
   * version: the shards' versions summed.
   */
  search(record: IndexRecord, x: Rows, k: number, params?: SearchParams): Promise<ShardAnswer & { version: number }> {
    return this.reading(record, async (record) => {
      const header = { op: 'search', k, ...paramsHeader(params) };
      const request = [bytesOf(x), ...filterParts(params)];
      const answers = await this.scatter(record, () => ({ header, parts: request }), READ_TIMEOUT_MS);
      const binary = isBinaryFactory(record.factory);
      const nq = x.length / rowLength(record.dimension, binary);
      const parts = answers.map((a) => ({ distances: binary ? view(a.parts[0], Int32Array) : view(a.parts[0], Float32Array), labels: view(a.parts[1], BigInt64Array) }));
      const merged = mergeTopK(parts, nq, k, record.metric);
      return { ...merged, version: answers.reduce((s, a) => s + (a.header.version as number), 0) };
    });
  }

  /** Every stored vector within `radius` of each query, from every shard (mergeRanges: by ascending id). */
  rangeSearch(record: IndexRecord, x: Rows, radius: number, params?: SearchParams): Promise<AnyRangeSearchResult> {
    return this.reading(record, async (record) => {
      const header = { op: 'range', radius, ...paramsHeader(params) };
      const parts = [bytesOf(x), ...filterParts(params)];
      const answers = await this.scatter(record, () => ({ header, parts }), READ_TIMEOUT_MS);
      const binary = isBinaryFactory(record.factory);
      const nq = x.length / rowLength(record.dimension, binary);
      const ranges = answers.map((a) => ({
        lims: view(a.parts[0], BigUint64Array),
        distances: binary ? view(a.parts[1], Int32Array) : view(a.parts[1], Float32Array),
        labels: view(a.parts[2], BigInt64Array),
      }));
      return mergeRanges(ranges, nq) as AnyRangeSearchResult;
    });
  }

  /**
   * Removes what a filter selects: every shard removes the ids present in it that
   * the filter selects (resolved in the shard's turn and logged by those ids, in
   * its own stream, as a whole index does), under one idempotency key (the
   * client's, or one of its own: a part resent to a shard's next owner is not
   * applied twice); removed: the shards' counts summed.
   */
  async removeSelected(record: IndexRecord, sel: IDSelector, key?: string): Promise<{ removed: number }> {
    const request: ShardMessage = { header: { op: 'remove-selected', key: key ?? `~${randomUUID()}` }, parts: [selectorPart(sel)] };
    const answers = await this.write(record, Array.from({ length: record.shards! }, () => request));
    return { removed: answers.reduce((s, a) => s + (a!.header.removed as number), 0) };
  }

  /** Adds rows with the caller's ids: each row to the shard its id hashes to. */
  async add(record: IndexRecord, x: Rows, ids: BigInt64Array, key?: string): Promise<{ added: number }> {
    const row = rowLength(record.dimension, isBinaryFactory(record.factory));
    const n = ids.length;
    const of = shardsOf(ids, record.shards!);
    const rows = new Array<number[]>(record.shards!).fill(undefined as never).map(() => [] as number[]);
    for (let i = 0; i < n; i++) rows[of[i]].push(i);
    const mutations = rows.map((picked): Mutation | undefined => {
      if (picked.length === 0) return undefined;
      const sub = new (x.constructor as Float32ArrayConstructor | Uint8ArrayConstructor)(picked.length * row);
      const subIds = new BigInt64Array(picked.length);
      picked.forEach((src, j) => {
        sub.set(x.subarray(src * row, (src + 1) * row), j * row);
        subIds[j] = ids[src];
      });
      return { type: 'add', x: sub, d: record.dimension, ids: subIds };
    });
    const applied = await this.mutate(record, mutations, key);
    return { added: applied.reduce((s, a) => s + a.added, 0) };
  }

  /** Removes ids from the shards they hash to. */
  async remove(record: IndexRecord, ids: BigInt64Array, key?: string): Promise<{ removed: number }> {
    const of = shardsOf(ids, record.shards!);
    const mutations = Array.from({ length: record.shards! }, (_, s): Mutation | undefined => {
      const mine = ids.filter((_, i) => of[i] === s);
      return mine.length > 0 ? { type: 'remove', ids: mine } : undefined;
    });
    const applied = await this.mutate(record, mutations, key);
    return { removed: applied.reduce((s, a) => s + a.removed, 0) };
  }

  /** The same mutation on every shard (train: each shard trains on the same vectors, deterministically; reset). */
  async everyShard(record: IndexRecord, m: Mutation, key?: string): Promise<void> {
    await this.mutate(record, Array.from({ length: record.shards! }, () => m), key);
  }

  /** The stored vectors of `ids`, each from its shard, row after row. */
  reconstruct(record: IndexRecord, ids: readonly bigint[]): Promise<Rows> {
    return this.reading(record, async (record) => {
      const all = BigInt64Array.from(ids);
      const of = shardsOf(all, record.shards!);
      const binary = isBinaryFactory(record.factory);
      const row = rowLength(record.dimension, binary);
      const out = binary ? new Uint8Array(ids.length * row) : new Float32Array(ids.length * row);
      await Promise.all(
        Array.from({ length: record.shards! }, async (_, s) => {
          const at = ids.map((_, i) => i).filter((i) => of[i] === s);
          if (at.length === 0) return;
          const a = await this.onShard(record, s, { header: { op: 'reconstruct', ids: at.map((i) => String(ids[i])) }, parts: [] }, READ_TIMEOUT_MS);
          const rows = binary ? a.parts[0] : view(a.parts[0], Float32Array);
          at.forEach((i, j) => out.set(rows.subarray(j * row, (j + 1) * row), i * row));
        }),
      );
      return out;
    });
  }

  /**
   * Every visible vector of every shard with its id, in id order (a sharded
   * index's export). Each shard is read in pages by id (a page is one NATS
   * message, under its max_payload): a write during the gather is in it or
   * not, and no vector is read twice.
   */
  gather(record: IndexRecord): Promise<{ ids: BigInt64Array; vectors: Float32Array }> {
    return this.reading(record, async (record) => {
      const d = record.dimension;
      const count = Math.max(1, Math.floor(GATHER_PAGE_BYTES / (d * 4 + 8)));
      const shards = await Promise.all(
        Array.from({ length: record.shards! }, async (_, s) => {
          const pages: { ids: BigInt64Array; vectors: Float32Array }[] = [];
          for (let after: string | undefined; ; ) {
            const a = await this.onShard(record, s, { header: { op: 'rows', count, ...(after !== undefined && { after }) }, parts: [] }, READ_TIMEOUT_MS);
            const page = { ids: view(a.parts[0], BigInt64Array), vectors: view(a.parts[1], Float32Array) };
            pages.push(page);
            if (page.ids.length < count) return pages;
            after = String(page.ids[page.ids.length - 1]);
          }
        }),
      );
      // Each shard's rows are in id order already; the shards' ids interleave: one sort of them all.
      const rows = shards.flat().flatMap((p) => Array.from(p.ids, (id, row) => ({ id, p, row })));
      rows.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
      const vectors = new Float32Array(rows.length * d);
      rows.forEach(({ p, row }, j) => vectors.set(p.vectors.subarray(row * d, (row + 1) * d), j * d));
      return { ids: BigInt64Array.from(rows, (r) => r.id), vectors };
    });
  }

  /**
   * Each shard's own FAISS file (its export: what it holds, deleted ids rebuilt
   * away), read in pages from its owner (a page is one NATS message, under its
   * max_payload; every page of a shard is of one serialization: exportPage). A
   * shard whose owner changed during the read (its pages no longer kept) is
   * read again from its first page, up to SHARD_FILE_TRIES times.
   */
  shardFiles(record: IndexRecord): Promise<Uint8Array[]> {
    return this.reading(record, async (record) => {
      return Promise.all(
        Array.from({ length: record.shards! }, async (_, s) => {
          for (let tries = 1; ; tries++) {
            try {
              return await this.shardFile(record, s);
            } catch (e) {
              if (!(e instanceof ServiceError && e.code === 'ERR_INVALID_ARGUMENT') || tries >= SHARD_FILE_TRIES) throw e;
            }
          }
        }),
      );
    });
  }

  private async shardFile(record: IndexRecord, s: number): Promise<Uint8Array> {
    const pages: Uint8Array[] = [];
    let token: string | undefined;
    for (let at = 0, total = Infinity; at < total; ) {
      const a = await this.onShard(record, s, { header: { op: 'export', at, count: GATHER_PAGE_BYTES, ...(token !== undefined && { token }) }, parts: [] }, READ_TIMEOUT_MS);
      token = a.header.token as string;
      total = a.header.total as number;
      if (a.parts[0].length === 0 && at < total) throw new ServiceError('ERR_STORAGE_FAILED', `Shard ${s} of index ${record.name} answered an empty page of its export at ${at} of ${total} bytes`);
      pages.push(new Uint8Array(a.parts[0])); // a copy: the message's buffer is not ours to keep
      at += a.parts[0].length;
    }
    return Buffer.concat(pages);
  }

  /** What every shard holds, summed (describe, count). */
  counts(record: IndexRecord): Promise<ShardCounts> {
    return this.reading(record, async (record) => {
      const answers = await this.scatter(record, () => ({ header: { op: 'count' }, parts: [] }), READ_TIMEOUT_MS);
      const h = answers.map((a) => a.header as { ntotal: number; bytes: number; isTrained: boolean; type: string; version: number });
      return {
        ntotal: h.reduce((s, a) => s + a.ntotal, 0),
        bytes: h.reduce((s, a) => s + a.bytes, 0),
        isTrained: h.every((a) => a.isTrained),
        type: h[0].type,
        version: h.reduce((s, a) => s + a.version, 0),
        versions: h.map((a) => a.version),
      };
    });
  }

  /**
   * Resolves once the shards' versions, each read at its owner, sum to at least
   * `seq` (X-Min-Sequence); past MIN_SEQUENCE_WAIT_MS, ERR_REPLICA_BEHIND.
   * `summed`: the versions' sum now (an index's counts; a collection's info).
   */
  async awaitVersion(record: ShardedRecord, seq: number, summed = async () => (await this.counts(record as IndexRecord)).version): Promise<void> {
    const deadline = Date.now() + MIN_SEQUENCE_WAIT_MS;
    for (;;) {
      const version = await summed();
      if (version >= seq) return;
      const what = 'spec' in record ? 'collection' : 'index';
      if (Date.now() > deadline) throw new ServiceError('ERR_REPLICA_BEHIND', `The shards of ${what} ${record.name} are at version ${version} (summed), not yet ${seq} (within ${MIN_SEQUENCE_WAIT_MS} ms)`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * One mutation per shard (undefined: none for that shard), each appended to its
   * shard's stream by its owner and acknowledged once JetStream has it. Each gets
   * an idempotency key (the client's, or one of its own): a request resent to the
   * shard's next owner after its owner died is not applied twice. `header`: a
   * collection's says so (sharded-collections.ts).
   */
  async mutate(record: ShardedRecord, mutations: (Mutation | undefined)[], key?: string, header: Record<string, unknown> = { op: 'mutate' }): Promise<{ added: number; removed: number }[]> {
    const k = key ?? `~${randomUUID()}`;
    const answers = await this.write(record, mutations.map((m) => (m ? { header, parts: [mutationBytes({ ...m, key: k })] } : undefined)));
    return answers.filter((a): a is ShardMessage => a !== undefined).map((a) => a.header as { added: number; removed: number });
  }

  /**
   * Each shard's part of a write (undefined: none for that shard), sent once
   * every part is known to fit in a message to another node: a part too large
   * refuses the write before any shard has applied its own, wherever the shards are.
   */
  write(record: ShardedRecord, requests: (ShardMessage | undefined)[]): Promise<(ShardMessage | undefined)[]> {
    requests.forEach((r, s) => r && this.d.net.requireFits({ header: { ...r.header, record, shard: s }, parts: r.parts }));
    return Promise.all(requests.map((r, s) => (r ? this.onShard(record, s, { header: r.header, parts: r.parts }, WRITE_TIMEOUT_MS) : undefined)));
  }

  /** The same request to every shard. */
  scatter(record: ShardedRecord, request: () => ShardMessage, timeoutMs: number): Promise<ShardMessage[]> {
    return Promise.all(Array.from({ length: record.shards! }, (_, s) => this.onShard(record, s, request(), timeoutMs)));
  }

  /**
   * Shard `s`'s part of a request, answered by its owner: here, or over the
   * network. An owner that is gone is waited out (up to SHARD_OWNER_WAIT_MS)
   * until the placement names the next one.
   */
  async onShard(record: ShardedRecord, s: number, request: ShardMessage, timeoutMs: number): Promise<ShardMessage> {
    request.header = { ...request.header, record, shard: s };
    const deadline = Date.now() + SHARD_OWNER_WAIT_MS;
    for (;;) {
      const owner = this.owners(record)[s];
      try {
        let answer: ShardMessage;
        if (owner === undefined) {
          // An import's switch removes the old shards' placement: a read of them goes again with the new record (reading).
          if (!('spec' in record) && (await this.switchedAway(record))) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(record.name)}`);
          throw new ShardUnreachable('(none)', 'no owner placed yet');
        }
        else if (owner === this.d.net.node) answer = await this.handle(request);
        else answer = await this.whileOwner(record, s, owner, this.d.net.call(owner, request, timeoutMs));
        if (typeof answer.header.version === 'number') this.noteVersion(record, s, answer.header.version);
        return answer;
      } catch (e) {
        if (!(e instanceof ShardUnreachable)) throw e;
        if (Date.now() > deadline) {
          throw new ServiceError('ERR_STORAGE_FAILED', `Shard ${s} of index ${record.name} has no owner that answers (${e.message}); retry`);
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  /** Whether this node's catalog, caught up, names another storage id for the index of `record` (an import switched it, or it was made again). */
  private async switchedAway(record: IndexRecord): Promise<boolean> {
    await this.d.catchUp();
    const now = this.d.record(record.tenant, record.name);
    return now !== undefined && now.id !== record.id;
  }

  /**
   * `call`'s answer from `owner`, or ShardUnreachable (the request goes to the
   * shard's next owner) once the placement names another owner: a node killed
   * while it held a request never answers it, and its shards move within ~3 s
   * (NODE_LIVE_MS), long before the call's timeout. Sending the request again is
   * safe: every write carries an idempotency key (mutate), which the shard's
   * stream and replicas apply once.
   */
  private async whileOwner(record: ShardedRecord, s: number, owner: string, call: Promise<ShardMessage>): Promise<ShardMessage> {
    let timer: NodeJS.Timeout | undefined;
    const moved = new Promise<never>((_, reject) => {
      const check = (): void => {
        if (this.owners(record)[s] !== owner) reject(new ShardUnreachable(owner, `shard ${s} moved to ${this.owners(record)[s]}`));
        else timer = setTimeout(check, 200);
      };
      timer = setTimeout(check, 200);
    });
    call.catch(() => undefined); // given up on: its late failure is no one's
    try {
      return await Promise.race([call, moved]);
    } finally {
      clearTimeout(timer);
    }
  }

  // ---- a shard's owner ----

  /** Answers a shard's part of a request (from this node or another). */
  async handle(request: ShardMessage): Promise<ShardMessage> {
    if (request.header.collection === true) {
      const { record, shard } = request.header as { record: CollectionRecord; shard: number };
      if (!this.collections) throw new ServiceError('ERR_UNSUPPORTED', 'This node serves no collection shards');
      return this.collections.handle(this.collectionReplica(record, shard), request);
    }
    const { record, shard } = request.header as { record: IndexRecord; shard: number };
    // The sender may have switched the record (a sharded import: replaceShards) before this node's catalog heard of it.
    const known = this.d.record(record.tenant, record.name);
    if (known && known.id !== record.id) await this.d.catchUp();
    const l = this.replica(record, shard);
    const h = request.header;
    switch (h.op) {
      case 'search': {
        const binary = isBinaryFactory(record.factory);
        const params = paramsOf(h, request.parts[1]);
        const r = binary ? await l.searchCodes(request.parts[0], h.k as number, params) : await this.d.search(l, view(request.parts[0], Float32Array), h.k as number, params);
        return { header: { version: r.version }, parts: [bytesOf(r.distances), bytesOf(r.labels)] };
      }
      case 'range': {
        const binary = isBinaryFactory(record.factory);
        const x = binary ? request.parts[0] : view(request.parts[0], Float32Array);
        const r = await l.rangeSearch(x, h.radius as number, paramsOf(h, request.parts[1]));
        return { header: { version: l.version }, parts: [bytesOf(r.lims), bytesOf(r.distances), bytesOf(r.labels)] };
      }
      case 'remove-selected': {
        const applied = await l.removeSelected({ type: 'remove-selected', sel: readSelectorPart(request.parts[0]), key: h.key as string });
        return { header: { added: 0, removed: applied.removed, version: l.version }, parts: [] };
      }
      case 'mutate': {
        const m = mutationOf(Buffer.from(request.parts[0].buffer, request.parts[0].byteOffset, request.parts[0].byteLength));
        const applied = await l.mutate(m);
        return { header: { added: applied.added, removed: applied.removed, version: l.version }, parts: [] };
      }
      case 'count':
        return l.read(async (index) => ({
          header: { ntotal: (await l.ntotal()), bytes: index.bytes, isTrained: index.isTrained, type: index.typeName, version: l.version },
          parts: [],
        }));
      case 'rows': {
        const page = await l.rowsAfter(h.after === undefined ? undefined : BigInt(h.after as string), h.count as number);
        return { header: { version: l.version }, parts: [bytesOf(page.ids), bytesOf(page.vectors)] };
      }
      case 'export': {
        const page = await l.exportPage(h.token as string | undefined, h.at as number, h.count as number);
        return { header: { token: page.token, total: page.total, version: l.version }, parts: [page.bytes] };
      }
      case 'reconstruct': {
        const rows = await Promise.all((h.ids as string[]).map((id) => l.reconstruct(BigInt(id))));
        return { header: { version: l.version }, parts: [Buffer.concat(rows.map((r) => bytesOf(r)))] };
      }
      default:
        throw new ServiceError('ERR_INVALID_ARGUMENT', `Unknown shard operation ${JSON.stringify(h.op)}`);
    }
  }

  /** This node's durable index of shard `shard` of `record` (made on first need: it loads from the shard's snapshot and stream). */
  private replica(record: IndexRecord, shard: number): DurableIndex {
    if (!record.shards || !Number.isInteger(shard) || shard < 0 || shard >= record.shards) {
      throw new ServiceError('ERR_INVALID_ARGUMENT', `No shard ${shard} of index ${record.name}`);
    }
    const current = this.d.record(record.tenant, record.name);
    // Deleted (and perhaps made again) since the sender looked; a record not seen here yet is the sender's to vouch for.
    if (current && current.id !== record.id) throw new ServiceError('ERR_INDEX_NOT_FOUND', `No index named ${JSON.stringify(record.name)}`);
    const id = shardStorageId(record.id, shard);
    let r = this.replicas.get(id);
    if (!r) {
      const { shards: _, ...whole } = record;
      r = { record, shard, l: this.d.make({ ...whole, id }) };
      this.replicas.set(id, r);
    }
    return r.l as DurableIndex;
  }

  /** This node's durable collection of shard `shard` of a sharded collection (as replica() for an index's). */
  private collectionReplica(record: CollectionRecord, shard: number): DurableCollection {
    if (!record.shards || !Number.isInteger(shard) || shard < 0 || shard >= record.shards) {
      throw new ServiceError('ERR_INVALID_ARGUMENT', `No shard ${shard} of collection ${record.name}`);
    }
    const current = this.collections!.record(record.tenant, record.name);
    if (current && current.id !== record.id) throw new ServiceError('ERR_COLLECTION_NOT_FOUND', `No collection named ${JSON.stringify(record.name)}`);
    const id = shardStorageId(record.id, shard);
    let r = this.replicas.get(id);
    if (!r) {
      const { shards: _, ...whole } = record;
      r = { record, shard, l: this.collections!.make({ ...whole, id }) };
      this.replicas.set(id, r);
    }
    return r.l as DurableCollection;
  }

  // ---- placement ----

  /**
   * Run every second on every node. The coordinator (the live node first by
   * name) moves the sharded indexes' and collections' placements to balancedPlacements over the
   * live nodes (all indexes at once: the nodes' totals balanced); every node loads the shards it owns (from the shard's shared
   * snapshot and stream: it can answer for them at once) and unloads those it no
   * longer owns (snapshot first, shared: the next owner replays less), and
   * forgets the shards of deleted indexes.
   */
  async balance(): Promise<void> {
    const { net } = this.d;
    const records = this.shardedRecords();
    const live = net.liveNodes();
    if (live[0] === net.node) {
      const placed = balancedPlacements(records.map((r) => this.placed(r)), live);
      for (const r of records) {
        const before = net.placement(r.id);
        const after = placed.get(r.id)!;
        if (!before || after.some((o, i) => o !== before[i])) {
          try {
            net.setPlacement(r.id, after);
          } catch (e) {
            console.error(`faiss-proxy: placing the shards of ${r.tenant}/${r.name} failed:`, e);
          }
        }
      }
    }
    const ids = new Set(records.map((r) => r.id));
    for (const [id, r] of [...this.replicas]) {
      if (!ids.has(r.record.id)) {
        this.replicas.delete(id);
        this.known.delete(r.record.id);
        await this.d.forgetLocally(r.l);
        continue;
      }
      if (r.l.loaded && !r.l.busy && this.owners(r.record)[r.shard] !== net.node) {
        await r.l.close().catch((e) => console.error(`faiss-proxy: unloading shard ${r.shard} of ${r.record.name} failed:`, e));
        this.d.onResident();
      }
    }
    const owned = new Set<string>();
    for (const r of records) {
      this.owners(r).forEach((owner, s) => {
        if (owner !== net.node) return;
        const id = shardStorageId(r.id, s);
        owned.add(id);
        if (this.owned.has(id)) return; // loaded when it came (the memory budget may evict it since: it loads on its next use)
        const l = 'spec' in r ? this.collectionReplica(r, s) : this.replica(r, s);
        void l.readState(async () => undefined).catch((e) => console.error(`faiss-proxy: loading shard ${s} of ${r.tenant}/${r.name} failed:`, e));
      });
    }
    this.owned.clear();
    for (const id of owned) this.owned.add(id);
  }

  /** Each shard of each sharded collection and its owner (metrics, dashboard). */
  collectionOwnership(): { tenant: string; collection: string; shard: number; node: string }[] {
    return (this.collections?.records() ?? [])
      .filter((r) => r.shards)
      .flatMap((r) => this.owners(r).map((node, shard) => ({ tenant: r.tenant, collection: r.name, shard, node })));
  }

  /** Records of the streams of `record`'s shards held here that this node has not applied yet (0 for one not loaded: it catches up on load). */
  lagOf(record: ShardedRecord): number {
    let lag = 0;
    for (const r of this.replicas.values()) if (r.record.id === record.id) lag += r.l.lag;
    return lag;
  }

  /** Each shard's owner (metrics, dashboard). */
  ownership(): { tenant: string; index: string; shard: number; node: string }[] {
    return this.d
      .records()
      .filter((r) => r.shards)
      .flatMap((r) => this.owners(r).map((node, shard) => ({ tenant: r.tenant, index: r.name, shard, node })));
  }
}
