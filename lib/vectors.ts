// Converts user input into what the addon takes. A Float32Array goes through as
// it is (its memory is read by FAISS directly); arrays of numbers are copied once.
import { FaissError } from './errors';
import { invalidParameterError, isFiniteNumber, isInteger } from './is';
import type { Ids, Vectors } from './types';

export function toMatrix(x: Vectors, d: number, name = 'x'): Float32Array {
  if (x instanceof Float32Array) {
    if (x.length === 0) throw invalidParameterError(name, 'at least one vector', x);
    if (x.length % d !== 0) {
      throw new FaissError(
        `Expected ${name} to hold rows of dimension ${d} but its length ${x.length} is not a multiple of ${d}`,
        'ERR_DIMENSION',
      );
    }
    return x;
  }
  if (!Array.isArray(x)) throw invalidParameterError(name, 'a Float32Array or an array of number arrays', x);
  if (x.length === 0) throw invalidParameterError(name, 'at least one vector', x);
  const out = new Float32Array(x.length * d);
  x.forEach((row: ArrayLike<number>, i: number) => {
    if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
      throw invalidParameterError(`${name}[${i}]`, 'an array of numbers', row);
    }
    if (row.length !== d) {
      throw new FaissError(`Expected ${name}[${i}] to have dimension ${d} but it has ${row.length}`, 'ERR_DIMENSION');
    }
    for (let j = 0; j < d; j++) {
      const v = row[j];
      if (!isFiniteNumber(v)) throw invalidParameterError(`${name}[${i}][${j}]`, 'a finite number', v);
      out[i * d + j] = v;
    }
  });
  return out;
}

export function toIds(ids: Ids, name = 'ids', expected?: number): BigInt64Array {
  let out: BigInt64Array;
  if (ids instanceof BigInt64Array) {
    out = ids;
  } else if (Array.isArray(ids)) {
    out = new BigInt64Array(ids.length);
    ids.forEach((v: number | bigint, i: number) => {
      if (typeof v === 'bigint' ? v < -(2n ** 63n) || v >= 2n ** 63n : !isInteger(v)) {
        throw invalidParameterError(`${name}[${i}]`, 'an int64 integer', v);
      }
      out[i] = BigInt(v);
    });
  } else {
    throw invalidParameterError(name, 'a BigInt64Array or an array of integers', ids);
  }
  if (expected !== undefined && out.length !== expected) {
    throw invalidParameterError(name, `${expected} ids (one per vector)`, ids);
  }
  return out;
}

/** Ids for vectors being added: -1 is refused, since FAISS answers it for "no result" and it could not be told apart. */
export function toNewIds(ids: Ids, name: string, expected: number): BigInt64Array {
  const out = toIds(ids, name, expected);
  const at = out.indexOf(-1n);
  if (at >= 0) throw invalidParameterError(`${name}[${at}]`, 'an id other than -1 (the label FAISS gives to "no result")', -1n);
  return out;
}
