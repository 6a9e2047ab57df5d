// Turns a create request ({ type, params } or { factory }) into the FAISS factory
// string that builds it. Every index is built through index_factory (binary
// indexes, IndexBinary*: index_binary_factory, whose descriptions start with "B"),
// so the catalog stores one canonical description whatever the request looked like.
import { METRIC_INNER_PRODUCT, METRIC_L2, METRIC_Lp, type MetricType } from '../../lib';
import { metricNameOf, metricOfName } from '../../lib/constants';
import { isBinaryFactory } from '../../lib/any-index';
import { ServiceError } from './errors';

export const INDEX_TYPES = [
  'IndexFlatL2',
  'IndexFlatIP',
  'IndexIVFFlat',
  'IndexIVFPQ',
  'IndexHNSWFlat',
  'IndexPQ',
  'IndexScalarQuantizer',
  'IndexBinaryFlat',
  'IndexBinaryIVF',
  'IndexBinaryHNSW',
] as const;
export type IndexType = (typeof INDEX_TYPES)[number];

export const SQ_TYPES = ['SQ8', 'SQ4', 'SQ6', 'SQfp16', 'SQ8_direct'] as const;

export interface IndexParams {
  nlist?: number;
  m?: number;
  nbits?: number;
  M?: number;
  qtype?: (typeof SQ_TYPES)[number];
  /** Wrap in IndexIDMap2 so vectors can be added with caller-chosen ids. */
  idMap?: boolean;
  nprobe?: number;
  efSearch?: number;
  efConstruction?: number;
  /**
   * Open the index memory-mapped from its snapshot while it is only read (IVF
   * indexes: FAISS 1.7.3 maps inverted lists); the first write loads it fully.
   */
  mmap?: boolean;
}

export interface CreateIndexSpec {
  name: string;
  dimension: number;
  type?: IndexType;
  factory?: string;
  /** A name of METRIC_NAMES (default "L2"). */
  metric?: string;
  params?: IndexParams;
  /** "cpu" (the default), "gpu" (the GPU of serve --gpu with the least in use) or "gpu:<n>" (domain/gpu-placement.ts). */
  device?: string;
  /** A cluster's: partition the points over this many shards by a hash of their ids (domain/sharded-indexes.ts); 1 or absent: whole. */
  shards?: number;
}

/**
 * The metrics an index is created with, by name: every FAISS metric but
 * METRIC_Lp, whose p (metricArg) the catalog does not store. Which index types
 * take the ones beyond L2 and IP is lib's indexFactory's to say (flat and
 * HNSW-flat; ERR_UNSUPPORTED otherwise).
 */
export const METRIC_NAMES = ['L2', 'IP', 'L1', 'Linf', 'Canberra', 'BrayCurtis', 'JensenShannon'] as const;

export function metricValue(m: string | undefined): MetricType {
  const metric = m === undefined ? METRIC_L2 : metricOfName(m);
  if (metric === undefined || metric === METRIC_Lp) {
    throw new ServiceError('ERR_INVALID_ARGUMENT', `metric must be one of ${METRIC_NAMES.join(', ')}`);
  }
  return metric;
}
/** An index's metric by name ("Lp" only for an imported METRIC_Lp index). */
export const metricName = (v: number): string => metricNameOf(v as MetricType);

function need(params: IndexParams, key: keyof IndexParams, type: string): number {
  const v = params[key];
  if (typeof v !== 'number') throw new ServiceError('ERR_INVALID_ARGUMENT', `${type} needs params.${key}`);
  return v;
}

export function factoryString(spec: CreateIndexSpec): { factory: string; metric: MetricType } {
  const built = buildFactory(spec);
  if (spec.params?.mmap && !/(^|,)IVF/.test(built.factory)) {
    throw new ServiceError('ERR_INVALID_ARGUMENT', 'params.mmap applies to IVF indexes only (FAISS 1.7.3 maps their inverted lists)');
  }
  return built;
}

function buildFactory(spec: CreateIndexSpec): { factory: string; metric: MetricType } {
  const params = spec.params ?? {};
  if (spec.factory !== undefined && spec.type !== undefined) {
    throw new ServiceError('ERR_INVALID_ARGUMENT', 'Give either type or factory, not both');
  }
  if (spec.factory !== undefined) {
    // lib's indexFactory / indexBinaryFactory checks the string (components and sizes) when the index is built.
    if (isBinaryFactory(spec.factory)) return binaryIndex(spec, spec.factory);
    return { factory: spec.factory, metric: metricValue(spec.metric) };
  }
  if (spec.type === undefined) throw new ServiceError('ERR_INVALID_ARGUMENT', 'Expected type or factory');
  if (spec.type === 'IndexBinaryFlat') return binaryIndex(spec, 'BFlat');
  if (spec.type === 'IndexBinaryIVF') return binaryIndex(spec, `BIVF${need(params, 'nlist', spec.type)}`);
  if (spec.type === 'IndexBinaryHNSW') return binaryIndex(spec, `BHNSW${params.M ?? 32}`);
  let metric: MetricType = metricValue(spec.metric);
  let body: string;
  switch (spec.type) {
    case 'IndexFlatL2':
    case 'IndexFlatIP':
      if (spec.metric !== undefined && spec.metric !== (spec.type === 'IndexFlatL2' ? 'L2' : 'IP')) {
        throw new ServiceError(
          'ERR_INVALID_ARGUMENT',
          `${spec.type} fixes the metric; omit metric, or give ${spec.metric === 'IP' ? 'type IndexFlatIP' : `factory "Flat" with metric ${spec.metric}`}`,
        );
      }
      metric = spec.type === 'IndexFlatL2' ? METRIC_L2 : METRIC_INNER_PRODUCT;
      body = 'Flat';
      break;
    case 'IndexIVFFlat':
      body = `IVF${need(params, 'nlist', spec.type)},Flat`;
      break;
    case 'IndexIVFPQ':
      body = `IVF${need(params, 'nlist', spec.type)},PQ${need(params, 'm', spec.type)}x${params.nbits ?? 8}`;
      break;
    case 'IndexHNSWFlat':
      body = `HNSW${params.M ?? 32},Flat`;
      break;
    case 'IndexPQ':
      body = `PQ${need(params, 'm', spec.type)}x${params.nbits ?? 8}`;
      break;
    case 'IndexScalarQuantizer':
      body = params.qtype ?? 'SQ8';
      break;
  }
  return { factory: params.idMap ? `IDMap2,${body}` : body, metric };
}

/**
 * A binary index (dimension in bits, a multiple of 8): Hamming distances, so no
 * metric; no IDMap (FAISS's IndexBinaryIDMap is not offered; a binary IVF takes ids).
 */
function binaryIndex(spec: CreateIndexSpec, factory: string): { factory: string; metric: MetricType } {
  if (spec.metric !== undefined) throw new ServiceError('ERR_INVALID_ARGUMENT', 'Binary indexes compare codes by Hamming distance: omit metric');
  if (spec.params?.idMap) throw new ServiceError('ERR_INVALID_ARGUMENT', 'params.idMap does not apply to binary indexes (IndexBinaryIVF takes ids)');
  return { factory, metric: METRIC_L2 };
}
