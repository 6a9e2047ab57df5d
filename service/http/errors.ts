// The one place that turns any error into `{ error: { code, message } }` and an
// HTTP status. Codes are the stable part; statuses follow from them.
import type { ServerResponse } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { FaissError } from '../../lib';
import { ServiceError } from '../domain/errors';
import { writeJson } from './json-answer';

/** Errors raised by the HTTP layer itself (body, content type, validation, routing). */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The HTTP status of each stable code (docs/http-api.md lists them; test/docs/docs-agree.test.ts holds the two together). */
export const STATUS: Record<string, number> = {
  ERR_INVALID_ARGUMENT: 400,
  ERR_DIMENSION: 400,
  ERR_FAISS: 400,
  ERR_CORRUPT_INDEX: 400,
  ERR_INVALID_NAME: 400,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_QUOTA_EXCEEDED: 403,
  ERR_NOT_FOUND: 404,
  ERR_INDEX_NOT_FOUND: 404,
  ERR_TENANT_NOT_FOUND: 404,
  ERR_KEY_NOT_FOUND: 404,
  ERR_NOT_TRAINED: 409,
  ERR_INDEX_EXISTS: 409,
  ERR_TENANT_EXISTS: 409,
  ERR_UNSUPPORTED: 422,
  // Well-formed, but answering would pass --max-request-memory (or the process's memory).
  ERR_RESOURCE_LIMIT: 422,
  ERR_IDEMPOTENCY_MISMATCH: 422,
  // The tenant's requests in flight hold its memory budget (--max-tenant-memory): retry soon.
  ERR_TENANT_MEMORY: 429,
  ERR_SHUTTING_DOWN: 503,
  ERR_IO: 503,
  ERR_STORAGE_CORRUPT: 503,
  ERR_STORAGE_FAILED: 503,
  // Collections (issue 18)
  ERR_INVALID_FILTER: 400,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_COLLECTION_NOT_FOUND: 404,
  ERR_COLLECTION_EXISTS: 409,
  ERR_ALIAS_NOT_FOUND: 404,
  ERR_ALIAS_EXISTS: 409,
  ERR_REPLICA_BEHIND: 503,
  // GPU indexes (issue 16): a device this server does not use; its GPU's memory full (not the
  // request's fault: like a full disk); no usable NVIDIA driver.
  ERR_NO_SUCH_DEVICE: 400,
  ERR_GPU_OUT_OF_MEMORY: 507,
  ERR_GPU_DRIVER: 503,
};

/** An error Express itself raises with a status (a malformed %-escape in the path, the dashboard's static files). */
interface StatusError {
  status?: number;
  message?: string;
}

/** An error's status, stable code and message, as every answer reports it. */
function classify(err: unknown): { status: number; code: string; message: string } {
  if (err instanceof HttpError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof FaissError && err.code === 'ERR_RESOURCE_LIMIT' && err.message.includes('(perCallBytes)')) {
    // The library names its setting; over HTTP the limit is the server's flag.
    return { status: STATUS[err.code], code: err.code, message: err.message.replace('(perCallBytes)', '(--max-request-memory)') };
  }
  if (err instanceof FaissError || err instanceof ServiceError) {
    return { status: STATUS[err.code] ?? 400, code: err.code, message: err.message };
  }
  const b = err as StatusError;
  if (b && typeof b.status === 'number' && b.status >= 400 && b.status < 500) {
    return { status: b.status, code: 'ERR_BAD_REQUEST', message: b.message ?? 'Bad request' };
  }
  return { status: 500, code: 'ERR_INTERNAL', message: 'Internal error' };
}

/** classify, and an unexpected error is printed (it is a bug). */
function classifyAndReport(err: unknown): { status: number; code: string; message: string } {
  const c = classify(err);
  if (c.status >= 500 && c.code === 'ERR_INTERNAL') console.error('faiss-proxy: unexpected error', err);
  return c;
}

/** Answers `err` as { error: { code, message } } with its status; `locals.errorCode` and `errorMessage` tell the observer what it was. */
export function sendError(res: ServerResponse, locals: Record<string, unknown>, err: unknown): void {
  const { status, code, message } = classifyAndReport(err);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  locals.errorCode = code;
  locals.errorMessage = message;
  // What frees the budget is other requests finishing, which cannot be predicted: the shortest wait, then the client backs off.
  // A storage failure (a cluster without its NATS servers, a full disk) may pass as well: the same shortest wait.
  const headers: Record<string, string> = code === 'ERR_TENANT_MEMORY' || code === 'ERR_REPLICA_BEHIND' || code === 'ERR_STORAGE_FAILED' ? { 'Retry-After': '1' } : {};
  writeJson(res, status, headers, { error: { code, message } });
}

export const errorHandler: ErrorRequestHandler = (err, _req, res, _next) => sendError(res, res.locals, err);

export const routeNotFound: RequestHandler = (req, _res, next) =>
  next(new HttpError(404, 'ERR_ROUTE_NOT_FOUND', `No route ${req.method} ${req.path}`));
