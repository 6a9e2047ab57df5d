// FaissProxyStore's options, checked when the store is built, and the
// CollectionsApi they choose: in process (openCollections) without a url, a
// faiss-proxy server (connect) with one.
import type { EmbeddedCollections } from '../collections/embedded';
import type { CollectionMetric, CollectionsApi, PayloadFieldType } from '../collections/types';
import { connect } from '../client/connect';
import { collectionNameArg } from '../collections/input';
import { FaissError } from '../errors';
import { invalidParameterError, isObject, isString } from '../is';

export interface FaissProxyStoreOptions {
  /** The collection (or alias) holding the documents; created on the first add when missing. */
  collection: string;
  /** A faiss-proxy server: the store is remote. Without it, the collections are in this process. */
  url?: string;
  /** The remote store's API key (else FAISS_PROXY_API_KEY or the config file, as connect() reads them). */
  apiKey?: string;
  /** In process: the directory the collections persist in (in memory when omitted). */
  path?: string;
  /** The FAISS factory string of a collection this store creates (default "Flat"). */
  factory?: string;
  /** The metric of a collection this store creates (default "l2", as LangChain's FaissStore). */
  metric?: CollectionMetric;
  /** Payload indexes of a collection this store creates: metadata key → kind. */
  payloadIndexes?: Record<string, PayloadFieldType>;
}

const KEYS = new Set(['collection', 'url', 'apiKey', 'path', 'factory', 'metric', 'payloadIndexes']);

function optionalString(o: Record<string, unknown>, key: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!isString(v) || v.length === 0) throw invalidParameterError(`options.${key}`, 'a non-empty string', v);
  return v;
}

export function checkOptions(options: unknown): FaissProxyStoreOptions {
  if (!isObject(options)) throw invalidParameterError('options', 'an object with a collection name', options);
  for (const key of Object.keys(options)) {
    if (!KEYS.has(key)) throw new FaissError(`Unknown FaissProxyStore option "${key}" (known: ${[...KEYS].join(', ')})`, 'ERR_INVALID_ARGUMENT');
  }
  const collection = collectionNameArg(options.collection, 'options.collection');
  const url = optionalString(options, 'url');
  const apiKey = optionalString(options, 'apiKey');
  const path = optionalString(options, 'path');
  if (url !== undefined && path !== undefined) {
    throw new FaissError('options.url (a remote store) and options.path (an embedded store) exclude each other: pass one', 'ERR_INVALID_ARGUMENT');
  }
  if (url === undefined && apiKey !== undefined) {
    throw new FaissError('options.apiKey is for a remote store: pass options.url with it', 'ERR_INVALID_ARGUMENT');
  }
  const metric = options.metric;
  if (metric !== undefined && metric !== 'l2' && metric !== 'ip') throw invalidParameterError('options.metric', '"l2" or "ip"', metric);
  const payloadIndexes = options.payloadIndexes;
  if (payloadIndexes !== undefined && !isObject(payloadIndexes)) throw invalidParameterError('options.payloadIndexes', 'an object', payloadIndexes);
  // The collection checks the factory string and the payload index kinds when it is created.
  return {
    collection,
    url,
    apiKey,
    path,
    factory: optionalString(options, 'factory'),
    metric,
    payloadIndexes: payloadIndexes as Record<string, PayloadFieldType> | undefined,
  };
}

export interface OpenedApi {
  api: CollectionsApi;
  /** Lets go of what the store opened (the embedded collections); nothing for a remote store. */
  close(): Promise<void>;
}

export async function openApi(o: FaissProxyStoreOptions): Promise<OpenedApi> {
  if (o.url !== undefined) return { api: connect({ url: o.url, apiKey: o.apiKey }), close: async () => {} };
  // Loaded here, not at the top: a remote store never loads the native addon.
  const { openCollections } = await import('../collections/embedded');
  if (o.path === undefined) {
    const db = await openCollections();
    return { api: db, close: () => db.close() };
  }
  return openDirectory(o.path, openCollections);
}

interface OpenDirectory {
  db: Promise<EmbeddedCollections>;
  stores: number;
}

// openCollections holds a directory's lock until closed (a second open is
// ERR_BUSY): the stores of this process on one directory share one, closed when
// the last of them closes. A directory being closed is opened again only after.
const openDirectories = new Map<string, OpenDirectory>();
const closingDirectories = new Map<string, Promise<void>>();

async function openDirectory(dir: string, openCollections: typeof import('../collections/embedded').openCollections): Promise<OpenedApi> {
  const { resolve } = await import('node:path');
  const key = resolve(dir);
  let entry = openDirectories.get(key);
  if (entry === undefined) {
    const closing = closingDirectories.get(key);
    const open = async () => {
      await closing?.catch(() => undefined);
      return openCollections({ path: key });
    };
    const opening: OpenDirectory = { db: open(), stores: 0 };
    opening.db.catch(() => {
      if (openDirectories.get(key) === opening) openDirectories.delete(key);
    });
    openDirectories.set(key, opening);
    entry = opening;
  }
  const shared = entry;
  shared.stores++;
  let db: EmbeddedCollections;
  try {
    db = await shared.db;
  } catch (e) {
    shared.stores--;
    throw e;
  }
  let released = false;
  return {
    api: db,
    close: async () => {
      if (released) return;
      released = true;
      if (--shared.stores > 0) return;
      openDirectories.delete(key);
      const closing = db.close().finally(() => {
        if (closingDirectories.get(key) === closing) closingDirectories.delete(key);
      });
      closingDirectories.set(key, closing);
      await closing;
    },
  };
}
