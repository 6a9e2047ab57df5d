// Vector transforms as in Python faiss (PCAMatrix, OPQMatrix, ITQTransform,
// RandomRotationMatrix, NormalizationTransform): train, apply and
// reverseTransform run on the libuv pool. An IndexPreTransform built over one
// keeps its own copy (lib/indexes.ts), so the object here stays yours.
import { FaissError } from './errors';
import { invalidParameterError, isFiniteNumber, integerIn } from './is';
import { dimensionArg as dimension } from './limits';
import { native, type NativeTransform } from './native';
import type { Vectors } from './types';
import { toMatrix } from './vectors';

export class VectorTransform {
  readonly #native: NativeTransform;

  /** @internal Subclasses pass the FAISS object they built. */
  constructor(nativeTransform: NativeTransform) {
    if (!native.isNativeTransform(nativeTransform)) {
      throw new FaissError('VectorTransform is the base class: build a transform with a subclass (PCAMatrix, ...)', 'ERR_INVALID_ARGUMENT');
    }
    this.#native = nativeTransform;
  }

  /** @internal The native transform behind `v` (a brand check, as Index.nativeOf). */
  static nativeOf(v: unknown, name: string, live = true): NativeTransform {
    if (typeof v !== 'object' || v === null || !(#native in v)) throw invalidParameterError(name, 'a VectorTransform', v);
    const n = (v as VectorTransform).#native;
    if (live && n.disposed) throw disposedTransform();
    return n;
  }

  /** Input dimension. */
  get dIn(): number {
    return anyOf(this).dIn;
  }
  /** Output dimension. */
  get dOut(): number {
    return anyOf(this).dOut;
  }
  /** The Python faiss class name ("PCAMatrix", ...). */
  get typeName(): string {
    return anyOf(this).typeName;
  }
  get disposed(): boolean {
    return anyOf(this).disposed;
  }
  get isTrained(): boolean {
    return liveOf(this).isTrained;
  }

  /** Trains the transform on x (rows of dIn). */
  async train(x: Vectors): Promise<void> {
    const n = liveOf(this);
    return n.train(toMatrix(x, n.dIn));
  }

  /** x (rows of dIn) transformed: a new Float32Array of rows of dOut. */
  async apply(x: Vectors): Promise<Float32Array> {
    const n = liveOf(this);
    return n.apply(toMatrix(x, n.dIn));
  }

  /**
   * Back from rows of dOut to rows of dIn, where FAISS has it: orthonormal linear
   * transforms (RandomRotationMatrix, OPQMatrix, PCAMatrix without whitening or
   * reduction loss: the transpose), NormalizationTransform (the identity).
   * ERR_UNSUPPORTED elsewhere.
   */
  async reverseTransform(x: Vectors): Promise<Float32Array> {
    const n = liveOf(this);
    return n.reverseTransform(toMatrix(x, n.dOut));
  }

  /** Frees the transform now rather than at garbage collection. Idempotent. */
  dispose(): void {
    anyOf(this).dispose();
  }
}

const liveOf = (self: unknown): NativeTransform => VectorTransform.nativeOf(self, 'this');
const anyOf = (self: unknown): NativeTransform => VectorTransform.nativeOf(self, 'this', false);
const disposedTransform = (): FaissError =>
  new FaissError('This transform has been disposed; it cannot be used any more', 'ERR_DISPOSED');

function booleanArg(v: unknown, name: string): boolean {
  if (typeof v !== 'boolean') throw invalidParameterError(name, 'a boolean', v);
  return v;
}

function numberArg(v: unknown, name: string): number {
  if (!isFiniteNumber(v) || Math.abs(v) > 1e30) throw invalidParameterError(name, 'a finite number', v);
  return v;
}

function outDimension(dOut: unknown, dIn: number, name = 'dOut'): number {
  return integerIn(dOut, name, 1, dIn);
}

/**
 * PCA from dIn to dOut <= dIn dimensions, as faiss.PCAMatrix. eigenPower -0.5
 * whitens; randomRotation rotates the output randomly after the projection.
 */
export class PCAMatrix extends VectorTransform {
  constructor(dIn: number, dOut: number, eigenPower = 0, randomRotation = false) {
    const d = dimension(dIn);
    super(native.newPCAMatrix(d, outDimension(dOut, d), numberArg(eigenPower, 'eigenPower'), booleanArg(randomRotation, 'randomRotation')));
  }
}

/** The rotation that suits a product quantizer of M sub-vectors, as faiss.OPQMatrix(d, M, d2). */
export class OPQMatrix extends VectorTransform {
  constructor(d: number, M: number, d2?: number) {
    const dIn = dimension(d);
    const dOut = d2 === undefined ? dIn : dimension(d2);
    const m = integerIn(M, 'M', 1, dOut);
    if (dOut % m !== 0) throw invalidParameterError('M', `a divisor of ${dOut} (the output dimension)`, M);
    super(native.newOPQMatrix(dIn, m, d2 === undefined ? undefined : dOut));
  }
}

/** Iterative quantization, as faiss.ITQTransform: dOut === dIn, or dOut <= dIn with doPca. */
export class ITQTransform extends VectorTransform {
  constructor(dIn: number, dOut: number, doPca = false) {
    const d = dimension(dIn);
    const pca = booleanArg(doPca, 'doPca');
    const out = outDimension(dOut, d);
    if (!pca && out !== d) throw invalidParameterError('dOut', `${d} (dIn: without PCA, ITQ keeps the dimension)`, dOut);
    super(native.newITQTransform(d, out, pca));
  }
}

/**
 * A random orthonormal rotation (or projection) from dIn to dOut dimensions, as
 * faiss.RandomRotationMatrix: untrained until init(seed), or train(x), which
 * uses seed 12345 as FAISS does.
 */
export class RandomRotationMatrix extends VectorTransform {
  constructor(dIn: number, dOut: number) {
    super(native.newRandomRotationMatrix(dimension(dIn), dimension(dOut)));
  }

  /** Draws the rotation from `seed` (an int32), as FAISS's init(seed). */
  async init(seed: number): Promise<void> {
    const n = VectorTransform.nativeOf(this, 'this');
    return n.init(integerIn(seed, 'seed', -(2 ** 31), 2 ** 31 - 1));
  }
}

/** Scales each vector to unit norm, as faiss.NormalizationTransform; FAISS 1.7.3 applies only norm 2. */
export class NormalizationTransform extends VectorTransform {
  constructor(d: number, norm = 2.0) {
    super(native.newNormalizationTransform(dimension(d), numberArg(norm, 'norm')));
  }
}
