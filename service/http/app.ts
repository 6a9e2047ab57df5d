// createApp(deps): the Express app, built from its dependencies so tests can make
// one per test. Each route: authenticate -> role -> body -> validation -> handler.
// createRequestListener(deps): what the server listens with: the app, behind the
// lean search endpoint (search-endpoint.ts).
import type { IncomingMessage, ServerResponse } from 'node:http';
import express, { type Request, type RequestHandler } from 'express';
import type { Config } from '../config';
import type { IndexService } from '../domain/indexes';
import type { KeyService } from '../domain/keys';
import type { TenantService } from '../domain/tenants';
import type { TenantMemoryBudget } from '../domain/memory-budget';
import type { StorageHealth } from '../storage/health';
import { apiKeyCheck, createAuthenticator, principalOf, requireRole } from './auth';
import { bodyBytes, openRequestMemory, type RequestMemory } from './request-memory';
import { leanBody } from './body';
import { createSearchEndpoint } from './search-endpoint';
import { HttpError, errorHandler, routeNotFound, sendError } from './errors';
import { openApiDocument } from './openapi';
import type { RouteSpec } from './route';
import { adminRoutes } from './routes/admin';
import { indexRoutes } from './routes/indexes';
import { validateBody } from './validate';
import { observe, observeRequest, type Observability } from './observe';
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

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Parses the body in the formats the route accepts; anything else is a 415. */
function bodyFor(route: RouteSpec, limit: number): RequestHandler {
  const json = leanBody('json', limit, express.json({ limit, strict: true, type: () => true }));
  const raw = leanBody('raw', limit, express.raw({ limit, type: () => true }));
  return (req, _res, next) => {
    if (!hasBody(req)) {
      // An empty binary body is still a binary request: the route answers ERR_EMPTY_BODY, not a JSON schema error.
      req.body = route.body?.binary && req.is('application/octet-stream') ? Buffer.alloc(0) : undefined;
      return next();
    }
    const accepts = [route.body?.json && 'application/json', route.body?.binary && 'application/octet-stream'].filter(Boolean) as string[];
    if (accepts.length === 0) return next(new HttpError(400, 'ERR_VALIDATION', `${route.method.toUpperCase()} ${route.path} takes no body`));
    if (route.body?.json && req.is('application/json')) return json(req, _res, next);
    if (route.body?.binary && req.is('application/octet-stream')) return raw(req, _res, next);
    next(new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type ${accepts.join(' or ')}`));
  };
}

/** Routes that take no query options refuse them rather than ignore them. */
const noQuery: RequestHandler = (req, _res, next) => {
  const names = Object.keys(req.query);
  if (names.length > 0) return next(new HttpError(400, 'ERR_VALIDATION', `Unknown query parameter ${JSON.stringify(names[0])}; this route takes none`));
  next();
};

/**
 * A request's key is checked again just before its handler acts when a tenant
 * was deleted since the request arrived (its body may have taken long): the key
 * may have gone with its tenant, and the name may belong to a new tenant now.
 */
function keyRecheck(tenants: TenantService, keys: KeyService): (req: Request, locals: Record<string, unknown>) => void {
  const check = apiKeyCheck(keys);
  return (req, locals) => {
    if (locals.principal !== undefined && locals.tenantDeletions !== tenants.deletions) locals.principal = check(req);
  };
}

/**
 * Runs a route's handler. A caller with a key holds its body's bytes of its
 * tenant's memory budget first; the handler holds more (res.locals.memory) for
 * what it allocates, and all is given back once it has settled and its answer closed.
 */
const wrap = (handler: RouteSpec['handler'], recheck: ReturnType<typeof keyRecheck>, budget: TenantMemoryBudget): RequestHandler => (req, res, next) => {
  let memory: RequestMemory | undefined;
  Promise.resolve()
    .then(() => {
      recheck(req, res.locals);
      if (res.locals.principal !== undefined) {
        memory = openRequestMemory(budget, principalOf(res.locals).tenant, res);
        res.locals.memory = memory;
        const bytes = bodyBytes(req, req.body);
        memory.hold(bytes, `The request's body of ${bytes} bytes`);
      }
      return handler(req, res);
    })
    .catch(next)
    .finally(() => memory?.settled());
};

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

interface Built {
  app: express.Express;
  routes: RouteSpec[];
}

function build(deps: AppDeps): Built {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', false);
  app.set('etag', false);
  app.use(observe(deps.observability));
  app.use((_req, res, next) => {
    res.locals.tenantDeletions = deps.tenants.deletions;
    next();
  });
  // The dashboard: static files, no CDN (the service works air-gapped); its data
  // comes from the operator-only routes, with the key typed into the page.
  app.use('/dashboard/vendor', express.static(path.dirname(require.resolve('chart.js')), { index: false }));
  app.use('/dashboard', express.static(path.resolve(__dirname, '..', '..', '..', 'service', 'dashboard')));
  const authenticate = createAuthenticator(deps.keys);
  const recheck = keyRecheck(deps.tenants, deps.keys);
  const routes = allRoutes(deps);
  for (const r of routes) {
    const chain: RequestHandler[] = [];
    if (r.role) chain.push(authenticate, requireRole(r.role));
    if (!r.query) chain.push(noQuery);
    chain.push(bodyFor(r, deps.config.bodyLimit));
    if (r.body?.json) chain.push(validateBody(r.body.json));
    chain.push(wrap(r.handler, recheck, deps.memory));
    app[r.method](r.path, ...chain);
  }
  // A known path with another method is a 405, not a 404.
  const patterns = routes.map((r) => ({ method: r.method.toUpperCase(), re: new RegExp(`^${r.path.replace(/:[A-Za-z]+/g, '[^/]+')}/?$`) }));
  app.use((req, _res, next) => {
    const allowed = patterns.filter((p) => p.re.test(req.path)).map((p) => p.method);
    if (allowed.length === 0) return routeNotFound(req, _res, next);
    _res.set('Allow', allowed.join(', '));
    next(new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; allowed: ${allowed.join(', ')}`));
  });
  app.use(errorHandler);
  return { app, routes };
}

export function createApp(deps: AppDeps): express.Express {
  return build(deps).app;
}

/** A Content-Length over the limit: refused before a byte of the body is read or any work done. */
function declaresOversizedBody(req: IncomingMessage, limit: number): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > limit;
}

function refuseOversizedBody(observability: Observability, req: IncomingMessage, res: ServerResponse, limit: number): void {
  const locals: Record<string, unknown> = {};
  observeRequest(observability, req, res, locals, () => 'unmatched');
  // The body is not read: the connection cannot be reused after this answer.
  res.shouldKeepAlive = false;
  sendError(res, locals, new HttpError(413, 'ERR_BODY_TOO_LARGE', `The request declares a body of more than ${limit} bytes, the limit (--body-limit)`));
}

/** The server's request listener: plain searches go to the lean search endpoint, everything else to the app. */
export function createRequestListener(deps: AppDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { app, routes } = build(deps);
  const jsonSchema = routes.find((r) => r.method === 'post' && r.path === '/v1/indexes/:name/search')?.body?.json;
  if (!jsonSchema) throw new Error('The search route is missing');
  const search = createSearchEndpoint({ indexes: deps.indexes, keys: deps.keys, tenants: deps.tenants, memory: deps.memory, config: deps.config, observability: deps.observability, jsonSchema });
  const limit = deps.config.bodyLimit;
  return (req, res) => {
    if (declaresOversizedBody(req, limit)) return refuseOversizedBody(deps.observability, req, res, limit);
    if (!search(req, res)) app(req, res);
  };
}
