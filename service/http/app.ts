// createApp(deps): the Express app the server listens with, built from its
// dependencies so tests can make one per test. Every request is observed
// (observe.ts); one declaring a body over --body-limit is refused at once; every
// route of the route table runs the one request pipeline (pipeline.ts).
import express, { type RequestHandler } from 'express';
import type { Config } from '../config';
import type { IndexService } from '../domain/indexes';
import type { KeyService } from '../domain/keys';
import type { TenantService } from '../domain/tenants';
import type { TenantMemoryBudget } from '../domain/memory-budget';
import type { StorageHealth } from '../storage/health';
import { declaresMoreThan } from './body';
import { HttpError, errorHandler, routeNotFound } from './errors';
import { openApiDocument } from './openapi';
import type { RouteSpec } from './route';
import { adminRoutes } from './routes/admin';
import { indexRoutes } from './routes/indexes';
import { observe, type Observability } from './observe';
import { pipeline } from './pipeline';
import { operationRoutes } from './routes/operations';
import * as path from 'node:path';

export interface AppDeps {
  config: Config;
  indexes: IndexService;
  tenants: TenantService;
  keys: KeyService;
  memory: TenantMemoryBudget;
  observability: Observability;
  /** false while starting or shutting down, or while storage cannot take writes (readiness). */
  isReady: () => boolean | Promise<boolean>;
  /** Storage health, shown on the dashboard (absent in tests that build an app without storage). */
  health?: StorageHealth;
  version: string;
}

/** A Content-Length over the limit: refused before a byte of the body is read or any work done. */
function refuseOversizedBodies(limit: number): RequestHandler {
  return (req, res, next) => {
    if (!declaresMoreThan(req, limit)) return next();
    // The body is not read: the connection cannot be reused after this answer.
    res.shouldKeepAlive = false;
    next(new HttpError(413, 'ERR_BODY_TOO_LARGE', `The request declares a body of more than ${limit} bytes, the limit (--body-limit)`));
  };
}

function publicRoutes(deps: AppDeps, all: () => RouteSpec[]): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/healthz',
      summary: 'Liveness: the process answers',
      role: null,
      responses: { 200: '{ status: "ok" }' },
      handler: (_req, res) => {
        res.json({ status: 'ok' });
      },
    },
    {
      method: 'get',
      path: '/readyz',
      summary: 'Readiness: started, not shutting down, and storage takes writes',
      role: null,
      responses: { 200: '{ status: "ready" }', 503: 'Starting, shutting down, or storage failing' },
      handler: async (_req, res) => {
        if (await deps.isReady()) res.json({ status: 'ready' });
        else res.status(503).json({ error: { code: 'ERR_NOT_READY', message: 'The service is starting or shutting down, or its storage is failing (see the log and faiss_proxy_storage_healthy)' } });
      },
    },
    {
      method: 'get',
      path: '/v1/openapi.json',
      summary: 'This API, as an OpenAPI 3 document',
      role: null,
      responses: { 200: 'The OpenAPI document' },
      handler: (_req, res) => {
        res.json(openApiDocument(all(), deps.version));
      },
    },
  ];
}

export function allRoutes(deps: AppDeps): RouteSpec[] {
  const routes: RouteSpec[] = [];
  routes.push(...publicRoutes(deps, () => routes));
  routes.push(...indexRoutes(deps.indexes, deps.config));
  routes.push(...adminRoutes(deps.tenants, deps.keys, deps.indexes));
  routes.push(
    ...operationRoutes({
      indexes: deps.indexes,
      tenants: deps.tenants,
      keys: deps.keys,
      metrics: deps.observability.metrics,
      activity: deps.observability.activity,
      metricsToken: deps.config.metricsToken,
      health: deps.health,
    }),
  );
  return routes;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);
  app.use(observe(deps.observability));
  app.use(refuseOversizedBodies(deps.config.bodyLimit));
  // The dashboard: static files, no CDN (the service works air-gapped); its data
  // comes from the operator-only routes, with the key typed into the page.
  app.use('/dashboard/vendor', express.static(path.dirname(require.resolve('chart.js')), { index: false }));
  app.use('/dashboard', express.static(path.resolve(__dirname, '..', '..', '..', 'service', 'dashboard')));
  const routes = allRoutes(deps);
  const pipelineDeps = { keys: deps.keys, tenants: deps.tenants, memory: deps.memory, bodyLimit: deps.config.bodyLimit };
  for (const r of routes) app[r.method](r.path, pipeline(r, pipelineDeps));
  // A known path with another method is a 405, not a 404.
  const patterns = routes.map((r) => ({ method: r.method.toUpperCase(), re: new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`) }));
  app.use((req, _res, next) => {
    const allowed = patterns.filter((p) => p.re.test(req.path)).map((p) => p.method);
    if (allowed.length === 0) return routeNotFound(req, _res, next);
    _res.set('Allow', allowed.join(', '));
    next(new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}`));
  });
  app.use(errorHandler);
  return app;
}
