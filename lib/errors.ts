/** Stable error codes: branch on `err.code`, never on the message. */
export const ErrorCodes = [
  'ERR_INVALID_ARGUMENT',
  'ERR_DIMENSION',
  'ERR_NOT_TRAINED',
  'ERR_UNSUPPORTED',
  'ERR_DISPOSED',
  'ERR_CORRUPT_INDEX',
  'ERR_NOT_FOUND',
  'ERR_IO',
  'ERR_OUT_OF_MEMORY',
  'ERR_FAISS',
] as const;

export type ErrorCode = (typeof ErrorCodes)[number];

/** Every failure of this library, from argument checks to FAISS exceptions. */
export class FaissError extends Error {
  readonly code: ErrorCode;

  constructor(message: string, code: ErrorCode) {
    super(message);
    this.name = 'FaissError';
    this.code = code;
  }
}

export function isFaissError(e: unknown): e is FaissError {
  return e instanceof FaissError;
}
