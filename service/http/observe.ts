// Per request: a request id (X-Request-Id from the client when sane, else a new
// one; always returned), then, when the answer is sent, one log line, the
// metrics, and the dashboard's activity. Routes are labelled by their pattern.
import { randomUUID } from 'node:crypto';
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

export function observe(o: Observability): RequestHandler {
  return (req, res, next) => {
    const started = process.hrtime.bigint();
    const given = req.header('X-Request-Id');
    const requestId = given && REQUEST_ID.test(given) ? given : randomUUID();
    res.locals.requestId = requestId;
    res.set('X-Request-Id', requestId);
    res.once('finish', () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const route = req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched';
      const tenant = (res.locals.principal as Principal | undefined)?.tenant;
      const code = res.locals.errorCode as string | undefined;
      o.metrics.http(route, req.method, res.statusCode, tenant, seconds);
      o.activity.record(
        seconds * 1000,
        res.statusCode >= 400 ? { at: Date.now(), method: req.method, route, status: res.statusCode, code: code ?? '', tenant: tenant ?? '-', requestId } : undefined,
      );
      o.logger.info({ requestId, method: req.method, route, status: res.statusCode, durationMs: Math.round(seconds * 1e4) / 10, tenant: tenant ?? null, code }, 'request');
    });
    next();
  };
}
