// A cluster's sharded collections ("shards": N at creation, docs/cluster.md):
// the points of one collection partitioned by a hash of their string ids
// (shards.ts pointShardsOf) over N shards, each an ordinary durable collection
// (durable-collection.ts: its own JetStream stream and shared snapshots), placed,
// loaded and forwarded by the sharded indexes' placement (sharded-indexes.ts:
// one placement for both). This module is what a collection's requests are over
// shards: writes and reads by ids go to the shards the ids hash to, filters and
// searches scatter to every shard and their answers merge into the one answer a
// single collection gives. Knows nothing of NATS or HTTP.
import { randomUUID } from 'node:crypto';
import type { StateScrollOptions, StateSearchOptions } from '../../lib/collections/collection-state';
import type { ParsedFilter } from '../../lib/collections/filter';
import type { PointsBatch, ValidReadOptions } from '../../lib/collections/input';
import { compareIds } from '../../lib/collections/points';
import type { CollectionInfo, Hit, Payload, Point } from '../../lib/collections/types';
import { requestFingerprint } from '../../lib/request-fingerprint';
import type { CollectionRecord } from '../storage/catalog';
import { mutationOf, type Mutation } from '../storage/mutation-log';
import { collectionMutation, type DurableCollection } from './durable-collection';
import { ServiceError } from './errors';
import { READ_TIMEOUT_MS, type ShardedIndexes, type ShardMessage } from './sharded-indexes';
import { pointShardsOf } from './shards';

/** A point as it crosses between nodes: its vector as numbers (a float32 read back exactly). */
type WirePoint = { id: string; payload?: Payload | null; vector?: number[]; score?: number };

/**
 * A parsed filter as it crosses between nodes (checked once, where the request
 * came in): its tree as JSON, each set of values as { "__set": [...] }. Its
 * text is no filter to parse again: a range's text holds the instants of
 * date-times, not the date-times.
 */
const filterToWire = (f: ParsedFilter): string => JSON.stringify(f, (_k, v: unknown) => (v instanceof Set ? { __set: [...v] } : v));
const filterFromWire = (json: string): ParsedFilter =>
  JSON.parse(json, (_k, v: unknown) => (v !== null && typeof v === 'object' && Array.isArray((v as { __set?: unknown }).__set) ? new Set((v as { __set: unknown[] }).__set) : v)) as ParsedFilter;

const toWire = (p: Point | Hit): WirePoint => (p.vector ? { ...p, vector: Array.from(p.vector) } : (p as WirePoint));
const fromWire = <P extends Point>(p: WirePoint): P => (p.vector ? { ...p, vector: Float32Array.from(p.vector) } : p) as P;

/** What every shard of a collection told about itself, gathered (describe, list, quotas, versions). */
export interface CollectionShardsInfo {
  info: CollectionInfo;
  /** What the collection's registry entry keeps for listing and quotas without asking the shards again. */
  summary: { type: string; ntotal: number; bytes: number; isTrained: boolean; payloadBytes: number; payloadIndexes: Record<string, string> };
  /** The shards' versions (stream sequences) summed. */
  version: number;
}

/** The ids of `ids` that fall on each of `n` shards, with the position each had in `ids`. */
function byShard(ids: readonly string[], n: number): { ids: string[]; at: number[] }[] {
  const of = pointShardsOf(ids, n);
  const out = Array.from({ length: n }, () => ({ ids: [] as string[], at: [] as number[] }));
  ids.forEach((id, i) => {
    out[of[i]].ids.push(id);
    out[of[i]].at.push(i);
  });
  return out;
}

export class ShardedCollections {
  constructor(private readonly placement: ShardedIndexes) {}

  // ---- operations, from any node ----

  /** Every shard's info, gathered: the count summed, trained when every shard is. */
  async info(record: CollectionRecord): Promise<CollectionShardsInfo> {
    const answers = await this.scatter(record, () => ({ op: 'info' }));
    const h = answers.map((a) => a.header as { info: CollectionInfo; type: string; bytes: number; payloadBytes: number; version: number });
    const ntotal = h.reduce((s, a) => s + a.info.count, 0);
    const isTrained = h.every((a) => a.info.isTrained);
    const info = { ...h[0].info, name: record.name, count: ntotal, isTrained };
    const summary = {
      type: h[0].type,
      ntotal,
      bytes: h.reduce((s, a) => s + a.bytes, 0),
      isTrained,
      payloadBytes: h.reduce((s, a) => s + a.payloadBytes, 0),
      payloadIndexes: info.payloadIndexes,
    };
    return { info, summary, version: h.reduce((s, a) => s + a.version, 0) };
  }

  /** Resolves once the shards' versions sum to at least `seq` (ShardedIndexes.awaitVersion). */
  awaitVersion(record: CollectionRecord, seq: number): Promise<void> {
    return this.placement.awaitVersion(record, seq, async () => (await this.info(record)).version);
  }

  /** The same op (train, payload indexes) on every shard: every shard holds the same quantizer and the same payload indexes. */
  async everyShard(record: CollectionRecord, op: Parameters<typeof collectionMutation>[0], key?: string): Promise<void> {
    const m = collectionMutation(op, requestFingerprint(op.type === 'train' ? { op: 'train' } : op, 'x' in op ? op.x : undefined), key);
    await this.mutate(record, Array.from({ length: record.shards! }, () => m), key);
  }

  /**
   * Each point to the shard its id hashes to, one request per shard, all sent
   * at once. Each shard's part is all or none; the parts are not atomic
   * together (docs/cluster.md): a part a shard refused or never answered is
   * applied by sending the request again with the same Idempotency-Key (the
   * parts already applied are answered from memory, not applied twice).
   */
  async upsert(record: CollectionRecord, input: PointsBatch, key?: string): Promise<{ upserted: number }> {
    const d = record.spec.dimension;
    const parts = byShard(input.ids, record.shards!);
    const mutations = parts.map(({ ids, at }): Mutation | undefined => {
      if (ids.length === 0) return undefined;
      const x = new Float32Array(ids.length * d);
      at.forEach((src, j) => x.set(input.x.subarray(src * d, (src + 1) * d), j * d));
      const payloads = at.map((src) => input.payloads[src]);
      return collectionMutation({ type: 'upsert', ids, x, payloads }, requestFingerprint({ op: 'upsert', ids, payloads }, x), key);
    });
    const applied = await this.mutate(record, mutations, key);
    return { upserted: applied.reduce((s, a) => s + a.added, 0) };
  }

  /** Deletes these ids from the shards they hash to. */
  async deleteIds(record: CollectionRecord, ids: readonly string[], key?: string): Promise<{ deleted: number }> {
    const mutations = byShard(ids, record.shards!).map(({ ids: mine }) =>
      mine.length > 0 ? collectionMutation({ type: 'delete', ids: mine }, requestFingerprint({ op: 'delete', ids: mine }), key) : undefined,
    );
    const applied = await this.mutate(record, mutations, key);
    return { deleted: applied.reduce((s, a) => s + a.removed, 0) };
  }

  /** Every shard deletes what the filter matches on it when the delete's turn comes there. */
  async deleteWhere(record: CollectionRecord, filter: ParsedFilter, key?: string): Promise<{ deleted: number }> {
    const k = key ?? `~${randomUUID()}`;
    // A write: every shard's part checked to fit in a message before any is sent (ShardedIndexes.write).
    const request = this.request({ op: 'deleteWhere', filter: filterToWire(filter), key: k });
    const answers = await this.placement.write(record, Array.from({ length: record.shards! }, () => request));
    return { deleted: answers.reduce((s, a) => s + (a!.header.removed as number), 0) };
  }

  async count(record: CollectionRecord, filter?: ParsedFilter): Promise<number> {
    const answers = await this.scatter(record, () => ({ op: 'count', ...(filter && { filter: filterToWire(filter) }) }));
    return answers.reduce((s, a) => s + (a.header.count as number), 0);
  }

  /** The points of these ids that exist, in the order asked: each shard asked for its own ids. */
  async get(record: CollectionRecord, ids: readonly string[], o?: ValidReadOptions): Promise<Point[]> {
    const parts = byShard(ids, record.shards!);
    const found = new Map<string, Point>();
    await Promise.all(
      parts.map(async ({ ids: mine }, s) => {
        if (mine.length === 0) return;
        const a = await this.placement.onShard(record, s, this.request({ op: 'get', ids: mine, ...(o && { read: o }) }), READ_TIMEOUT_MS);
        for (const p of a.header.points as WirePoint[]) found.set(p.id, fromWire(p));
      }),
    );
    return ids.flatMap((id) => (found.has(id) ? [found.get(id)!] : []));
  }

  /**
   * The k best hits of each query over every shard's k best, as one collection
   * ranks them: by score (L2: smallest first; IP: largest first), equal scores
   * by id (one collection lists them in the order its index holds them).
   */
  async search(record: CollectionRecord, x: Float32Array, n: number, k: number, o: StateSearchOptions): Promise<Hit[][]> {
    const { filter, ...rest } = o;
    const answers = await this.scatter(record, () => ({ op: 'search', n, k, ...rest, ...(filter && { filter: filterToWire(filter) }) }), READ_TIMEOUT_MS, [new Uint8Array(x.buffer, x.byteOffset, x.byteLength)]);
    const ip = record.spec.metric === 'ip';
    const order = ip ? (a: Hit, b: Hit) => b.score - a.score || compareIds(a.id, b.id) : (a: Hit, b: Hit) => a.score - b.score || compareIds(a.id, b.id);
    return Array.from({ length: n }, (_, q) =>
      answers
        .flatMap((a) => (a.header.hits as WirePoint[][])[q].map((h) => fromWire<Hit>(h)))
        .sort(order)
        .slice(0, k),
    );
  }

  /**
   * A page in id order, as one collection pages: each shard's page from the
   * same offset, merged by id; the next page starts at the first id past this
   * one on any shard (the merged pages' next, or a shard's own next offset).
   */
  async scroll(record: CollectionRecord, o: StateScrollOptions): Promise<{ points: Point[]; nextOffset: string | null }> {
    const { filter, ...rest } = o;
    const answers = await this.scatter(record, () => ({ op: 'scroll', ...rest, ...(filter && { filter: filterToWire(filter) }) }));
    const merged = answers.flatMap((a) => (a.header.points as WirePoint[]).map((p) => fromWire<Point>(p))).sort((a, b) => compareIds(a.id, b.id));
    const next = [...(merged.length > o.limit ? [merged[o.limit].id] : []), ...answers.map((a) => a.header.nextOffset as string | null).filter((n): n is string => n !== null)];
    return { points: merged.slice(0, o.limit), nextOffset: next.length === 0 ? null : next.reduce((a, b) => (compareIds(a, b) <= 0 ? a : b)) };
  }

  /** One mutation per shard (undefined: none for it), as an index's (ShardedIndexes.mutate). */
  private mutate(record: CollectionRecord, mutations: (Mutation | undefined)[], key?: string): Promise<{ added: number; removed: number }[]> {
    return this.placement.mutate(record, mutations, key, this.request({ op: 'mutate' }).header);
  }

  private scatter(record: CollectionRecord, header: () => Record<string, unknown>, timeoutMs = READ_TIMEOUT_MS, parts: Uint8Array[] = []): Promise<ShardMessage[]> {
    return this.placement.scatter(record, () => this.request(header(), parts), timeoutMs);
  }

  /** A collection's request (sharded-indexes.ts handle sends it here). */
  private request(header: Record<string, unknown>, parts: Uint8Array[] = []): ShardMessage {
    return { header: { ...header, collection: true }, parts };
  }

  // ---- a shard's owner ----

  /** Answers a shard's part of a collection's request, with this node's replica of the shard. */
  async handle(l: DurableCollection, request: ShardMessage): Promise<ShardMessage> {
    const h = request.header;
    const filterOf = (): ParsedFilter | undefined => (h.filter === undefined ? undefined : filterFromWire(h.filter as string));
    const read = (h.read as ValidReadOptions | undefined) ?? { withPayload: h.withPayload !== false, withVector: h.withVector === true };
    switch (h.op) {
      case 'info':
        return l.read(async (s) => ({
          header: { info: s.info(), type: s.index.typeName, bytes: s.index.bytes + s.payloadBytes, payloadBytes: s.payloadBytes, version: l.version },
          parts: [],
        }));
      case 'mutate': {
        const m = mutationOf(Buffer.from(request.parts[0].buffer, request.parts[0].byteOffset, request.parts[0].byteLength));
        const applied = await l.mutate(m);
        return { header: { added: applied.added, removed: applied.removed, version: l.version }, parts: [] };
      }
      case 'deleteWhere': {
        const filter = filterOf()!;
        const key = h.key as string;
        const fingerprint = requestFingerprint({ op: 'delete', filter: filter.text });
        const { removed } = await l.mutate({ key, fingerprint, resolve: (s) => collectionMutation({ type: 'delete', ids: s.matchingIds(filter) }, fingerprint, key) });
        return { header: { removed, version: l.version }, parts: [] };
      }
      case 'count': {
        const filter = filterOf();
        return l.read(async (s) => ({ header: { count: s.count(filter), version: l.version }, parts: [] }), 'count');
      }
      case 'get': {
        const points = await l.read((s) => s.get(h.ids as string[], read), 'get');
        return { header: { points: points.map(toWire), version: l.version }, parts: [] };
      }
      case 'search': {
        const p = request.parts[0];
        const aligned = p.byteOffset % 4 === 0 ? p : new Uint8Array(p);
        const x = new Float32Array(aligned.buffer, aligned.byteOffset, aligned.byteLength / 4);
        const o: StateSearchOptions = {
          ...read,
          ...(h.filter !== undefined && { filter: filterOf() }),
          ...(h.nprobe !== undefined && { nprobe: h.nprobe as number }),
          ...(h.efSearch !== undefined && { efSearch: h.efSearch as number }),
        };
        const hits = await l.read((s) => s.search(x, h.n as number, h.k as number, o), 'search');
        return { header: { hits: hits.map((q) => q.map(toWire)), version: l.version }, parts: [] };
      }
      case 'scroll': {
        const o: StateScrollOptions = { ...read, limit: h.limit as number, offset: h.offset as string | null, ...(h.filter !== undefined && { filter: filterOf() }) };
        const page = await l.read((s) => s.scroll(o), 'scroll');
        return { header: { points: page.points.map(toWire), nextOffset: page.nextOffset, version: l.version }, parts: [] };
      }
      default:
        throw new ServiceError('ERR_INVALID_ARGUMENT', `Unknown collection shard operation ${JSON.stringify(h.op)}`);
    }
  }
}
