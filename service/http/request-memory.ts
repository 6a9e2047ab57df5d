// A request's share of its tenant's memory budget for requests in flight
// (domain/memory-budget.ts), on HTTP: opened once the caller's tenant is known
// and its body read, given back once the answer is closed (sent, failed, or its
// client gone) and the work the request started has settled: FAISS may still be
// writing into a search's buffers after its client went away.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Reservation, TenantMemoryBudget } from '../domain/memory-budget';
import { searchAnswerBytes, type AnswerFormat } from './answer-size';

export interface RequestMemory {
  /** Holds `bytes` more of the tenant's budget for this request; throws ERR_TENANT_MEMORY / ERR_RESOURCE_LIMIT. */
  hold(bytes: number, what: string): void;
  /** Call once the work the request started has settled (its answer may still be on its way). */
  settled(): void;
}

/** A body's bytes: a Buffer's length; a parsed JSON body's declared length (a chunked one is bounded by --body-limit). */
export function bodyBytes(req: IncomingMessage, body: unknown): number {
  if (Buffer.isBuffer(body)) return body.length;
  const declared = Number(req.headers['content-length']);
  return Number.isSafeInteger(declared) && declared > 0 ? declared : 0;
}

export function openRequestMemory(budget: TenantMemoryBudget, tenant: string, res: ServerResponse): RequestMemory {
  const reservation: Reservation = budget.open(tenant);
  let closed = res.closed;
  let settled = false;
  const releaseWhenDone = (): void => {
    if (closed && settled) reservation.release();
  };
  if (!closed) {
    // on, not once: a response closes once, and once() wraps the listener.
    res.on('close', () => {
      closed = true;
      releaseWhenDone();
    });
  }
  return {
    hold: (bytes, what) => reservation.hold(bytes, what),
    settled: () => {
      settled = true;
      releaseWhenDone();
    },
  };
}

/** The request's reservation, for a handler of a route that takes a key (pipeline.ts). */
export const memoryOf = (locals: Record<string, unknown>): RequestMemory => locals.memory as RequestMemory;

/** What a k-NN search holds: its body, FAISS's results and, in JSON, their encoding. */
export function holdSearch(memory: RequestMemory, body: number, format: AnswerFormat, nq: number, k: number): void {
  memory.hold(body + searchAnswerBytes(format, nq, k), `A search of ${nq} queries with k = ${k} (its body and answer)`);
}
