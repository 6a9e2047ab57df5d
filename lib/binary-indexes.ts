// The binary index classes of Python faiss, with the same constructor arguments
// (d in bits, a multiple of 8). The quantizer given to IndexBinaryIVF is copied,
// as the float classes copy theirs (lib/indexes.ts).
import { IndexBinary } from './binary-index';
import { bitsArg, descriptionArg, hnswMArg, nlistArg } from './limits';
import { native, type NativeBinaryIndex } from './native';

/** Exhaustive search by Hamming distance. */
export class IndexBinaryFlat extends IndexBinary {
  constructor(d: number) {
    super(native.newBinaryFlat(bitsArg(d)));
  }
}

/** Inverted file over binary codes: `quantizer` (an IndexBinaryFlat or IndexBinaryHNSW of dimension d) is copied. */
export class IndexBinaryIVF extends IndexBinary {
  constructor(quantizer: IndexBinary, d: number, nlist: number) {
    super(native.newBinaryIVF(IndexBinary.nativeOf(quantizer, 'quantizer'), bitsArg(d), nlistArg(nlist)));
  }
}

/** HNSW graph over binary codes, M neighbours per node (default 32). */
export class IndexBinaryHNSW extends IndexBinary {
  constructor(d: number, M = 32) {
    super(native.newBinaryHNSW(bitsArg(d), hnswMArg(M)));
  }
}

const classByTypeName: Record<string, Function> = { IndexBinaryFlat, IndexBinaryIVF, IndexBinaryHNSW };

/** Gives a native binary index built elsewhere (factory, file) the class Python would. */
export function wrapNativeBinary(n: NativeBinaryIndex): IndexBinary {
  const cls = classByTypeName[n.typeName] ?? IndexBinary;
  return Reflect.construct(IndexBinary, [n], cls) as IndexBinary;
}

/** A binary index from FAISS's index_binary_factory: "BFlat", "BIVF256", "BIVF256_HNSW32", "BHNSW32". */
export function indexBinaryFactory(d: number, description: string): IndexBinary {
  return wrapNativeBinary(native.indexBinaryFactory(bitsArg(d), descriptionArg(description)));
}
