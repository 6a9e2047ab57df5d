// Tiny predicates and the one error factory every public function validates with
// (after sharp's lib/is.js), so messages have one shape:
// "Expected <what> for <name> but received <value> of type <type>".
import { FaissError, type ErrorCode } from './errors';

export const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
export const isInteger = (v: unknown): v is number => Number.isSafeInteger(v);
export const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
export const isString = (v: unknown): v is string => typeof v === 'string';

// Describing a value can run the caller's code (a Proxy's traps, a getter, a
// toString that throws): whatever happens, the error being built is still thrown.
function describe(actual: unknown): string {
  try {
    if (typeof actual === 'bigint') return `${actual}n`;
    if (ArrayBuffer.isView(actual)) return actual.constructor.name;
    if (Array.isArray(actual)) return `an array of length ${actual.length}`;
    if (typeof actual === 'string') return JSON.stringify(actual.length > 40 ? `${actual.slice(0, 40)}…` : actual);
    return String(actual);
  } catch {
    return 'a value that cannot be described';
  }
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

/**
 * Runs `read`, which reads a caller's value: a getter, a Proxy's trap or an array
 * element's accessor runs the caller's code, which may throw anything. What it
 * throws becomes an ERR_INVALID_ARGUMENT FaissError naming the argument.
 */
export function readArgument<T>(name: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    if (isOurs(e)) throw e;
    throw new FaissError(`Reading ${name} threw: ${reasonOf(e)}`, 'ERR_INVALID_ARGUMENT');
  }
}

// A thrown Proxy can throw again from instanceof or from its message getter.
function isOurs(e: unknown): boolean {
  try {
    return e instanceof FaissError;
  } catch {
    return false;
  }
}

function reasonOf(e: unknown): string {
  try {
    return String(e instanceof Error ? e.message : e);
  } catch {
    return 'a value that cannot be shown';
  }
}
