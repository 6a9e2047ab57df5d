// Turns a create request ({ type, params } or { factory }) into the FAISS factory
// string that builds it. Every index is built through index_factory, so the
// catalog stores one canonical description whatever the request looked like.
import { METRIC_INNER_PRODUCT, METRIC_L2 } from '../../lib';
import { ServiceError } from './errors';

export const INDEX_TYPES = [
  'IndexFlatL2',
  'IndexFlatIP',
  'IndexIVFFlat',
  'IndexIVFPQ',
  'IndexHNSWFlat',
  'IndexPQ',
  'IndexScalarQuantizer',
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
  metric?: 'L2' | 'IP';
  params?: IndexParams;
}

export const metricValue = (m: 'L2' | 'IP' | undefined): number => (m === 'IP' ? METRIC_INNER_PRODUCT : METRIC_L2);
export const metricName = (v: number): 'L2' | 'IP' => (v === METRIC_INNER_PRODUCT ? 'IP' : 'L2');

function need(params: IndexParams, key: keyof IndexParams, type: string): number {
  const v = params[key];
  if (typeof v !== 'number') throw new ServiceError('ERR_INVALID_ARGUMENT', `${type} needs params.${key}`);
  return v;
}

/**
 * index_factory accepts sizes that later abort or crash the whole process (IVF0 and
 * HNSW0 on add, PQ0 at once, PQ4x0 on train, PQ4x99 on add), so factory strings are
 * held to the bounds of the typed params: sizes >= 1, HNSW M >= 2, PQ nbits <= 16.
 */
// The factory components the service builds. FAISS accepts more, but some of
// them crash the process on ordinary input (NSG on a small add, zero sizes,
// HNSW with M < 2, PQ codes over 16 bits), and one write key must not be able
// to take the service down for every tenant.
const COMPONENTS: RegExp[] = [
  /^IDMap2?$/,
  /^(PCA|PCAR|PCAW|PCAWR)\d+$/,
  /^OPQ\d+(_\d+)?$/,
  /^L2norm$/,
  /^IVF\d+(_HNSW\d+)?$/,
  /^HNSW\d+$/,
  /^Flat$/,
  /^PQ\d+(x\d+)?$/,
  /^SQ(4|6|8|fp16|8_direct)$/,
];

function checkFactory(factory: string): void {
  const bad = (why: string) => new ServiceError('ERR_INVALID_ARGUMENT', `Unsupported factory string ${JSON.stringify(factory)}: ${why}`);
  for (const part of factory.split(',')) {
    if (!COMPONENTS.some((c) => c.test(part))) {
      throw bad(`the service builds IDMap/IDMap2, PCA*, OPQ, L2norm, IVF<n>[_HNSW<M>], HNSW<M>, Flat, PQ<m>[x<bits>] and SQ* components, not ${JSON.stringify(part)}`);
    }
  }
  if (/(^|\D)0+(?!\d)/.test(factory)) throw bad('every size must be at least 1');
  for (const m of factory.matchAll(/HNSW(\d+)/g)) if (Number(m[1]) < 2) throw bad('HNSW needs M >= 2');
  for (const m of factory.matchAll(/PQ\d+x(\d+)/g)) if (Number(m[1]) > 16) throw bad('PQ codes have at most 16 bits');
}

export function factoryString(spec: CreateIndexSpec): { factory: string; metric: number } {
  const built = buildFactory(spec);
  if (spec.params?.mmap && !/(^|,)IVF/.test(built.factory)) {
    throw new ServiceError('ERR_INVALID_ARGUMENT', 'params.mmap applies to IVF indexes only (FAISS 1.7.3 maps their inverted lists)');
  }
  return built;
}

function buildFactory(spec: CreateIndexSpec): { factory: string; metric: number } {
  const params = spec.params ?? {};
  if (spec.factory !== undefined && spec.type !== undefined) {
    throw new ServiceError('ERR_INVALID_ARGUMENT', 'Give either type or factory, not both');
  }
  if (spec.factory !== undefined) {
    checkFactory(spec.factory);
    return { factory: spec.factory, metric: metricValue(spec.metric) };
  }
  if (spec.type === undefined) throw new ServiceError('ERR_INVALID_ARGUMENT', 'Expected type or factory');
  let metric = metricValue(spec.metric);
  let body: string;
  switch (spec.type) {
    case 'IndexFlatL2':
    case 'IndexFlatIP':
      if (spec.metric !== undefined && spec.metric !== (spec.type === 'IndexFlatL2' ? 'L2' : 'IP')) {
        throw new ServiceError('ERR_INVALID_ARGUMENT', `${spec.type} fixes the metric; omit metric or use IndexFlat${spec.metric}`);
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
