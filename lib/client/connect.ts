// connect(): the embedded API's classes and functions, backed by indexes on a
// faiss-proxy server. Code written against the embedded library runs against
// the server by changing `require('faiss-proxy')` to `connect({ url, apiKey })`.
import { METRIC_INNER_PRODUCT, METRIC_L2, metricOfName, ScalarQuantizer, type MetricType, type QuantizerType } from '../constants';
import { isArrayBuffer } from '../brands';
import type { DeserializeIndexOptions, FaissApi, FaissBinaryApi } from '../contract';
import { FaissError } from '../errors';
import { invalidParameterError, readArgument } from '../is';
import {
  bitsArg,
  descriptionArg,
  dimensionArg as dimension,
  hnswMArg,
  metricArg as metric,
  serviceMetricArg,
  nbitsArg,
  nlistArg,
  optionsArg,
  pqMArg,
  qtypeArg,
  serializedBytesArg,
  trustedOption,
} from '../limits';
import type { SearchResult } from '../types';
import { resolveSettings, type ConnectionSettings } from './config';
import { RemoteIndex, type IndexDescription, type RemoteContext, type RemoteIndexInfo } from './remote-index';
import { RemoteIndexBinary } from './remote-binary-index';
import { remoteCollections } from './remote-collection';
import { ResultsCache, type ResultsCacheOptions } from './results-cache';
import { Transport, newIdempotencyKey, type TransportOptions } from './transport';
import * as SELECTORS from '../selector-classes';

export interface ConnectOptions extends Partial<ConnectionSettings>, Omit<TransportOptions, 'url' | 'apiKey'> {
  /** Reuse search answers for identical queries on an unchanged index (off by default). */
  cacheResults?: ResultsCacheOptions;
}

/** Where the index lives on the server; omit for an anonymous index deleted by dispose(). */
export interface RemoteIndexOptions {
  name?: string;
  /**
   * The server's device for it, as the service's create takes it (docs/gpu.md): "cpu"
   * (the default), "gpu" (one of the server's GPUs) or "gpu:<n>". A server without
   * GPUs refuses "gpu" with ERR_UNSUPPORTED, and a GPU it does not use with ERR_NO_SUCH_DEVICE.
   */
  device?: 'cpu' | 'gpu' | `gpu:${number}`;
  /**
   * A cluster's (docs/cluster.md): partition the index's vectors over this many
   * shards (1-64) by a hash of their ids. A sharded index takes the caller's ids
   * (IndexIDMap/IndexIDMap2, or IVF with addWithIds); a single-node server refuses it.
   */
  shards?: number;
}

/** options.device and options.shards, checked, as the create request carries them. */
function on(o: RemoteIndexOptions): { device?: string; shards?: number } {
  const device = readArgument('options', () => o.device);
  const shards = readArgument('options', () => o.shards);
  if (device !== undefined && (typeof device !== 'string' || !/^(cpu|gpu(:[0-9]{1,4})?)$/.test(device))) throw invalidParameterError('options.device', '"cpu", "gpu" or "gpu:<n>"', device);
  if (shards !== undefined && (typeof shards !== 'number' || !Number.isInteger(shards) || shards < 1 || shards > 64)) throw invalidParameterError('options.shards', 'an integer from 1 to 64', shards);
  return { ...(device !== undefined && { device }), ...(shards !== undefined && { shards }) };
}

const descriptionOf = (v: unknown, what: string): IndexDescription => RemoteIndex.check(v, what).description;

const SQ_FACTORY: Record<number, string> = {
  [ScalarQuantizer.QT_8bit]: 'SQ8',
  [ScalarQuantizer.QT_4bit]: 'SQ4',
  [ScalarQuantizer.QT_6bit]: 'SQ6',
  [ScalarQuantizer.QT_fp16]: 'SQfp16',
  [ScalarQuantizer.QT_8bit_direct]: 'SQ8_direct',
};

export function connect(options: ConnectOptions = {}) {
  const settings = resolveSettings(options);
  const transport = new Transport({ ...options, ...settings });
  const cache = options.cacheResults ? new ResultsCache<SearchResult>(options.cacheResults) : undefined;
  const ctx: RemoteContext = { transport, cache };

  class Index extends RemoteIndex {}

  class IndexFlat extends Index {
    constructor(d: number, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}) {
      super(ctx, dimension(d), { factory: 'Flat', metric: serviceMetricArg(metricType) , ...on(o) }, o.name);
    }
  }
  class IndexFlatL2 extends IndexFlat {
    constructor(d: number, o: RemoteIndexOptions = {}) {
      super(d, METRIC_L2, o);
    }
  }
  class IndexFlatIP extends IndexFlat {
    constructor(d: number, o: RemoteIndexOptions = {}) {
      super(d, METRIC_INNER_PRODUCT, o);
    }
  }
  class IndexIVFFlat extends Index {
    constructor(quantizer: RemoteIndex, d: number, nlist: number, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}) {
      if (descriptionOf(quantizer, 'quantizer').factory !== 'Flat') throw new FaissError('A remote IVF index takes a flat quantizer', 'ERR_UNSUPPORTED');
      super(ctx, dimension(d), { factory: `IVF${nlistArg(nlist)},Flat`, metric: metric(metricType) , ...on(o) }, o.name);
    }
  }
  class IndexIVFPQ extends Index {
    constructor(quantizer: RemoteIndex, d: number, nlist: number, m: number, nbits: number, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}) {
      if (descriptionOf(quantizer, 'quantizer').factory !== 'Flat') throw new FaissError('A remote IVF index takes a flat quantizer', 'ERR_UNSUPPORTED');
      const factory = `IVF${nlistArg(nlist)},PQ${pqMArg(m, 'm')}x${nbitsArg(nbits)}`;
      super(ctx, dimension(d), { factory, metric: metric(metricType) , ...on(o) }, o.name);
    }
  }
  class IndexHNSWFlat extends Index {
    constructor(d: number, M = 32, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}) {
      super(ctx, dimension(d), { factory: `HNSW${hnswMArg(M)},Flat`, metric: serviceMetricArg(metricType) , ...on(o) }, o.name);
    }
  }
  class IndexPQ extends Index {
    constructor(d: number, M: number, nbits: number, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}) {
      super(ctx, dimension(d), { factory: `PQ${pqMArg(M, 'M')}x${nbitsArg(nbits)}`, metric: metric(metricType) , ...on(o) }, o.name);
    }
  }
  class IndexScalarQuantizer extends Index {
    constructor(d: number, qtype: QuantizerType, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}) {
      const factory = SQ_FACTORY[qtypeArg(qtype)];
      if (!factory) throw new FaissError(`Scalar quantizer type ${qtype} has no index_factory name; it is not available remotely`, 'ERR_UNSUPPORTED');
      super(ctx, dimension(d), { factory, metric: metric(metricType) , ...on(o) }, o.name);
    }
  }
  class IndexIDMap extends Index {
    constructor(index: RemoteIndex, o: RemoteIndexOptions = {}) {
      const inner = descriptionOf(index, 'index');
      super(ctx, index.d, { factory: `IDMap,${inner.factory}`, metric: inner.metric , ...on(o) }, o.name);
    }
  }
  class IndexIDMap2 extends Index {
    constructor(index: RemoteIndex, o: RemoteIndexOptions = {}) {
      const inner = descriptionOf(index, 'index');
      super(ctx, index.d, { factory: `IDMap2,${inner.factory}`, metric: inner.metric , ...on(o) }, o.name);
    }
  }

  /** Any FAISS factory string, built on the server. */
  function indexFactory(d: number, description: string, metricType: MetricType = METRIC_L2, o: RemoteIndexOptions = {}): Index {
    return new (class extends Index {})(ctx, dimension(d), { factory: descriptionArg(description), metric: serviceMetricArg(metricType) , ...on(o) }, o.name);
  }

  class IndexBinary extends RemoteIndexBinary {}

  class IndexBinaryFlat extends IndexBinary {
    constructor(d: number, o: RemoteIndexOptions = {}) {
      super(ctx, bitsArg(d), { factory: 'BFlat', metric: METRIC_L2 , ...on(o) }, o.name);
    }
  }
  class IndexBinaryIVF extends IndexBinary {
    constructor(quantizer: RemoteIndexBinary, d: number, nlist: number, o: RemoteIndexOptions = {}) {
      // The server builds the quantizer from the factory string: a flat one, or an HNSW one (BIVF<n>_HNSW<M>).
      const q = RemoteIndexBinary.check(quantizer, 'quantizer').description.factory;
      const hnsw = /^BHNSW([0-9]+)$/.exec(q);
      if (q !== 'BFlat' && !hnsw) throw new FaissError('A remote binary IVF index takes an IndexBinaryFlat or IndexBinaryHNSW quantizer', 'ERR_INVALID_ARGUMENT');
      if (quantizer.d !== bitsArg(d)) throw new FaissError(`Expected a quantizer of dimension ${d}`, 'ERR_DIMENSION');
      super(ctx, d, { factory: `BIVF${nlistArg(nlist)}${hnsw ? `_HNSW${hnsw[1]}` : ''}`, metric: METRIC_L2 , ...on(o) }, o.name);
    }
  }
  class IndexBinaryHNSW extends IndexBinary {
    constructor(d: number, M = 32, o: RemoteIndexOptions = {}) {
      super(ctx, bitsArg(d), { factory: `BHNSW${hnswMArg(M)}`, metric: METRIC_L2 , ...on(o) }, o.name);
    }
  }

  /** A binary index_binary_factory string, built (and checked) on the server. */
  function indexBinaryFactory(d: number, description: string, o: RemoteIndexOptions = {}): IndexBinary {
    return new (class extends IndexBinary {})(ctx, bitsArg(d), { factory: descriptionArg(description), metric: METRIC_L2 , ...on(o) }, o.name);
  }

  const isBinaryInfo = (info: RemoteIndexInfo): boolean => info.metric === 'Hamming';
  const remoteOf = (info: RemoteIndexInfo, name?: string, existing?: RemoteIndexInfo): Index | IndexBinary =>
    isBinaryInfo(info)
      ? new IndexBinary(ctx, info.dimension, { factory: info.factory, metric: METRIC_L2 }, name, existing)
      : new Index(ctx, info.dimension, { factory: info.factory, metric: metricOfName(info.metric) ?? METRIC_L2 }, name, existing);

  async function describe(name: string): Promise<RemoteIndexInfo> {
    return (await transport.request({ method: 'GET', path: `/v1/indexes/${encodeURIComponent(name)}` })).json as RemoteIndexInfo;
  }

  /** A float index that exists on the server (a binary one: openIndexBinary). */
  async function openIndex(name: string): Promise<Index> {
    const info = await describe(name);
    if (isBinaryInfo(info)) throw new FaissError(`Index ${name} is a binary index: open it with openIndexBinary`, 'ERR_INVALID_ARGUMENT');
    return remoteOf(info, name, info) as Index;
  }

  /** A binary index that exists on the server. */
  async function openIndexBinary(name: string): Promise<IndexBinary> {
    const info = await describe(name);
    if (!isBinaryInfo(info)) throw new FaissError(`Index ${name} is not a binary index: open it with openIndex`, 'ERR_INVALID_ARGUMENT');
    return remoteOf(info, name, info) as IndexBinary;
  }

  async function listIndexes(): Promise<RemoteIndexInfo[]> {
    return (await transport.request({ method: 'GET', path: '/v1/indexes' })).json.indexes;
  }

  async function serializeIndex(index: RemoteIndex): Promise<Uint8Array> {
    return RemoteIndex.check(index, 'index').serialize();
  }

  /**
   * Loads FAISS's serialized bytes into a new index on the server. The server
   * always reads an import in its sandbox: `trusted` (as in the embedded API) is
   * accepted and has no effect here.
   */
  async function deserializeIndex(buffer: Uint8Array | ArrayBuffer, options: RemoteIndexOptions & DeserializeIndexOptions = {}): Promise<Index> {
    const index = await importBytes(buffer, options);
    if (!(index instanceof Index)) {
      index.dispose();
      throw new FaissError('deserializeIndex: the bytes hold a binary index; use deserializeIndexBinary', 'ERR_CORRUPT_INDEX');
    }
    return index;
  }

  async function serializeIndexBinary(index: RemoteIndexBinary): Promise<Uint8Array> {
    return RemoteIndexBinary.check(index, 'index').serialize();
  }

  /** As deserializeIndex, for a binary index's bytes (faiss.serialize_index_binary's). */
  async function deserializeIndexBinary(
    buffer: Uint8Array | ArrayBuffer,
    options: RemoteIndexOptions & DeserializeIndexOptions = {},
  ): Promise<IndexBinary> {
    const index = await importBytes(buffer, options);
    if (!(index instanceof IndexBinary)) {
      index.dispose();
      throw new FaissError('deserializeIndexBinary: the bytes hold a float index; use deserializeIndex', 'ERR_CORRUPT_INDEX');
    }
    return index;
  }

  async function importBytes(buffer: Uint8Array | ArrayBuffer, options: RemoteIndexOptions & DeserializeIndexOptions): Promise<Index | IndexBinary> {
    const given = serializedBytesArg(buffer);
    const bytes = isArrayBuffer(given) ? new Uint8Array(given) : given;
    const o = optionsArg(options, (v) => {
      trustedOption(v);
      return { name: v.name as string | undefined };
    });
    const name = o.name ?? `idx-${newIdempotencyKey()}`;
    const r = await transport.request({ method: 'PUT', path: `/v1/indexes/${encodeURIComponent(name)}/import`, bytes });
    const info = r.json as RemoteIndexInfo;
    const index = remoteOf(info, o.name);
    Object.defineProperty(index, 'name', { value: name });
    index.attach(info);
    return index;
  }

  const api = {
    Index,
    IndexFlat,
    IndexFlatL2,
    IndexFlatIP,
    IndexIVFFlat,
    IndexIVFPQ,
    IndexHNSWFlat,
    IndexPQ,
    IndexScalarQuantizer,
    IndexIDMap,
    IndexIDMap2,
    indexFactory,
    openIndex,
    openIndexBinary,
    listIndexes,
    serializeIndex,
    deserializeIndex,
    IndexBinary,
    IndexBinaryFlat,
    IndexBinaryIVF,
    IndexBinaryHNSW,
    indexBinaryFactory,
    serializeIndexBinary,
    deserializeIndexBinary,
    METRIC_L2: METRIC_L2 as typeof METRIC_L2,
    METRIC_INNER_PRODUCT: METRIC_INNER_PRODUCT as typeof METRIC_INNER_PRODUCT,
    ScalarQuantizer,
    FaissError,
    ...SELECTORS,
    // The collections of issue 18 (lib/collections/types.ts), as the embedded openCollections() gives them.
    ...remoteCollections(transport),
    /** Search answers served from the local cache, and those that were not. */
    cacheStats: () => ({ hits: cache?.hits ?? 0, misses: cache?.misses ?? 0 }),
  };
  // The compiler holds the remote API to the embedded one's contract (lib/contract.ts).
  return api satisfies FaissApi<RemoteIndex> & FaissBinaryApi<RemoteIndexBinary>;
}

export type RemoteFaiss = ReturnType<typeof connect>;
