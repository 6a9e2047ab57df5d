// The embedded collections: `openCollections()` gives the CollectionsApi in
// process, in memory, or durable in a local directory (embedded-store.ts: a
// SQLite database for the specs, aliases and op logs; embedded-snapshot.ts: a
// snapshot file per collection). The remote client's `connect()` gives the same
// API over HTTP: moving from one to the other is the line that makes it.
//
// Creating and deleting collections and aliases go through one queue, in
// arrival order; each collection's mutations go through its own
// (embedded-live.ts). Aliases resolve at each call of a Collection handle.
import * as path from 'node:path';
import { FaissError } from '../errors';
import { invalidParameterError, isInteger, isObject, readArgument } from '../is';
import { EmbeddedCollection } from './embedded-collection';
import { LiveCollection, type LiveOptions } from './embedded-live';
import type { CollectionStore } from './embedded-store';
import { collectionLimitsArg, type CollectionLimits } from './limits';
import { collectionNameArg as nameArg, specInput } from './input';
import { SerialQueue } from './serial-queue';
import type { AliasInfo, Collection, CollectionInfo, CollectionSpec, CollectionsApi } from './types';

export interface OpenCollectionsOptions {
  /** A directory (created if missing) that makes the collections durable; without it they live in memory. */
  path?: string;
  /** Most bytes of a point's payload as UTF-8 JSON (default 65,536): ERR_PAYLOAD_TOO_LARGE beyond. */
  maxPayloadBytes?: number;
  /** With `path`: bytes of logged ops after which a collection is snapshotted and its log emptied (default 64 MiB). */
  snapshotLogBytes?: number;
}

/** The CollectionsApi in process; close() snapshots durable collections and frees them. */
export interface EmbeddedCollections extends CollectionsApi {
  close(): Promise<void>;
}

const DEFAULT_SNAPSHOT_LOG_BYTES = 64 * 2 ** 20;

function optionsOf(o: unknown): { dir?: string; limits: CollectionLimits; snapshotLogBytes: number } {
  if (o === undefined) return { limits: collectionLimitsArg(undefined), snapshotLogBytes: DEFAULT_SNAPSHOT_LOG_BYTES };
  return readArgument('options', () => {
    if (!isObject(o)) throw invalidParameterError('options', 'an object', o);
    const { path: dir, maxPayloadBytes, snapshotLogBytes = DEFAULT_SNAPSHOT_LOG_BYTES } = o;
    if (dir !== undefined && (typeof dir !== 'string' || dir.length === 0 || dir.includes('\0'))) {
      throw invalidParameterError('options.path', 'a directory path', dir);
    }
    if (!isInteger(snapshotLogBytes) || snapshotLogBytes < 1) {
      throw invalidParameterError('options.snapshotLogBytes', 'a positive integer', snapshotLogBytes);
    }
    return { dir, limits: collectionLimitsArg({ maxPayloadBytes }), snapshotLogBytes };
  });
}

/** Opens the collections: in memory, or durable in `o.path` (its snapshots loaded and their logs replayed). */
export async function openCollections(o?: OpenCollectionsOptions): Promise<EmbeddedCollections> {
  const { dir, limits, snapshotLogBytes } = optionsOf(o);
  if (dir === undefined) return new Collections(undefined, { limits, snapshotLogBytes }, [], []);
  // Loaded here: better-sqlite3's native module only for collections kept on disk.
  const { CollectionStore } = await import('./embedded-store');
  const store = CollectionStore.open(path.resolve(dir));
  const live: LiveCollection[] = [];
  try {
    store.removeOrphans();
    for (const stored of store.collections()) live.push(await LiveCollection.load(stored, { store, limits, snapshotLogBytes }));
    return new Collections(store, { store, limits, snapshotLogBytes }, live, store.aliases());
  } catch (e) {
    for (const l of live) await l.close().catch(() => undefined);
    store.close();
    throw e;
  }
}

const notFound = (name: string): FaissError => new FaissError(`There is no collection or alias named ${JSON.stringify(name)}`, 'ERR_COLLECTION_NOT_FOUND');

/** What a Collection handle needs: its collection, looked up at each call. */
export interface CollectionResolver {
  resolve(nameOrAlias: string): LiveCollection;
}

class Collections implements EmbeddedCollections, CollectionResolver {
  private readonly live = new Map<string, LiveCollection>();
  private readonly aliases = new Map<string, string>();
  private readonly catalog = new SerialQueue();
  private nextUid = 1;
  private closed = false;

  constructor(
    private readonly store: CollectionStore | undefined,
    private readonly o: LiveOptions,
    live: LiveCollection[],
    aliases: AliasInfo[],
  ) {
    for (const l of live) this.live.set(l.name, l);
    for (const a of aliases) this.aliases.set(a.alias, a.collection);
  }

  private check(): void {
    if (this.closed) throw new FaissError('The collections are closed; open them again to use them', 'ERR_DISPOSED');
  }

  resolve(nameOrAlias: string): LiveCollection {
    nameArg(nameOrAlias, 'nameOrAlias');
    this.check();
    const live = this.live.get(this.aliases.get(nameOrAlias) ?? nameOrAlias);
    if (!live) throw notFound(nameOrAlias);
    return live;
  }

  async createCollection(spec: CollectionSpec): Promise<Collection> {
    const valid = specInput(spec);
    return this.catalog.run(async () => {
      this.check();
      if (this.live.has(valid.name)) throw new FaissError(`Collection ${valid.name} already exists`, 'ERR_COLLECTION_EXISTS');
      if (this.aliases.has(valid.name)) {
        throw new FaissError(`${valid.name} is already the name of an alias (of ${this.aliases.get(valid.name)})`, 'ERR_COLLECTION_EXISTS');
      }
      const live = LiveCollection.create(valid, this.o, () => (this.store ? this.store.createCollection(valid) : this.nextUid++));
      this.live.set(valid.name, live);
      return new EmbeddedCollection(valid.name, this);
    });
  }

  collection(nameOrAlias: string): Collection {
    return new EmbeddedCollection(nameOrAlias, this); // its name is checked at each call, as the remote client's
  }

  async listCollections(): Promise<CollectionInfo[]> {
    this.check();
    const all = [...this.live.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
    return Promise.all(all.map((l) => l.read((s) => s.info())));
  }

  async deleteCollection(name: string): Promise<void> {
    nameArg(name, 'name');
    return this.catalog.run(async () => {
      this.check();
      const live = this.live.get(name);
      if (!live) {
        if (this.aliases.has(name)) {
          throw new FaissError(`${name} is an alias (of ${this.aliases.get(name)}); delete a collection by its own name`, 'ERR_INVALID_ARGUMENT');
        }
        throw notFound(name);
      }
      const pointing = [...this.aliases].filter(([, c]) => c === name).map(([a]) => a);
      if (pointing.length > 0) {
        throw new FaissError(
          `Collection ${name} cannot be deleted while aliases point at it (${pointing.join(', ')}): switch or delete them first`,
          'ERR_INVALID_ARGUMENT',
        );
      }
      await live.drop(); // after the calls queued before it; the ones after it find it deleted
      this.live.delete(name);
    });
  }

  async createAlias(alias: string, collection: string): Promise<void> {
    nameArg(alias, 'alias');
    nameArg(collection, 'collection');
    return this.catalog.run(() => {
      this.check();
      if (this.aliases.has(alias)) throw new FaissError(`Alias ${alias} already exists (it points at ${this.aliases.get(alias)})`, 'ERR_ALIAS_EXISTS');
      if (this.live.has(alias)) throw new FaissError(`${alias} is already the name of a collection`, 'ERR_ALIAS_EXISTS');
      this.setAlias(alias, collection);
    });
  }

  async switchAlias(alias: string, collection: string): Promise<void> {
    nameArg(alias, 'alias');
    nameArg(collection, 'collection');
    return this.catalog.run(() => {
      this.check();
      if (!this.aliases.has(alias)) throw new FaissError(`There is no alias named ${JSON.stringify(alias)}`, 'ERR_ALIAS_NOT_FOUND');
      this.setAlias(alias, collection);
    });
  }

  private setAlias(alias: string, collection: string): void {
    if (!this.live.has(collection)) {
      const hint = this.aliases.has(collection) ? ` (${collection} is an alias: an alias points at a collection by its own name)` : '';
      throw new FaissError(`There is no collection named ${JSON.stringify(collection)}${hint}`, 'ERR_COLLECTION_NOT_FOUND');
    }
    this.store?.putAlias(alias, collection);
    this.aliases.set(alias, collection);
  }

  async deleteAlias(alias: string): Promise<void> {
    nameArg(alias, 'alias');
    return this.catalog.run(() => {
      this.check();
      if (!this.aliases.has(alias)) throw new FaissError(`There is no alias named ${JSON.stringify(alias)}`, 'ERR_ALIAS_NOT_FOUND');
      this.store?.deleteAlias(alias);
      this.aliases.delete(alias);
    });
  }

  async listAliases(): Promise<AliasInfo[]> {
    this.check();
    return [...this.aliases].map(([alias, collection]) => ({ alias, collection })).sort((a, b) => (a.alias < b.alias ? -1 : 1));
  }

  async close(): Promise<void> {
    return this.catalog.run(async () => {
      if (this.closed) return;
      this.closed = true;
      const failures: unknown[] = [];
      for (const live of this.live.values()) await live.close().catch((e: unknown) => failures.push(e));
      this.live.clear();
      this.store?.close();
      if (failures.length > 0) throw failures[0];
    });
  }
}
