// Tiny predicates and the one error factory every public function validates with
// (after sharp's lib/is.js), so messages have one shape:
// "Expected <what> for <name> but received <value> of type <type>".
import { FaissError, type ErrorCode } from './errors';

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isInteger = (v: unknown): v is number => Number.isSafeInteger(v);
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isString = (v: unknown): v is string => typeof v === 'string';

function describe(actual: unknown): string {
  if (typeof actual === 'bigint') return `${actual}n`;
  if (ArrayBuffer.isView(actual)) return actual.constructor.name;
  if (Array.isArray(actual)) return `an array of length ${actual.length}`;
  if (typeof actual === 'string') return JSON.stringify(actual.length > 40 ? `${actual.slice(0, 40)}…` : actual);
  return String(actual);
}

export function invalidParameterError(
  name: string,
  expected: string,
  actual: unknown,
  code: ErrorCode = 'ERR_INVALID_ARGUMENT',
): FaissError {
  return new FaissError(`Expected ${expected} for ${name} but received ${describe(actual)} of type ${typeof actual}`, code);
}

export function integerIn(v: unknown, name: string, min: number, max: number): number {
  if (!isInteger(v) || v < min || v > max) {
    throw invalidParameterError(name, `an integer between ${min} and ${max}`, v);
  }
  return v;
}

export function positiveInteger(v: unknown, name: string, max = 2 ** 30): number {
  return integerIn(v, name, 1, max);
}
