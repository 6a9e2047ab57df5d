// Per request: a request id (X-Request-Id from the client when sane, else a new
// one; always returned), then, when the answer is sent, one log line, the
// metrics, and the dashboard's activity. Routes are labelled by their pattern.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import type { Principal } from '../domain/keys';
import type { Activity } from '../observability/activity';
import type { Logger } from '../observability/logger';
import type { Metrics } from '../observability/metrics';

export interface Observability {
  logger: Logger;
  metrics: Metrics;
  activity: Activity;
}

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * Starts observing one request: gives it its id, and records it when its answer
 * has been sent. `locals` holds what the route found out (principal, errorCode);
 * `route` names its pattern once known.
 */
export function observeRequest(o: Observability, req: IncomingMessage, res: ServerResponse, locals: Record<string, unknown>, route: () => string): void {
  const started = process.hrtime.bigint();
  const given = req.headers['x-request-id'];
  const requestId = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
  locals.requestId = requestId;
  res.setHeader('X-Request-Id', requestId);
  res.once('finish', () => {
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const pattern = route();
    const method = req.method ?? '';
    const tenant = (locals.principal as Principal | undefined)?.tenant;
    const code = locals.errorCode as string | undefined;
    o.metrics.http(pattern, method, res.statusCode, tenant, seconds);
    o.activity.record(
      seconds * 1000,
      res.statusCode >= 400 ? { at: Date.now(), method, route: pattern, status: res.statusCode, code: code ?? '', tenant: tenant ?? '-', requestId } : undefined,
    );
    o.logger.info({ requestId, method, route: pattern, status: res.statusCode, durationMs: Math.round(seconds * 1e4) / 10, tenant: tenant ?? null, code }, 'request');
  });
}

export function observe(o: Observability): RequestHandler {
  return (req, res, next) => {
    observeRequest(o, req, res, res.locals, () => (req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched'));
    next();
  };
}
