// The index or collection an import writes to or an export reads from, through
// the remote client (lib/client): opened, or created when missing and a factory
// is given.
import { connect, type RemoteFaiss } from '../../lib/client/connect';
import type { RemoteIndex } from '../../lib/client/remote-index';
import type { Collection, CollectionMetric } from '../../lib/collections/types';
import { metricOfName } from '../../lib/constants';
import { FaissError } from '../../lib/errors';

export interface TargetOptions {
  url?: string;
  key?: string;
  index?: string;
  collection?: string;
  /** Create the target with this FAISS factory string when it does not exist. */
  factory?: string;
  metric?: string;
}

/** The client of --url and --key, else FAISS_PROXY_URL / FAISS_PROXY_API_KEY / faiss-proxy.json (lib/client/config.ts). */
export function client(o: TargetOptions): RemoteFaiss {
  return connect({ url: o.url, apiKey: o.key });
}

const notFound = (e: unknown) => e instanceof FaissError && (e.code === 'ERR_NOT_FOUND' || e.code === 'ERR_COLLECTION_NOT_FOUND');

/** The index to import into (created with `dim` when missing and --factory given), checked to hold vectors of `dim`. */
export async function importIndex(faiss: RemoteFaiss, o: TargetOptions, dim: number, file: string): Promise<RemoteIndex> {
  const name = o.index!;
  let index: RemoteIndex;
  try {
    index = await faiss.openIndex(name);
  } catch (e) {
    if (!notFound(e)) throw e;
    if (!o.factory) throw new Error(`Index ${name} does not exist; give --factory (e.g. Flat, HNSW32, IVF1024,Flat) to create it`);
    const given = o.metric ?? 'L2';
    const metric = metricOfName(given) ?? metricOfName(given.toUpperCase());
    if (metric === undefined) throw new Error(`--metric ${given}: expected L2 or IP (or L1, Linf, Lp, Canberra, BrayCurtis, JensenShannon)`);
    index = faiss.indexFactory(dim, o.factory, metric, { name });
    await index.ensure();
  }
  if (index.d !== dim) throw new Error(`${file}: vectors of dimension ${dim}, but index ${name} holds vectors of dimension ${index.d}`);
  return index;
}

/** The collection to import into (created with `dim` when missing and --factory given). */
export async function importCollection(faiss: RemoteFaiss, o: TargetOptions, dim: number, file: string): Promise<Collection> {
  const name = o.collection!;
  const collection = faiss.collection(name);
  try {
    const info = await collection.info();
    if (info.dimension !== dim) throw new Error(`${file}: vectors of dimension ${dim}, but collection ${name} holds vectors of dimension ${info.dimension}`);
    return collection;
  } catch (e) {
    if (!notFound(e)) throw e;
    if (!o.factory) throw new Error(`Collection ${name} does not exist; give --factory (e.g. Flat, HNSW32) to create it`);
    return faiss.createCollection({ name, dimension: dim, factory: o.factory, metric: (o.metric ?? 'l2').toLowerCase() as CollectionMetric });
  }
}
