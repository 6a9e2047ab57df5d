// Converts user input into the binary codes the addon takes: a Uint8Array goes
// through as it is (FAISS reads its memory directly); arrays of byte rows are
// copied once. As lib/vectors.ts does for float vectors: only a genuine
// Uint8Array passes (a Float32Array given to a binary index is refused, and a
// Uint8Array given to a float index is), and reading an array runs inside
// readArgument.
import { isUint8Array } from './brands';
import { FaissError } from './errors';
import { invalidParameterError, isInteger, readArgument } from './is';
import { MAX_COPIED_VALUES } from './limits';
import type { BinaryCodes } from './types';

/** Codes of `codeSize` bytes (d / 8) each. */
export function toCodes(x: BinaryCodes, codeSize: number, name = 'x'): Uint8Array {
  if (isUint8Array(x)) return checkedCodes(x, codeSize, name);
  return readArgument(name, () => {
    if (!Array.isArray(x)) throw invalidParameterError(name, 'a Uint8Array or an array of byte arrays (binary codes)', x);
    const n = x.length;
    if (n === 0) throw invalidParameterError(name, 'at least one code', x);
    if (n * codeSize > MAX_COPIED_VALUES) {
      throw new FaissError(
        `Expected at most ${MAX_COPIED_VALUES} values in ${name} as an array (it holds ${n * codeSize}); pass a Uint8Array, which is not copied`,
        'ERR_INVALID_ARGUMENT',
      );
    }
    for (let i = 0; i < n; i++) rowOf(x, i, codeSize, name);
    const out = new Uint8Array(n * codeSize);
    for (let i = 0; i < n; i++) {
      const row = rowOf(x, i, codeSize, name);
      for (let j = 0; j < codeSize; j++) {
        const v = row[j];
        if (!isInteger(v) || v < 0 || v > 255) throw invalidParameterError(`${name}[${i}][${j}]`, 'a byte (an integer 0..255)', v);
        out[i * codeSize + j] = v;
      }
    }
    return out;
  });
}

function checkedCodes(x: Uint8Array, codeSize: number, name: string): Uint8Array {
  const length = readArgument(`${name}.length`, () => x.length);
  if (length === 0) throw invalidParameterError(name, 'at least one code', x);
  if (length % codeSize !== 0) {
    throw new FaissError(
      `Expected ${name} to hold codes of ${codeSize} bytes (d / 8) but its length ${length} is not a multiple of ${codeSize}`,
      'ERR_DIMENSION',
    );
  }
  return x;
}

function rowOf(x: readonly ArrayLike<number>[], i: number, codeSize: number, name: string): ArrayLike<number> {
  const row = x[i];
  if (row === null || typeof row !== 'object' || typeof row.length !== 'number') {
    throw invalidParameterError(`${name}[${i}]`, 'an array of bytes', row);
  }
  if (row.length !== codeSize) {
    throw new FaissError(`Expected ${name}[${i}] to have ${codeSize} bytes (d / 8) but it has ${row.length}`, 'ERR_DIMENSION');
  }
  return row;
}
