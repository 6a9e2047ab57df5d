// Id selectors, as in Python faiss: which ids a search, a range search or
// removeIds considers. A selector is a plain, immutable value holding its own
// copy of its ids; it loads no native code, so the remote client (which never
// loads the addon) takes the same objects. The embedded index builds FAISS's
// selector from one the first time it is used, and keeps it for every later use
// (lib/native-selectors.ts). FAISS 1.7.3 has Batch, Array, Range, Bitmap and
// Not; And, Or and XOr are FAISS 1.7.4's, which the addon provides.
import { isUint8Array } from './brands';
import { FaissError } from './errors';
import { invalidParameterError, isInteger, readArgument } from './is';
import { LIMITS } from './limits';
import type { NativeValueColumn } from './native';
import type { Ids } from './types';
import { toIds } from './vectors';

/** What a selector is made of; for this library's own modules (the embedded index, the remote client). */
export type SelectorTerm =
  | { readonly kind: 'batch' | 'array'; readonly ids: BigInt64Array }
  | { readonly kind: 'range'; readonly min: bigint; readonly max: bigint }
  | { readonly kind: 'bitmap'; readonly bits: Uint8Array }
  /** Labels base + i whose column.values[i] is within the bounds (lib/collections/value-column.ts); the service's own. */
  | { readonly kind: 'valueRange'; readonly column: NativeValueColumn; readonly base: number; readonly gt: number; readonly gte: number; readonly lt: number; readonly lte: number }
  | { readonly kind: 'not'; readonly sel: IDSelector }
  | { readonly kind: 'and' | 'or' | 'xor'; readonly a: IDSelector; readonly b: IDSelector };

// Only this module's classes make selectors: a subclass written elsewhere could
// hand the base class a term nobody validated.
const MAKER = Symbol('IDSelector maker');

/** The base class of every selector: `sel instanceof IDSelector`. Not constructible itself. */
export class IDSelector {
  readonly #term: SelectorTerm;
  readonly #terms: number;

  /** @internal `reserved`: terms allowed beyond the caller's limit (narrowedTo's). */
  constructor(maker: symbol, term: SelectorTerm, reserved = 0) {
    if (maker !== MAKER) {
      throw new FaissError('IDSelector is the base class: use IDSelectorBatch, IDSelectorRange, ... to make a selector', 'ERR_INVALID_ARGUMENT');
    }
    const operands = term.kind === 'not' ? [term.sel] : term.kind === 'and' || term.kind === 'or' || term.kind === 'xor' ? [term.a, term.b] : [];
    this.#terms = operands.reduce((sum, o) => sum + o.#terms, 1);
    if (this.#terms > LIMITS.selectorTerms.max + reserved) {
      throw new FaissError(
        `Expected a selector of at most ${LIMITS.selectorTerms.max} terms (an operand used twice counts twice) but this one would have ${this.#terms}`,
        'ERR_INVALID_ARGUMENT',
      );
    }
    this.#term = Object.freeze(term);
  }

  /** @internal Whether v is a selector made by this module (a brand check: runs none of v's code). */
  static isSelector(v: unknown): v is IDSelector {
    return typeof v === 'object' && v !== null && #term in v;
  }

  /** @internal What `sel` is made of; its arrays are the selector's own, never to be changed. */
  static termOf(sel: IDSelector): SelectorTerm {
    return sel.#term;
  }
}

/** Ids in a set (FAISS's IDSelectorBatch, a hash set with a Bloom filter). */
export class IDSelectorBatch extends IDSelector {
  constructor(ids: Ids) {
    super(MAKER, { kind: 'batch', ids: ownIds(ids) });
    Object.freeze(this);
  }
  /** A copy of the ids. */
  get ids(): BigInt64Array {
    return idsOf(this);
  }
}

/** Ids in a list; selects what IDSelectorBatch of the same ids selects. */
export class IDSelectorArray extends IDSelector {
  constructor(ids: Ids) {
    super(MAKER, { kind: 'array', ids: ownIds(ids) });
    Object.freeze(this);
  }
  /** A copy of the ids. */
  get ids(): BigInt64Array {
    return idsOf(this);
  }
}

/** Ids in [min, max), as FAISS's IDSelectorRange. */
export class IDSelectorRange extends IDSelector {
  constructor(min: number | bigint, max: number | bigint) {
    const lo = int64Arg(min, 'min');
    const hi = int64Arg(max, 'max');
    if (lo > hi) throw new FaissError(`Expected min <= max for IDSelectorRange but received [${lo}, ${hi})`, 'ERR_INVALID_ARGUMENT');
    super(MAKER, { kind: 'range', min: lo, max: hi });
    Object.freeze(this);
  }
  get min(): bigint {
    return (IDSelector.termOf(this) as { min: bigint }).min;
  }
  get max(): bigint {
    return (IDSelector.termOf(this) as { max: bigint }).max;
  }
}

/**
 * One bit per id, as FAISS's IDSelectorBitmap: id i is selected when bit (i & 7)
 * of byte i >> 3 is set; ids past the bitmap's end are not selected.
 */
export class IDSelectorBitmap extends IDSelector {
  constructor(bits: Uint8Array) {
    if (!isUint8Array(bits)) throw invalidParameterError('bits', 'a Uint8Array', bits);
    super(MAKER, { kind: 'bitmap', bits: readArgument('bits', () => bits.slice()) });
    Object.freeze(this);
  }
  /** A copy of the bitmap. */
  get bits(): Uint8Array {
    return (IDSelector.termOf(this) as { bits: Uint8Array }).bits.slice();
  }
}

/** The ids `sel` does not select. */
export class IDSelectorNot extends IDSelector {
  constructor(sel: IDSelector) {
    super(MAKER, { kind: 'not', sel: selectorArg(sel, 'sel') });
    Object.freeze(this);
  }
}

/** The ids both `a` and `b` select. */
export class IDSelectorAnd extends IDSelector {
  constructor(a: IDSelector, b: IDSelector) {
    super(MAKER, { kind: 'and', a: selectorArg(a, 'a'), b: selectorArg(b, 'b') });
    Object.freeze(this);
  }
}

/** The ids `a` or `b` (or both) select. */
export class IDSelectorOr extends IDSelector {
  constructor(a: IDSelector, b: IDSelector) {
    super(MAKER, { kind: 'or', a: selectorArg(a, 'a'), b: selectorArg(b, 'b') });
    Object.freeze(this);
  }
}

/** The ids exactly one of `a` and `b` selects. */
export class IDSelectorXOr extends IDSelector {
  constructor(a: IDSelector, b: IDSelector) {
    super(MAKER, { kind: 'xor', a: selectorArg(a, 'a'), b: selectorArg(b, 'b') });
    Object.freeze(this);
  }
}

// The caller's selector and the service's own, which may take the terms reserved for it.
class Narrowed extends IDSelector {
  constructor(sel: IDSelector, within: IDSelector) {
    super(MAKER, { kind: 'and', a: sel, b: within }, LIMITS.selectorReservedTerms.max);
    Object.freeze(this);
  }
}

/**
 * @internal What both `sel` (a caller's, within LIMITS.selectorTerms) and `within`
 * (the service's own, of at most LIMITS.selectorReservedTerms - 1 terms) select,
 * as IDSelectorAnd: the service's terms do not count against the caller's.
 */
export const narrowedTo = (sel: IDSelector, within: IDSelector): IDSelector => new Narrowed(sel, within);

// A collection's payload column: made by the collection's own code (lib/collections/value-column.ts), never a caller's.
class ValueRangeSelector extends IDSelector {
  constructor(term: SelectorTerm & { kind: 'valueRange' }) {
    super(MAKER, term);
    Object.freeze(this);
  }
}

/**
 * @internal The labels whose value in a payload column is within the bounds (an absent bound is an infinite one):
 * tested when a search meets a label, instead of a bitmap of every label (lib/collections/value-column.ts).
 */
export const valueRangeSelector = (column: NativeValueColumn, base: number, b: { gt: number; gte: number; lt: number; lte: number }): IDSelector =>
  new ValueRangeSelector({ kind: 'valueRange', column, base, gt: b.gt, gte: b.gte, lt: b.lt, lte: b.lte });

/** A selector argument: one made by this module, else ERR_INVALID_ARGUMENT. */
export function selectorArg(v: unknown, name: string): IDSelector {
  if (!IDSelector.isSelector(v)) throw invalidParameterError(name, 'an IDSelector (IDSelectorBatch, IDSelectorRange, ...)', v);
  return v;
}

// The selector's own copy: a BigInt64Array the caller keeps could change later.
function ownIds(ids: Ids): BigInt64Array {
  const checked = toIds(ids);
  return checked === ids ? readArgument('ids', () => checked.slice()) : checked;
}

function idsOf(sel: IDSelector): BigInt64Array {
  return (IDSelector.termOf(sel) as { ids: BigInt64Array }).ids.slice();
}

function int64Arg(v: unknown, name: string): bigint {
  if (typeof v === 'bigint') {
    if (v < -(2n ** 63n) || v >= 2n ** 63n) throw invalidParameterError(name, 'an int64 integer', v);
    return v;
  }
  if (!isInteger(v)) throw invalidParameterError(name, 'an integer or a bigint', v);
  return BigInt(v);
}
