// The app's first middleware, and the only one an API request passes: observe
// the request (observe.ts), refuse a body declared over --body-limit, find the
// route in the route table (route-table.ts), take its path parameters and query
// string, and run the one request pipeline (pipeline.ts). A path the table does
// not know goes on to the dashboard's static files and then a 404; a known path
// with another method is a 405 with Allow.
// Why one middleware and not a route per app[method](): every middleware and
// route Express walks costs each request a Layer match and a next() (npm run
// bench -- --only targets --profile-server); here a request costs one lookup per
// path segment.
import { parse as parseQueryString } from 'node:querystring';
import type { RequestHandler } from 'express';
import { declaresMoreThan } from './body';
import { HttpError } from './errors';
import { requestObserver, type Observability } from './observe';
import { pipeline, type PipelineDeps } from './pipeline';
import type { RouteSpec } from './route';
import { RouteTable } from './route-table';

interface Routed {
  /** The route's pattern: its label in logs and metrics. */
  pattern: string;
  handle: RequestHandler;
}

export function dispatch(routes: RouteSpec[], deps: PipelineDeps, observability: Observability): RequestHandler {
  const table = new RouteTable<Routed>();
  for (const r of routes) table.add(r, { pattern: r.path, handle: pipeline(r, deps) });
  const observe = requestObserver(observability);
  const limit = deps.bodyLimit;

  return (req, res, next) => {
    const locals = res.locals;
    observe(req, res);
    if (declaresMoreThan(req, limit)) {
      // The body is not read: the connection cannot be reused after this answer.
      res.shouldKeepAlive = false;
      return next(new HttpError(413, 'ERR_BODY_TOO_LARGE', `The request declares a body of more than ${limit} bytes, the limit (--body-limit)`));
    }
    const url = req.url;
    const q = url.indexOf('?');
    let found;
    try {
      // An absolute-form target (http://host/path) is left to Express's URL parsing.
      found = table.match(req.method, url.charCodeAt(0) !== 47 /* / */ ? req.path : q < 0 ? url : url.slice(0, q));
    } catch (e) {
      return next(e);
    }
    if (found === undefined) return next();
    if (found.route === undefined) {
      res.setHeader('Allow', found.allowed.join(', '));
      return next(new HttpError(405, 'ERR_METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${req.path}; allowed: ${found.allowed.join(', ')}`));
    }
    locals.route = found.route.pattern;
    // Kept in locals too: Express gives req.params back its own value when an error leaves the router (observe.ts reads these).
    locals.params = found.params;
    req.params = found.params;
    // Express's own query parser is off (app.ts): the string is parsed here, for the routes only.
    if (q >= 0) req.query = parseQueryString(url.slice(q + 1)) as typeof req.query;
    found.route.handle(req, res, next);
  };
}
