// The argument rules and limits of the index contract (lib/contract.ts), in one
// place. Each public boundary checks an argument once, with these: the embedded
// API (lib/faiss-index.ts, lib/indexes.ts, lib/io.ts), the remote client
// (lib/client), and the service's HTTP validation, whose JSON schemas are built
// from `schemaOf` below. The addon holds the same numbers as a backstop for
// callers that reach it without this layer (native/constructors.cc,
// native/factory_check.h, native/workers/search_args.h, native/validate.cc).
//
// They keep a value sane (a typo, a negative, a unit mistake); what a call may
// allocate is bounded by the per-call memory limit (setMemoryLimits, the
// service's --max-request-memory), which the addon checks with the index in hand.
import { FaissError } from './errors';
import { integerIn, invalidParameterError, isFiniteNumber, isInteger, isObject, readArgument } from './is';
import { isArrayBuffer, isUint8Array } from './brands';
import { METRIC_Lp, METRIC_NAMES, type MetricType } from './constants';
import { selectorArg } from './selectors';
import type { DirectMapType, SearchParams } from './types';

/** An integer argument's bounds, inclusive. */
export interface IntegerLimit {
  readonly min: number;
  readonly max: number;
}

const between = (min: number, max: number): IntegerLimit => Object.freeze({ min, max });

/**
 * Every bound, by the argument's name.
 *
 * dimension: 2^20, the addon's own bound on every index it builds or reads. It
 * was 65,536 in the remote client and the service's create route while the
 * embedded API, the addon and every import (HTTP included) took 2^20, so a
 * server already held indexes a client could not make. One vector of 2^20
 * floats is 4 MiB: memory is what the per-call limit, the body limit and the
 * quotas bound, not the dimension.
 */
export const LIMITS = Object.freeze({
  dimension: between(1, 2 ** 20),
  /** Neighbours per query, as Python's faiss allows on the CPU. */
  k: between(1, 2 ** 20),
  /** nprobe, efSearch and efConstruction. FAISS clamps nprobe to nlist. */
  tunable: between(1, 2 ** 30),
  /** IVF inverted lists. */
  nlist: between(1, 2 ** 24),
  /** PQ sub-quantizers; FAISS also needs m to divide d (checked with the index). */
  pqM: between(1, 2 ** 20),
  /** Bits per PQ code. */
  nbits: between(1, 16),
  /** HNSW neighbours per node. */
  hnswM: between(2, 1024),
  /** ScalarQuantizer.QT_* (0 .. QT_6bit). */
  qtype: between(0, 6),
  /** METRIC_INNER_PRODUCT .. METRIC_L2: what every index type and the service take (anyMetricArg: the rest). */
  metric: between(0, 1),
  /** Ids and positions given as numbers are exact integers; bigints reach int64. */
  id: between(-(2 ** 53), 2 ** 53),
  position: between(0, 2 ** 53),
  /**
   * Bits of a binary index's codes (d of IndexBinary*): a multiple of 8, as FAISS
   * needs (its codes are d / 8 bytes). 2^20 bits is a 128 KiB code.
   */
  binaryDimension: between(8, 2 ** 20),
  /** The seed of an IVF index's k-means (FAISS's int ClusteringParameters::seed). */
  kmeansSeed: between(-(2 ** 31), 2 ** 31 - 1),
  /** Hamming radius of a binary range search (FAISS's int). */
  hammingRadius: between(-(2 ** 31), 2 ** 31 - 1),
  /** What one call may allocate (setMemoryLimits; the service's --max-request-memory). */
  perCallBytes: between(2 ** 20, 2 ** 50),
  /**
   * Terms of one IDSelector, an operand counted each time it is used: each term
   * is a lookup per id, and IDSelectorXOr(s, s) nested n deep would be 2^n of them.
   */
  selectorTerms: between(1, 1000),
  /**
   * Terms the service may add around a caller's selector of its own (its filter of
   * removed ids, lib/selectors.ts narrowedTo), beyond selectorTerms: they are not the caller's to count.
   */
  selectorReservedTerms: between(0, 8),
});

/**
 * Most values an array of numbers may hold to be copied (1 GiB as float32, as
 * many as a search may return). Beyond it, pass a Float32Array / BigInt64Array:
 * the copy would be allocated before a single element is known to be valid.
 */
export const MAX_COPIED_VALUES = 2 ** 28;

/** The JSON Schema of an integer within a limit (the service's request schemas). */
export const schemaOf = (limit: IntegerLimit, max = limit.max): { type: 'integer'; minimum: number; maximum: number } => ({
  type: 'integer',
  minimum: limit.min,
  maximum: Math.min(max, limit.max),
});

const within = (v: unknown, name: string, limit: IntegerLimit): number => integerIn(v, name, limit.min, limit.max);

export const dimensionArg = (d: unknown): number => within(d, 'd', LIMITS.dimension);
/** A binary index's d: bits, a multiple of 8. */
export function bitsArg(d: unknown): number {
  const bits = within(d, 'd', LIMITS.binaryDimension);
  if (bits % 8 !== 0) throw invalidParameterError('d', 'a number of bits that is a multiple of 8', d);
  return bits;
}
export const hammingRadiusArg = (r: unknown): number => within(r, 'radius', LIMITS.hammingRadius);
/** Any of FAISS 1.7.3's metrics (flat and HNSW-flat indexes, knn, pairwiseDistances). */
export function anyMetricArg(m: unknown, name = 'metric'): MetricType {
  if (!isInteger(m) || !Object.hasOwn(METRIC_NAMES, m)) {
    throw invalidParameterError(name, `a FAISS metric (${Object.values(METRIC_NAMES).join(', ')})`, m);
  }
  return m as MetricType;
}

/**
 * L2 or inner product: what every other index type (and the service) supports.
 * Another FAISS metric is ERR_UNSUPPORTED, anything else ERR_INVALID_ARGUMENT.
 */
export function metricArg(m: unknown): MetricType {
  const metric = anyMetricArg(m);
  if (metric < LIMITS.metric.min || metric > LIMITS.metric.max) {
    throw new FaissError(
      `${METRIC_NAMES[metric]} is supported by flat and HNSW-flat indexes in process only; this index type takes METRIC_L2 or METRIC_INNER_PRODUCT`,
      'ERR_UNSUPPORTED',
    );
  }
  return metric;
}

/**
 * A metric a faiss-proxy server builds an index with (the remote client's flat,
 * HNSW and factory indexes): every FAISS metric but METRIC_Lp, whose p the
 * service does not store with an index. The server checks the metric against
 * the index type (ERR_UNSUPPORTED).
 */
export function serviceMetricArg(m: unknown): MetricType {
  const metric = anyMetricArg(m);
  if (metric === METRIC_Lp) {
    throw new FaissError('METRIC_Lp is not available remotely: the service does not store its p (metricArg)', 'ERR_UNSUPPORTED');
  }
  return metric;
}

/** METRIC_Lp's p (Python's index.metric_arg): a positive finite number. */
export function metricArgValueArg(p: unknown, name = 'metricArg'): number {
  if (!isFiniteNumber(p) || p <= 0 || p > 1e30) throw invalidParameterError(name, 'a positive finite number (the p of METRIC_Lp)', p);
  return p;
}

/** IndexRefine's k_factor: 1 .. 1024 (the bound the addon holds a file's to). */
export function kFactorArg(v: unknown): number {
  if (!isFiniteNumber(v) || v < 1 || v > 1024) throw invalidParameterError('kFactor', 'a number between 1 and 1024', v);
  return v;
}
export const kArg = (k: unknown): number => within(k, 'k', LIMITS.k);
export const tunableArg = (v: unknown, name: string): number => within(v, name, LIMITS.tunable);
export const kmeansSeedArg = (v: unknown): number => within(v, 'kmeansSeed', LIMITS.kmeansSeed);
export const nlistArg = (v: unknown): number => within(v, 'nlist', LIMITS.nlist);
export const pqMArg = (v: unknown, name: string): number => within(v, name, LIMITS.pqM);
export const nbitsArg = (v: unknown): number => within(v, 'nbits', LIMITS.nbits);
export const hnswMArg = (v: unknown): number => within(v, 'M', LIMITS.hnswM);
export const qtypeArg = (v: unknown): number => within(v, 'qtype', LIMITS.qtype);
export const positionArg = (v: unknown, name: string): number => within(v, name, LIMITS.position);

/** An id to reconstruct: a bigint (int64 is checked by the addon or the server), or an exact integer. */
export function idArg(id: unknown): number | bigint {
  if (typeof id === 'bigint') return id;
  return within(id, 'id', LIMITS.id);
}

export function radiusArg(radius: unknown): number {
  if (!isFiniteNumber(radius)) throw invalidParameterError('radius', 'a finite number', radius);
  return radius;
}

export function descriptionArg(description: unknown): string {
  if (typeof description !== 'string') throw invalidParameterError('description', 'a string', description);
  return description;
}

export function directMapTypeArg(type: unknown): DirectMapType {
  if (type !== 'array' && type !== 'hashtable') throw invalidParameterError('type', '"array" or "hashtable"', type);
  return type;
}

/**
 * A search's per-call settings, each read once (a getter could answer differently
 * on a second read). Unknown keys are refused, so that no setting a caller gave
 * (a misspelt `sel`, say) is silently dropped.
 */
export function searchParams(params: SearchParams | undefined): SearchParams {
  if (params === undefined) return {};
  return readArgument('params', () => {
    if (!isObject(params)) throw invalidParameterError('params', 'an object', params);
    for (const key of Object.keys(params)) {
      if (key !== 'nprobe' && key !== 'efSearch' && key !== 'sel') throw invalidParameterError('params', 'only the keys nprobe, efSearch and sel', key);
    }
    const { nprobe, efSearch, sel } = params;
    return {
      nprobe: nprobe === undefined ? undefined : tunableArg(nprobe, 'params.nprobe'),
      efSearch: efSearch === undefined ? undefined : tunableArg(efSearch, 'params.efSearch'),
      ...(sel !== undefined ? { sel: selectorArg(sel, 'params.sel') } : {}),
    };
  });
}

/**
 * A binary index's search settings: FAISS 1.7.3's binary indexes refuse
 * SearchParameters, so a selector (params.sel, checked first) is ERR_UNSUPPORTED.
 */
export function binarySearchParams(p: SearchParams): Omit<SearchParams, 'sel'> {
  if (p.sel !== undefined) throw new FaissError('params.sel: a binary index cannot filter its search (FAISS 1.7.3 binary indexes take no search parameters)', 'ERR_UNSUPPORTED');
  return { nprobe: p.nprobe, efSearch: p.efSearch };
}

/** FAISS's serialized bytes, as deserializeIndex takes them: a genuine Uint8Array (Buffer) or ArrayBuffer. */
export function serializedBytesArg(buffer: unknown): Uint8Array | ArrayBuffer {
  if (!isUint8Array(buffer) && !isArrayBuffer(buffer)) {
    throw invalidParameterError('buffer', 'a Buffer, Uint8Array or ArrayBuffer', buffer);
  }
  return buffer;
}

/** An options object; each field `read` takes is read once, inside readArgument. */
export function optionsArg<T>(options: unknown, read: (o: Record<string, unknown>) => T): T {
  return readArgument('options', () => {
    if (!isObject(options)) throw invalidParameterError('options', 'an object', options);
    return read(options);
  });
}

/** options.trusted of deserializeIndex / readIndex: absent or a boolean. */
export function trustedOption(o: Record<string, unknown>): boolean {
  const { trusted } = o;
  if (trusted !== undefined && typeof trusted !== 'boolean') throw invalidParameterError('options.trusted', 'a boolean', trusted);
  return trusted === true;
}

/** The error every use of a disposed index throws, embedded or remote. */
export const disposedError = (): FaissError => new FaissError('This index has been disposed; it cannot be used any more', 'ERR_DISPOSED');
