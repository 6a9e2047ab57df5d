// Per request: a request id (X-Request-Id from the client when sane, else a new
// one; always returned), then, when the answer is sent, one log line (logger.ts
// requestLine), the metrics, and the dashboard's activity. Routes are labelled
// by their pattern (`locals.route`, set once the route is found: dispatch.ts).
// One 'finish' listener serves every request (it reads what it needs from the
// response and its locals): no closure is allocated per request.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Principal } from '../domain/keys';
import type { Activity, RecentError } from '../observability/activity';
import { requestLine, type Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  activity: Activity;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;
/** The pattern of the routes on one index (index.ts's routes). */
const INDEX_ROUTE = '/v1/indexes/:name';

/** What the observer keeps in a request's locals. */
interface Observed {
  requestId: string;
  startedMs: number;
  route?: string;
  /** The route's path parameters (dispatch.ts). */
  params?: Record<string, string>;
  principal?: Principal;
  errorCode?: string;
  errorMessage?: string;
}

export type ObservedResponse = ServerResponse & { req: IncomingMessage; locals: Record<string, unknown> };

/** An error answer, for the dashboard and, when the route names an index, that index's page. */
function recentError(res: ObservedResponse, locals: Observed, code: string, tenant: string): RecentError {
  const route = locals.route ?? 'unmatched';
  const error: RecentError = { at: Date.now(), method: res.req.method ?? '', route, status: res.statusCode, code, tenant, requestId: locals.requestId };
  if (route.startsWith(INDEX_ROUTE) && locals.params?.name !== undefined) error.index = locals.params.name;
  if (locals.errorMessage !== undefined) error.message = locals.errorMessage;
  return error;
}

/**
 * The observer of an app's requests: call it first for each request. The
 * response's `locals` (Express's res.locals) are where the route records what it
 * found out (route, principal, errorCode).
 */
export function requestObserver(o: Observability): (req: IncomingMessage, res: ObservedResponse) => void {
  const logLine = requestLine(o.logger);
  function finished(this: ObservedResponse): void {
    const locals = this.locals as unknown as Observed;
    const seconds = (performance.now() - locals.startedMs) / 1000;
    const pattern = locals.route ?? 'unmatched';
    const method = this.req.method ?? '';
    const status = this.statusCode;
    const tenant = locals.principal?.tenant;
    const code = locals.errorCode;
    const requestId = locals.requestId;
    o.metrics.http(pattern, method, status, tenant, seconds);
    o.activity.record(seconds * 1000, status >= 400 ? recentError(this, locals, code ?? '', tenant ?? '-') : undefined);
    logLine(requestId, method, pattern, status, Math.round(seconds * 1e4) / 10, tenant ?? null, code);
  }
  return (req, res) => {
    const locals = res.locals;
    const given = req.headers['x-request-id'];
    const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    locals.requestId = requestId;
    locals.startedMs = performance.now();
    res.setHeader('X-Request-Id', requestId);
    // A response emits 'finish' once.
    res.on('finish', finished);
  };
}
