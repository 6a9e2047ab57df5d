/** Stable error codes: branch on `err.code`, never on the message. */
export const ErrorCodes = [
  'ERR_INVALID_ARGUMENT',
  'ERR_DIMENSION',
  'ERR_NOT_TRAINED',
  'ERR_UNSUPPORTED',
  'ERR_DISPOSED',
  'ERR_BUSY',
  'ERR_CORRUPT_INDEX',
  'ERR_NOT_FOUND',
  'ERR_IO',
  'ERR_RESOURCE_LIMIT',
  'ERR_FAISS',
  // Collections (lib/collections): a filter that does not parse (HTTP 400), a payload over the limit (413),
  // a missing or existing collection or alias (404 / 409).
  'ERR_INVALID_FILTER',
  'ERR_PAYLOAD_TOO_LARGE',
  'ERR_COLLECTION_NOT_FOUND',
  'ERR_COLLECTION_EXISTS',
  'ERR_ALIAS_NOT_FOUND',
  'ERR_ALIAS_EXISTS',
  // Raised by the remote client (lib/client) only.
  'ERR_UNAUTHENTICATED',
  'ERR_FORBIDDEN',
  'ERR_QUOTA_EXCEEDED',
  'ERR_INDEX_EXISTS',
  'ERR_NETWORK',
  'ERR_TIMEOUT',
  'ERR_SERVER',
  // A retry's idempotency key sent with another request (the collections; the service's HTTP 422).
  'ERR_IDEMPOTENCY_MISMATCH',
  // GPU faults (the CUDA build, docs/gpu.md): out of device memory (HTTP 507), a device number this machine does not have
  // (400), an NVIDIA driver missing or older than the addon's CUDA (503). The process stays up.
  'ERR_GPU_OUT_OF_MEMORY',
  'ERR_NO_SUCH_DEVICE',
  'ERR_GPU_DRIVER',
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
