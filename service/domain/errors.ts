// Errors of the service's domain. They carry a stable code; the HTTP layer maps
// codes to statuses (http/errors.ts), the CLI prints them. The domain never
// decides on an HTTP status itself.
export type ServiceErrorCode =
  | 'ERR_INVALID_ARGUMENT'
  | 'ERR_INVALID_NAME'
  | 'ERR_INDEX_NOT_FOUND'
  | 'ERR_INDEX_EXISTS'
  | 'ERR_TENANT_NOT_FOUND'
  | 'ERR_TENANT_EXISTS'
  | 'ERR_KEY_NOT_FOUND'
  | 'ERR_QUOTA_EXCEEDED'
  | 'ERR_UNAUTHENTICATED'
  | 'ERR_FORBIDDEN'
  | 'ERR_SHUTTING_DOWN'
  | 'ERR_STORAGE_CORRUPT'
  | 'ERR_STORAGE_FAILED'
  | 'ERR_IDEMPOTENCY_MISMATCH'
  | 'ERR_TENANT_MEMORY'
  | 'ERR_INVALID_FILTER'
  | 'ERR_PAYLOAD_TOO_LARGE'
  | 'ERR_COLLECTION_NOT_FOUND'
  | 'ERR_COLLECTION_EXISTS'
  | 'ERR_ALIAS_NOT_FOUND'
  | 'ERR_ALIAS_EXISTS'
  | 'ERR_REPLICA_BEHIND'
  // GPU indexes (gpu-placement.ts): a device the server does not use, or has none of; what a GPU cannot do.
  | 'ERR_NO_SUCH_DEVICE'
  | 'ERR_UNSUPPORTED';

export class ServiceError extends Error {
  readonly code: ServiceErrorCode;

  constructor(code: ServiceErrorCode, message: string) {
    super(message);
    this.name = 'ServiceError';
    this.code = code;
  }
}

/**
 * A storage fault after which a change may or may not have been made: a
 * cluster's catalog change whose acknowledgement was lost (it may land, or have
 * landed). What the change would have named (a new stream) is kept, not
 * removed: a record naming nothing is worse than a stream the leak collector
 * deletes once no record names it (docs/cluster.md "Catalog changes whose
 * acknowledgement is lost").
 */
export class OutcomeUnknown extends ServiceError {
  constructor(message: string) {
    super('ERR_STORAGE_FAILED', message);
  }
}
