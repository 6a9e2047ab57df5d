// A Collection handle of the embedded collections: it checks a call's
// arguments (the validators the remote client and the service share,
// input.ts / filter.ts), finds its collection by name or alias at each call,
// and hands the call to it (embedded-live.ts).
import { invalidParameterError, isObject, readArgument } from '../is';
import type { CollectionResolver } from './embedded';
import { idempotencyKeyArg } from './embedded-keys';
import { requestFingerprint } from '../request-fingerprint';
import type { LiveCollection } from './embedded-live';
import { parseFilter } from './filter';
import {
  filterOptionInput,
  idsArg,
  payloadFieldArg,
  payloadFieldTypeArg,
  pointsInput,
  readOptionsInput,
  scrollOptionsInput,
  searchKArg,
  searchOptionsInput,
  vectorArg,
  vectorsArg,
} from './input';
import type {
  Collection,
  CollectionInfo,
  Filter,
  Hit,
  PayloadFieldType,
  Point,
  PointInput,
  ReadOptions,
  ScrollOptions,
  SearchOptions,
  WriteOptions,
} from './types';

export class EmbeddedCollection implements Collection {
  constructor(
    readonly name: string,
    private readonly collections: CollectionResolver,
  ) {}

  private live(): LiveCollection {
    return this.collections.resolve(this.name);
  }

  async info(): Promise<CollectionInfo> {
    return this.live().read((s) => s.info());
  }

  async train(vectors: Float32Array | readonly (readonly number[])[]): Promise<void> {
    const live = this.live();
    const { x } = vectorsArg(vectors, live.dimension, 'vectors');
    await live.mutate({ op: () => ({ type: 'train', x }), answer: () => undefined });
  }

  async upsert(points: readonly PointInput[], o?: WriteOptions): Promise<{ upserted: number }> {
    const key = idempotencyKeyArg(o);
    const live = this.live();
    const { ids, x, payloads } = pointsInput(points, live.dimension, live.limits);
    return live.mutate({
      idempotency: keyed(key, () => requestFingerprint(['upsert', ids, payloads], x)),
      op: () => ({ type: 'upsert', ids, x, payloads }),
      answer: (r) => ({ upserted: r.upserted ?? ids.length }),
    });
  }

  async get(ids: readonly string[], o?: ReadOptions): Promise<Point[]> {
    const valid = idsArg(ids, 'ids');
    const read = readOptionsInput(o);
    return this.live().read((s) => s.get(valid, read));
  }

  async delete(target: readonly string[] | { filter: Filter }, o?: WriteOptions): Promise<{ deleted: number }> {
    const key = idempotencyKeyArg(o);
    const live = this.live();
    if (Array.isArray(target)) {
      const ids = idsArg(target, 'ids');
      return live.mutate({
        idempotency: keyed(key, () => requestFingerprint(['delete', ids])),
        op: () => ({ type: 'delete', ids }),
        answer: (r) => ({ deleted: r.deleted ?? 0 }),
      });
    }
    const filter = readArgument('target', () => {
      if (!isObject(target) || !('filter' in target)) throw invalidParameterError('target', 'an array of ids or { filter }', target);
      return target.filter;
    });
    const parsed = parseFilter(filter, 'filter');
    return live.mutate({
      idempotency: keyed(key, () => requestFingerprint(['deleteByFilter', parsed.text])),
      // Resolved to ids in the queue, after the mutations before it; the log holds the ids.
      op: (s) => {
        const ids = s.matchingIds(parsed);
        return ids.length === 0 ? null : { type: 'delete', ids };
      },
      answer: (r) => ({ deleted: r.deleted ?? 0 }),
    });
  }

  async count(o?: { filter?: Filter }): Promise<number> {
    const filter = filterOptionInput(o);
    return this.live().read((s) => s.count(filter));
  }

  async scroll(o?: ScrollOptions): Promise<{ points: Point[]; nextOffset: string | null }> {
    const valid = scrollOptionsInput(o);
    return this.live().read((s) => s.scroll(valid));
  }

  async search(vector: Float32Array | readonly number[], k: number, o?: SearchOptions): Promise<Hit[]> {
    const live = this.live();
    const x = vectorArg(vector, live.dimension, 'vector');
    const [hits] = await this.searchRows(live, x, 1, k, o);
    return hits;
  }

  async searchBatch(vectors: Float32Array | readonly (readonly number[])[], k: number, o?: SearchOptions): Promise<Hit[][]> {
    const live = this.live();
    const { x, n } = vectorsArg(vectors, live.dimension, 'vectors');
    return this.searchRows(live, x, n, k, o);
  }

  private searchRows(live: LiveCollection, x: Float32Array, n: number, k: unknown, o: SearchOptions | undefined): Promise<Hit[][]> {
    const kk = searchKArg(k);
    const options = searchOptionsInput(o);
    return live.read((s) => s.search(x, n, kk, options));
  }

  async createPayloadIndex(field: string, type: PayloadFieldType): Promise<void> {
    const f = payloadFieldArg(field);
    const schema = payloadFieldTypeArg(type);
    await this.live().mutate({
      op: () => ({ type: 'createPayloadIndex', field: f, schema }),
      answer: () => undefined,
    });
  }

  async deletePayloadIndex(field: string): Promise<void> {
    const f = payloadFieldArg(field);
    await this.live().mutate({
      op: () => ({ type: 'deletePayloadIndex', field: f }),
      answer: () => undefined,
    });
  }
}

/** The idempotency of a call made with `key`; the fingerprint is only computed then. */
const keyed = (key: string | undefined, fingerprint: () => string): { key: string; fingerprint: string } | undefined =>
  key === undefined ? undefined : { key, fingerprint: fingerprint() };
