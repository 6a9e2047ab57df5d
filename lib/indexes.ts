// The index classes of Python faiss, with the same constructor arguments.
// Indexes passed in (a quantizer, the index an IDMap wraps) are copied: the object
// you pass stays yours and independent, unlike Python where it is shared.
import { METRIC_INNER_PRODUCT, METRIC_L2, type MetricType, type QuantizerType } from './constants';
import { Index } from './faiss-index';
import { integerIn, invalidParameterError } from './is';
import { native, type NativeIndex } from './native';

const metric = (m: unknown): MetricType => integerIn(m, 'metric', 0, 1) as MetricType;
const dimension = (d: unknown): number => integerIn(d, 'd', 1, 2 ** 20);
const indexArg = (v: unknown, name: string): NativeIndex => Index.nativeOf(v, name);

export class IndexFlat extends Index {
  constructor(d: number, metricType: MetricType = METRIC_L2) {
    super(native.newFlat(dimension(d), metric(metricType)));
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
      native.newIVFFlat(indexArg(quantizer, 'quantizer'), dimension(d), integerIn(nlist, 'nlist', 1, 2 ** 24), metric(metricType)),
    );
  }
}

export class IndexIVFPQ extends Index {
  constructor(quantizer: Index, d: number, nlist: number, m: number, nbits: number, metricType: MetricType = METRIC_L2) {
    super(
      native.newIVFPQ(
        indexArg(quantizer, 'quantizer'),
        dimension(d),
        integerIn(nlist, 'nlist', 1, 2 ** 24),
        integerIn(m, 'm', 1, 2 ** 20),
        integerIn(nbits, 'nbits', 1, 16),
        metric(metricType),
      ),
    );
  }
}

export class IndexHNSWFlat extends Index {
  constructor(d: number, M = 32, metricType: MetricType = METRIC_L2) {
    super(native.newHNSWFlat(dimension(d), integerIn(M, 'M', 2, 1024), metric(metricType)));
  }
}

export class IndexPQ extends Index {
  constructor(d: number, M: number, nbits: number, metricType: MetricType = METRIC_L2) {
    super(native.newPQ(dimension(d), integerIn(M, 'M', 1, 2 ** 20), integerIn(nbits, 'nbits', 1, 16), metric(metricType)));
  }
}

export class IndexScalarQuantizer extends Index {
  constructor(d: number, qtype: QuantizerType, metricType: MetricType = METRIC_L2) {
    super(native.newScalarQuantizer(dimension(d), integerIn(qtype, 'qtype', 0, 6), metric(metricType)));
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
};

/** Gives a native index built elsewhere (factory, file) the class Python would. */
export function wrapNative(n: NativeIndex): Index {
  const cls = classByTypeName[n.typeName] ?? Index;
  return Reflect.construct(Index, [n], cls) as Index;
}

/** Any index FAISS's index_factory builds: "IVF256,PQ16", "HNSW32", "PCA64,Flat", ... */
export function indexFactory(d: number, description: string, metricType: MetricType = METRIC_L2): Index {
  if (typeof description !== 'string') throw invalidParameterError('description', 'a string', description);
  return wrapNative(native.indexFactory(dimension(d), description, metric(metricType)));
}
