// POST /v1/indexes/<name>/search on node:http's own request and response objects.
// Searches are most of a busy service's requests, and Express (its request and
// response prototypes, router, content negotiation and middleware) made a
// one-query search cost the event loop about twice what it costs here (HNSW at 8
// clients, this server against the previous one side by side: about 4,000 against
// 2,000 searches a second; docs/performance.md).
// This endpoint answers the plain cases of that route with the route's own
// pieces: the same key check and role, body reader, JSON schema, query checks
// (routes/search-query.ts), answer encoding, error classification and
// observation (request id, log line, metrics, dashboard). Anything else (another
// content type or charset, a compressed or chunked body, an Accept that needs
// negotiating, a query string Express's parser would decode, the path in another
// spelling) goes to the Express app, which answers it as it always has.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config';
import type { IndexService } from '../domain/indexes';
import type { KeyService } from '../domain/keys';
import type { TenantService } from '../domain/tenants';
import type { TenantMemoryBudget } from '../domain/memory-budget';
import { apiKeyCheck, checkRole } from './auth';
import { isPlainBody, readPlainBody } from './body';
import { sendError } from './errors';
import { writeJson } from './json-answer';
import { observeRequest, type Observability } from './observe';
import { searchQuery } from './routes/search-query';
import { bodyCheck, type Schema } from './validate';
import { holdSearch, openRequestMemory } from './request-memory';
import { BINARY, binarySearchAnswer, jsonSearchAnswer, writeBinary } from './wire';

export interface SearchEndpointDeps {
  indexes: IndexService;
  keys: KeyService;
  tenants: TenantService;
  memory: TenantMemoryBudget;
  config: Config;
  observability: Observability;
  /** The search route's JSON body schema (routes/indexes.ts). */
  jsonSchema: Schema;
}

const PATH = /^\/v1\/indexes\/([^/%]+)\/search$/;
const ROUTE = '/v1/indexes/:name/search';

function formatOf(contentType: string | undefined): 'binary' | 'json' | undefined {
  if (contentType === BINARY) return 'binary';
  if (contentType === 'application/json' || /^application\/json;\s*charset=utf-?8$/i.test(contentType ?? '')) return 'json';
  return undefined;
}

/** Whether to answer in binary, for the Accept values that need no negotiating; undefined for the rest. */
function binaryAnswer(accept: string | undefined): boolean | undefined {
  if (accept === undefined || accept === '*/*' || accept === 'application/json') return false;
  return accept === BINARY ? true : undefined;
}

/** name=value pairs with plain names, each once, and nothing to decode; else undefined (Express parses those). */
function plainQuery(search: string): Record<string, string> | undefined {
  const out: Record<string, string> = Object.create(null);
  if (search === '') return out;
  for (const pair of search.split('&')) {
    const eq = pair.indexOf('=');
    const name = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (!/^[A-Za-z]+$/.test(name) || name in out || /[%+]/.test(value)) return undefined;
    out[name] = value;
  }
  return out;
}

/** Returns false, having touched nothing, for a request it leaves to the Express app. */
export function createSearchEndpoint(deps: SearchEndpointDeps): (req: IncomingMessage, res: ServerResponse) => boolean {
  const { indexes, config, observability } = deps;
  const checkKey = apiKeyCheck(deps.keys);
  const checkJson = bodyCheck(deps.jsonSchema);

  return (req, res) => {
    if (req.method !== 'POST') return false;
    const url = req.url ?? '';
    const q = url.indexOf('?');
    const m = PATH.exec(q < 0 ? url : url.slice(0, q));
    if (!m) return false;
    const format = formatOf(req.headers['content-type']);
    const binaryOut = binaryAnswer(req.headers.accept);
    const query = plainQuery(q < 0 ? '' : url.slice(q + 1));
    if (!format || binaryOut === undefined || !query) return false;
    const bodyKind = format === 'binary' ? 'raw' : 'json';
    if (!isPlainBody(req, bodyKind, config.bodyLimit)) return false;

    const locals: Record<string, unknown> = {};
    observeRequest(observability, req, res, locals, () => ROUTE);
    const fail = (err: unknown): void => sendError(res, locals, err);
    const name = m[1];
    let tenant: string;
    const tenantDeletions = deps.tenants.deletions;
    try {
      const principal = checkKey(req);
      locals.principal = principal;
      checkRole(principal, 'read');
      tenant = principal.tenant;
    } catch (e) {
      fail(e);
      return true;
    }
    readPlainBody(req, bodyKind, (err, body) => {
      if (err) return fail(err);
      let answer: ReturnType<IndexService['search']>;
      let k: number;
      const memory = openRequestMemory(deps.memory, tenant, res);
      try {
        // A tenant deleted while the body arrived may have taken this key with it (app.ts keyRecheck).
        if (deps.tenants.deletions !== tenantDeletions) checkKey(req);
        if (format === 'json') checkJson(body);
        const asked = searchQuery(indexes, config, { tenant, name, binary: format === 'binary', body, query }, binaryOut ? 'binary' : 'json');
        k = asked.k;
        holdSearch(memory, Number(req.headers['content-length']), binaryOut ? 'binary' : 'json', asked.x.length / indexes.dimension(tenant, name), k);
        answer = indexes.search(tenant, name, asked.x, k, asked.params);
      } catch (e) {
        memory.settled();
        return fail(e);
      }
      answer.finally(() => memory.settled()).catch(() => {});
      answer
        .then((r) => {
          const nq = r.labels.length / k;
          const version = String(r.version);
          if (!binaryOut) return writeJson(res, 200, { 'X-Index-Version': version }, jsonSearchAnswer(r, nq, k));
          const { headers, parts } = binarySearchAnswer(r, nq, k);
          writeBinary(res, { ...headers, 'X-Index-Version': version }, parts);
        })
        .catch(fail);
    });
    return true;
  };
}
