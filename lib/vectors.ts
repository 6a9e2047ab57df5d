// Converts user input into what the addon takes. A Float32Array goes through as
// it is (its memory is read by FAISS directly); arrays of numbers are copied once.
// Only genuine typed arrays pass (a brand check: a Proxy or an object made from
// Float32Array.prototype is not one), and reading an array runs inside
// readArgument, since its elements and length can be the caller's getters.
import { isBigInt64Array, isFloat32Array } from './brands';
import { FaissError } from './errors';
import { invalidParameterError, isFiniteNumber, isInteger, readArgument } from './is';
import { MAX_COPIED_VALUES } from './limits';
import type { Ids, Vectors } from './types';

export function toMatrix(x: Vectors, d: number, name = 'x'): Float32Array {
  if (isFloat32Array(x)) return checkedMatrix(x, d, name);
  return readArgument(name, () => {
    if (!Array.isArray(x)) throw invalidParameterError(name, 'a Float32Array or an array of number arrays', x);
    const n = x.length;
    if (n === 0) throw invalidParameterError(name, 'at least one vector', x);
    if (n * d > MAX_COPIED_VALUES) throw tooManyToCopy(name, n * d, 'a Float32Array');
    // Every row's shape before the allocation, so that a sparse or malformed array
    // fails at its first bad row instead of after allocating n * d floats.
    for (let i = 0; i < n; i++) rowOf(x, i, d, name);
    const out = new Float32Array(n * d);
    for (let i = 0; i < n; i++) {
      const row = rowOf(x, i, d, name);
      for (let j = 0; j < d; j++) {
        const v = row[j];
        if (!isFiniteNumber(v)) throw invalidParameterError(`${name}[${i}][${j}]`, 'a finite number', v);
        out[i * d + j] = v;
      }
    }
    return out;
  });
}

function checkedMatrix(x: Float32Array, d: number, name: string): Float32Array {
  const length = readArgument(`${name}.length`, () => x.length);
  if (length === 0) throw invalidParameterError(name, 'at least one vector', x);
  if (length % d !== 0) {
    throw new FaissError(
      `Expected ${name} to hold rows of dimension ${d} but its length ${length} is not a multiple of ${d}`,
      'ERR_DIMENSION',
    );
  }
  return x;
}

function rowOf(x: readonly ArrayLike<number>[], i: number, d: number, name: string): ArrayLike<number> {
  const row = x[i];
  if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
    throw invalidParameterError(`${name}[${i}]`, 'an array of numbers', row);
  }
  if (row.length !== d) {
    throw new FaissError(`Expected ${name}[${i}] to have dimension ${d} but it has ${row.length}`, 'ERR_DIMENSION');
  }
  return row;
}

export function toIds(ids: Ids, name = 'ids', expected?: number): BigInt64Array {
  const out = isBigInt64Array(ids) ? ids : readArgument(name, () => copyIds(ids, name));
  const length = readArgument(`${name}.length`, () => out.length);
  if (expected !== undefined && length !== expected) {
    throw invalidParameterError(name, `${expected} ids (one per vector)`, ids);
  }
  return out;
}

function copyIds(ids: Ids, name: string): BigInt64Array {
  if (!Array.isArray(ids)) throw invalidParameterError(name, 'a BigInt64Array or an array of integers', ids);
  const n = ids.length;
  if (n > MAX_COPIED_VALUES) throw tooManyToCopy(name, n, 'a BigInt64Array');
  // Every element checked before the allocation, as toMatrix checks rows.
  for (let i = 0; i < n; i++) idOf(ids, i, name);
  const out = new BigInt64Array(n);
  for (let i = 0; i < n; i++) out[i] = BigInt(idOf(ids, i, name));
  return out;
}

function idOf(ids: readonly (number | bigint)[], i: number, name: string): number | bigint {
  const v = ids[i];
  if (typeof v === 'bigint' ? v < -(2n ** 63n) || v >= 2n ** 63n : !isInteger(v)) {
    throw invalidParameterError(`${name}[${i}]`, 'an int64 integer', v);
  }
  return v;
}

function tooManyToCopy(name: string, values: number, instead: string): FaissError {
  return new FaissError(
    `Expected at most ${MAX_COPIED_VALUES} values in ${name} as an array (it holds ${values}); pass ${instead}, which is not copied`,
    'ERR_INVALID_ARGUMENT',
  );
}

/** Ids for vectors being added: -1 is refused, since FAISS answers it for "no result" and it could not be told apart. */
export function toNewIds(ids: Ids, name: string, expected: number): BigInt64Array {
  const out = toIds(ids, name, expected);
  const at = out.indexOf(-1n);
  if (at >= 0) throw invalidParameterError(`${name}[${at}]`, 'an id other than -1 (the label FAISS gives to "no result")', -1n);
  return out;
}
