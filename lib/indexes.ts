// The index classes of Python faiss, with the same constructor arguments.
// Indexes passed in (a quantizer, the index an IDMap wraps) are copied: the object
// you pass stays yours and independent, unlike Python where it is shared.
import { METRIC_INNER_PRODUCT, METRIC_L2, type MetricType, type QuantizerType } from './constants';
import { Index } from './faiss-index';
import { GpuIndexFlat, GpuIndexFlatIP, GpuIndexFlatL2, GpuIndexIVFFlat, GpuIndexIVFPQ, GpuIndexIVFScalarQuantizer } from './gpu-indexes';
import { invalidParameterError, readArgument } from './is';
import { anyMetricArg, descriptionArg, dimensionArg as dimension, hnswMArg, metricArg as metric, nbitsArg, nlistArg, pqMArg, qtypeArg } from './limits';
import { native, type NativeIndex, type NativeTransform } from './native';
import { VectorTransform } from './transforms';

const indexArg = (v: unknown, name: string): NativeIndex => Index.nativeOf(v, name);

// One transform or a non-empty array of them (read once: a getter runs inside readArgument).
function transformsArg(v: unknown): NativeTransform[] {
  if (!readArgument('transform', () => Array.isArray(v))) return [VectorTransform.nativeOf(v, 'transform')];
  // The length first: a sparse array of 2^32 - 1 holes would otherwise be copied.
  return readArgument('transform', () => {
    const list = v as readonly unknown[];
    const n = list.length;
    if (n === 0 || n > 64) throw invalidParameterError('transform', '1 to 64 vector transforms', v);
    return Array.from({ length: n }, (_, i) => VectorTransform.nativeOf(list[i], `transform[${i}]`));
  });
}

/** Exact search; takes every FAISS metric (set metricArg for METRIC_Lp). */
export class IndexFlat extends Index {
  constructor(d: number, metricType: MetricType = METRIC_L2) {
    super(native.newFlat(dimension(d), anyMetricArg(metricType)));
  }
}

export class IndexFlatL2 extends IndexFlat {
  constructor(d: number) {
    super(d, METRIC_L2);
  }
}

export class IndexFlatIP extends IndexFlat {
  constructor(d: number) {
    super(d, METRIC_INNER_PRODUCT);
  }
}

export class IndexIVFFlat extends Index {
  constructor(quantizer: Index, d: number, nlist: number, metricType: MetricType = METRIC_L2) {
    super(
      native.newIVFFlat(indexArg(quantizer, 'quantizer'), dimension(d), nlistArg(nlist), metric(metricType)),
    );
  }
}

export class IndexIVFPQ extends Index {
  constructor(quantizer: Index, d: number, nlist: number, m: number, nbits: number, metricType: MetricType = METRIC_L2) {
    super(
      native.newIVFPQ(
        indexArg(quantizer, 'quantizer'),
        dimension(d),
        nlistArg(nlist),
        pqMArg(m, 'm'),
        nbitsArg(nbits),
        metric(metricType),
      ),
    );
  }
}

export class IndexHNSWFlat extends Index {
  constructor(d: number, M = 32, metricType: MetricType = METRIC_L2) {
    super(native.newHNSWFlat(dimension(d), hnswMArg(M), anyMetricArg(metricType)));
  }
}

export class IndexPQ extends Index {
  constructor(d: number, M: number, nbits: number, metricType: MetricType = METRIC_L2) {
    super(native.newPQ(dimension(d), pqMArg(M, 'M'), nbitsArg(nbits), metric(metricType)));
  }
}

export class IndexScalarQuantizer extends Index {
  constructor(d: number, qtype: QuantizerType, metricType: MetricType = METRIC_L2) {
    super(native.newScalarQuantizer(dimension(d), qtypeArg(qtype), metric(metricType)));
  }
}

/** Adds caller-chosen ids to an index that has none; wraps a copy of an empty index. */
export class IndexIDMap extends Index {
  constructor(index: Index) {
    super(native.newIDMap(indexArg(index, 'index')));
  }
}

/** IndexIDMap that can also reconstruct by id. */
export class IndexIDMap2 extends Index {
  constructor(index: Index) {
    super(native.newIDMap2(indexArg(index, 'index')));
  }
}

/**
 * Applies vector transforms (copies of them, in order) before a copy of `index`,
 * as faiss.IndexPreTransform; trained when the transforms and the index are
 * (train() trains what is not).
 */
export class IndexPreTransform extends Index {
  constructor(transform: VectorTransform | readonly VectorTransform[], index: Index) {
    super(native.newPreTransform(transformsArg(transform), indexArg(index, 'index')));
  }
}

/** Refines a copy of the (empty) base index's results with exact distances, as faiss.IndexRefineFlat. */
export class IndexRefineFlat extends Index {
  constructor(base: Index) {
    super(native.newRefineFlat(indexArg(base, 'base')));
  }
}

const classByTypeName: Record<string, Function> = {
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
  IndexPreTransform,
  IndexRefineFlat,
  // A GPU index (native/gpu_index.h), as indexCpuToGpu makes one.
  GpuIndexFlat,
  GpuIndexFlatL2,
  GpuIndexFlatIP,
  GpuIndexIVFFlat,
  GpuIndexIVFPQ,
  GpuIndexIVFScalarQuantizer,
};

/** Gives a native index built elsewhere (factory, file) the class Python would. */
export function wrapNative(n: NativeIndex): Index {
  const cls = classByTypeName[n.typeName] ?? Index;
  return Reflect.construct(Index, [n], cls) as Index;
}

/** Any index FAISS's index_factory builds: "IVF256,PQ16", "HNSW32", "PCA64,Flat", ... */
export function indexFactory(d: number, description: string, metricType: MetricType = METRIC_L2): Index {
  return wrapNative(native.indexFactory(dimension(d), descriptionArg(description), anyMetricArg(metricType)));
}
