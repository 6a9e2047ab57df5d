// createApp(deps): the Express app the server listens with, built from its
// dependencies so tests can make one per test. Its first middleware (dispatch.ts)
// observes every request, refuses one declaring a body over --body-limit, and
// runs every route of the route table through the one request pipeline
// (pipeline.ts); then come the dashboard's static files, the 404 and the error
// handler. expressObjects() gives node:http the app's request and response
// prototypes, so that Express need not swap them on each request.
import * as http from 'node:http';
import express from 'express';
import type { Config } from '../config';
import type { IndexService } from '../domain/indexes';
import type { Collections } from '../domain/collections';
import type { KeyService } from '../domain/keys';
import type { TenantService } from '../domain/tenants';
import type { TenantMemoryBudget } from '../domain/memory-budget';
import type { StorageHealth } from '../storage/health';
import { dispatch } from './dispatch';
import { errorHandler, routeNotFound } from './errors';
import { openApiDocument } from './openapi';
import { docsPage } from './docs-page';
import type { RouteSpec } from './route';
import { adminRoutes } from './routes/admin';
import { indexRoutes } from './routes/indexes';
import { collectionRoutes } from './routes/collections';
import { aliasRoutes } from './routes/aliases';
import type { Observability } from './observe';
import { operationRoutes } from './routes/operations';
import { ownKeyRoutes } from './routes/own-key';
import { indexErrorRoutes } from './routes/index-errors';
import * as path from 'node:path';

export interface AppDeps {
  config: Config;
  indexes: IndexService;
  /** Collections and aliases (issue 18). */
  collections: Collections;
  tenants: TenantService;
  keys: KeyService;
  memory: TenantMemoryBudget;
  observability: Observability;
  /** false while starting or shutting down, or while storage cannot take writes (readiness). */
  isReady: () => boolean | Promise<boolean>;
  /** Storage health, shown on the dashboard (absent in tests that build an app without storage). */
  health?: StorageHealth;
  version: string;
  /** A cluster's node (serve --cluster): its name and the nodes it hears of (the dashboard's overview). */
  cluster?: { node: string; nodes: () => { node: string; at: number; startedAt: number; lag: number }[] };
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

/** The dashboard's Content-Security-Policy (its icon is a data: URL). */
export const DASHBOARD_CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'";

export function allRoutes(deps: AppDeps): RouteSpec[] {
  const routes: RouteSpec[] = [];
  routes.push(...publicRoutes(deps, () => routes));
  routes.push(...indexRoutes(deps.indexes, deps.config));
  routes.push(...indexErrorRoutes(deps.indexes, deps.observability.activity));
  routes.push(...ownKeyRoutes(deps.keys));
  routes.push(...collectionRoutes(deps.collections, deps.config));
  routes.push(...aliasRoutes(deps.collections));
  routes.push(...adminRoutes(deps.tenants, deps.keys, deps.indexes));
  routes.push(
    ...operationRoutes({
      indexes: deps.indexes,
      collections: deps.collections,
      tenants: deps.tenants,
      keys: deps.keys,
      metrics: deps.observability.metrics,
      activity: deps.observability.activity,
      metricsToken: deps.config.metricsToken,
      health: deps.health,
      cluster: deps.cluster,
    }),
  );
  return routes;
}

export function createApp(deps: AppDeps): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);
  // The routes' query strings are parsed where the route is found (dispatch.ts); nothing else reads one.
  app.set('query parser', false);
  const routes = allRoutes(deps);
  const pipelineDeps = {
    keys: deps.keys,
    memory: deps.memory,
    bodyLimit: deps.config.bodyLimit,
    versions: {
      index: (tenant: string, name: string, seq: number) => deps.indexes.awaitVersion(tenant, name, seq),
      collection: (tenant: string, name: string, seq: number) => deps.collections.awaitVersion(tenant, name, seq),
    },
    catalog: {
      knows: (kind: 'index' | 'collection', tenant: string, name: string) => (kind === 'index' ? deps.indexes.knows(tenant, name) : deps.collections.knows(tenant, name)),
      awaitCatalog: (kind: 'index' | 'collection') => (kind === 'index' ? deps.indexes.awaitCatalog() : deps.collections.awaitCatalog()),
    },
  };
  app.use(dispatch(routes, pipelineDeps, deps.observability));
  // The dashboard: static files, no CDN (the service works air-gapped); its data
  // comes from the operator-only routes, with the key typed into the page.
  // Its own scripts and styles only: no inline script or style, nothing from elsewhere, no framing.
  app.use('/dashboard', (_req, res, next) => {
    res.set({ 'Content-Security-Policy': DASHBOARD_CSP, 'X-Content-Type-Options': 'nosniff', 'Referrer-Policy': 'no-referrer' });
    next();
  });
  app.use('/dashboard/vendor', express.static(path.dirname(require.resolve('chart.js')), { index: false }));
  app.use('/dashboard', express.static(path.resolve(__dirname, '..', '..', '..', 'service', 'dashboard')));
  // The API reference page (docs-page.ts): Swagger UI over /v1/openapi.json.
  app.use('/docs', docsPage(DASHBOARD_CSP));
  app.use(routeNotFound);
  app.use(errorHandler);
  return app;
}

/**
 * node:http's request and response classes for a server of `app`
 * (http.createServer's IncomingMessage and ServerResponse options): subclasses of
 * node's, whose prototypes become the app's request and response prototypes
 * (app.request, app.response: they inherit what those held), so that the prototype
 * swap Express makes on every request (its expressInit) finds them already in
 * place and changes nothing, rather than giving each request and response a new
 * hidden class. Subclasses, because V8 then lays their objects out as node's own,
 * with room for their fields: a plain function that called node's constructor on
 * its `this` left the response in dictionary mode (slow properties), which every
 * header, write and property of every request paid for; Reflect.construct with
 * another new.target cost more still (npm run bench -- --only targets; bench/RESULTS.md).
 * Call it once, before the server takes requests.
 */
export function expressObjects(app: express.Express): { IncomingMessage: typeof http.IncomingMessage; ServerResponse: typeof http.ServerResponse } {
  class Request extends http.IncomingMessage {}
  Object.setPrototypeOf(Request.prototype, app.request);
  app.request = Request.prototype as unknown as typeof app.request;
  class Response extends http.ServerResponse {}
  Object.setPrototypeOf(Response.prototype, app.response);
  app.response = Response.prototype as unknown as typeof app.response;
  return { IncomingMessage: Request, ServerResponse: Response as unknown as typeof http.ServerResponse };
}
