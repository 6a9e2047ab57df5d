// The one request pipeline: what every route in the route table (route.ts) runs,
// as one handler per route that the dispatcher (dispatch.ts) calls once it has
// found the route, in this order:
//   authenticate (X-API-Key, passport-headerapikey's strategy) -> role ->
//   query check -> read the body (JSON or raw bytes, body.ts) -> validate (the
//   route's JSON schema, compiled once) -> hold the body's bytes of the tenant's
//   memory budget -> the key again (its tenant may have been deleted meanwhile)
//   -> the route's handler (which calls the domain and writes the answer) -> any
//   error to the error handler (errors.ts).
// Observation (request id, log line, metrics: observe.ts) starts in the
// dispatcher, the app's first middleware, and sees every request, routed or not.
// The steps are plain calls inside one handler, not a middleware chain: each
// next() through Express's router costs a search measurably (npm run bench --
// --only targets), and the order is easier to read here.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { KeyService } from '../domain/keys';
import type { TenantMemoryBudget } from '../domain/memory-budget';
import { apiKeyCheck, checkRole, principalOf } from './auth';
import { hasBody, readBody } from './body';
import { ServiceError } from '../domain/errors';
import { HttpError } from './errors';
import { bodyBytes, openRequestMemory, type RequestMemory } from './request-memory';
import { sequencedKind, type RouteSpec } from './route';
import { bodyCheck } from './validate';
import { BINARY } from './wire';

export interface PipelineDeps {
  keys: KeyService;
  memory: TenantMemoryBudget;
  /** --body-limit */
  bodyLimit: number;
  /**
   * Waits until an index's or collection's version reaches a request's
   * X-Min-Sequence (read-your-writes across a cluster's nodes: a write's
   * X-Index-Version); ERR_REPLICA_BEHIND (503, Retry-After) past a bound.
   */
  versions?: {
    index(tenant: string, name: string, seq: number): Promise<void>;
    collection(tenant: string, name: string, seq: number): Promise<void>;
  };
  /**
   * Whether this node knows the index or collection a route names, and (a
   * cluster's) a wait until its catalog holds every change acknowledged before
   * it: a name another node has just created is served, not 404.
   */
  catalog?: {
    knows(kind: 'index' | 'collection', tenant: string, name: string): boolean;
    awaitCatalog(kind: 'index' | 'collection'): Promise<void>;
  };
}

const MIN_SEQUENCE_TEXT = /^[0-9]{1,15}$/;

/**
 * The request's minimum sequence, if sent: the X-Min-Sequence header, the
 * `minSequence` query parameter, or (a JSON object body) its `minSequence` field,
 * a non-negative integer, given at most one way. The query parameter and the
 * body field are taken out of the request before the route sees it (they are
 * the pipeline's, not the route's options).
 */
function minSequenceOf(req: Request): number | undefined {
  const given: { where: string; value: number }[] = [];
  const header = req.headers['x-min-sequence'];
  if (header !== undefined) {
    const n = typeof header === 'string' && MIN_SEQUENCE_TEXT.test(header) ? Number(header) : NaN;
    if (!Number.isSafeInteger(n)) throw new HttpError(400, 'ERR_VALIDATION', `Expected X-Min-Sequence to be a non-negative integer (a write's X-Index-Version) but received ${JSON.stringify(header)}`);
    given.push({ where: 'X-Min-Sequence', value: n });
  }
  const query = req.query as Record<string, unknown>;
  if (Object.hasOwn(query, 'minSequence')) {
    const raw = query.minSequence;
    const n = typeof raw === 'string' && MIN_SEQUENCE_TEXT.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(n)) throw new HttpError(400, 'ERR_VALIDATION', `Expected the query parameter minSequence to be a non-negative integer given once (a write's X-Index-Version) but received ${JSON.stringify(raw)}`);
    delete query.minSequence;
    given.push({ where: 'the query parameter minSequence', value: n });
  }
  const body = req.body as Record<string, unknown> | undefined;
  if (body !== null && typeof body === 'object' && !Buffer.isBuffer(body) && !Array.isArray(body) && Object.hasOwn(body, 'minSequence')) {
    const raw = body.minSequence;
    if (typeof raw !== 'number' || !Number.isSafeInteger(raw) || raw < 0) {
      throw new HttpError(400, 'ERR_VALIDATION', `Invalid request: /minSequence must be a non-negative integer (a write's X-Index-Version) but received ${JSON.stringify(raw) ?? String(raw)}`);
    }
    delete body.minSequence;
    given.push({ where: 'the body field minSequence', value: raw });
  }
  if (given.length > 1) throw new HttpError(400, 'ERR_VALIDATION', `The minimum sequence was given ${given.length} ways (${given.map((g) => g.where).join(', ')}): give it once`);
  return given[0]?.value;
}

type Format = 'json' | 'raw';

/** The body's format from its Content-Type: the two exact spellings first, media-type parsing for the rest. */
function formatOf(req: Request): Format | undefined {
  const type = req.headers['content-type'];
  if (type === 'application/json') return 'json';
  if (type === BINARY) return 'raw';
  if (req.is('application/json')) return 'json';
  if (req.is(BINARY)) return 'raw';
  return undefined;
}

/** The route's handler behind the pipeline's steps. */
export function pipeline(route: RouteSpec, deps: PipelineDeps): RequestHandler {
  const checkKey = apiKeyCheck(deps.keys);
  const checkJson = route.body?.json ? bodyCheck(route.body.json) : undefined;
  const accepts = [route.body?.json && 'application/json', route.body?.binary && BINARY].filter(Boolean) as string[];
  const where = `${route.method.toUpperCase()} ${route.path}`;
  const sequenced = sequencedKind(route);

  /**
   * The principal as it stands when the handler starts, after the body and any wait: a key whose tenant was
   * deleted meanwhile (through any node, and perhaps made again under its name) no longer lets the request in.
   * The handler's creates carry its tenant id to the catalog, which makes them only under that tenant record.
   */
  const stillValid = (res: Response): void => {
    if (res.locals.principal !== undefined && !deps.keys.stillValid(principalOf(res.locals))) {
      throw new ServiceError('ERR_UNAUTHENTICATED', 'The API key is unknown or revoked (its tenant was deleted while this request came in)');
    }
  };

  /** After the body: validation, the budget, the principal again, the handler. */
  const handle = (req: Request, res: Response, next: NextFunction): void => {
    let memory: RequestMemory | undefined;
    try {
      // Before validation: the body's minSequence is the pipeline's, not the route's.
      const minSequence = minSequenceOf(req);
      if (checkJson && !Buffer.isBuffer(req.body)) checkJson(req.body);
      if (res.locals.principal !== undefined) {
        // A caller with a key holds its body's bytes of its tenant's memory budget;
        // the handler holds more (res.locals.memory) for what it allocates, and all
        // is given back once it has settled and its answer closed.
        memory = openRequestMemory(deps.memory, principalOf(res.locals).tenant, res);
        res.locals.memory = memory;
        const bytes = bodyBytes(req, req.body);
        memory.hold(bytes, `The request's body of ${bytes} bytes`);
      }
      if (minSequence !== undefined && (!sequenced || !deps.versions || res.locals.principal === undefined)) {
        throw new HttpError(400, 'ERR_VALIDATION', `A minimum sequence (X-Min-Sequence, minSequence) applies to the routes of one index or collection, not to ${where}`);
      }
      const tenant = res.locals.principal !== undefined ? principalOf(res.locals).tenant : undefined;
      const unknown = sequenced !== undefined && tenant !== undefined && deps.catalog !== undefined && !deps.catalog.knows(sequenced, tenant, req.params.name);
      const handler = () => {
        stillValid(res);
        return route.handler(req, res);
      };
      const served = () => (minSequence !== undefined ? deps.versions![sequenced!](tenant!, req.params.name, minSequence).then(handler) : handler());
      const done = unknown ? deps.catalog!.awaitCatalog(sequenced!).then(served) : served();
      if (done) {
        done.then(() => memory?.settled(), (e: unknown) => {
          memory?.settled();
          next(e);
        });
        return;
      }
    } catch (e) {
      memory?.settled();
      return next(e);
    }
    memory?.settled();
  };

  return (req, res, next) => {
    try {
      if (route.role) {
        const principal = checkKey(req);
        res.locals.principal = principal;
        checkRole(principal, route.role);
      }
      // Routes that take no query options refuse them rather than ignore them.
      if (!route.query) {
        const names = Object.keys(req.query).filter((n) => n !== 'minSequence');
        if (names.length > 0) throw new HttpError(400, 'ERR_VALIDATION', `Unknown query parameter ${JSON.stringify(names[0])}; this route takes none`);
      }
    } catch (e) {
      return next(e);
    }
    if (!hasBody(req)) {
      // An empty binary body is still a binary request: the route answers ERR_EMPTY_BODY, not a JSON schema error.
      req.body = route.body?.binary && req.is(BINARY) ? Buffer.alloc(0) : undefined;
      return handle(req, res, next);
    }
    if (accepts.length === 0) return next(new HttpError(400, 'ERR_VALIDATION', `${where} takes no body`));
    const format = formatOf(req);
    if ((format === 'json' && !route.body?.json) || (format === 'raw' && !route.body?.binary) || format === undefined) {
      return next(new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `Expected Content-Type ${accepts.join(' or ')}`));
    }
    readBody(req, format, deps.bodyLimit, (err, body) => {
      if (err) {
        // The rest of a refused body is not read: the connection cannot be reused after this answer.
        if (!req.complete) res.shouldKeepAlive = false;
        return next(err);
      }
      req.body = body;
      handle(req, res, next);
    });
  };
}
