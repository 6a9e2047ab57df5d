// The route table as a lookup: a tree of path segments, built once from the
// routes (route.ts), that finds a request's route by walking its path's segments,
// one Map lookup each. Express's router would instead test every route's
// path-to-regexp pattern in turn, through a Layer and a Route per route, on every
// request (npm run bench -- --only targets --profile-server). Matching follows
// Express's defaults, which the routes were written for: literal segments match
// without regard to case, a parameter is one non-empty segment (%-decoded; a
// malformed escape is a 400), one trailing slash is allowed, and a GET route
// answers HEAD too.
import { HttpError } from './errors';
import type { Method, RouteSpec } from './route';

interface Node<T> {
  literal: Map<string, Node<T>>;
  param?: { name: string; node: Node<T> };
  /** The routes ending here, by upper-case method, in the table's order (the order of Allow). */
  methods: Map<string, T>;
}

const node = <T>(): Node<T> => ({ literal: new Map(), methods: new Map() });

export type RouteMatch<T> =
  /** A route takes this method on this path. */
  | { route: T; params: Record<string, string> }
  /** The path is known, the method is not: what it allows. */
  | { route: undefined; allowed: string[] };

function decodeParam(raw: string): string {
  if (!raw.includes('%')) return raw;
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'ERR_BAD_REQUEST', `Failed to decode param '${raw}'`);
  }
}

export class RouteTable<T> {
  private readonly root = node<T>();

  /** `value` is what a match of `spec` returns (the route's handler, with what it needs). */
  add(spec: Pick<RouteSpec, 'method' | 'path'>, value: T): void {
    let at = this.root;
    for (const segment of spec.path.split('/').slice(1)) {
      if (segment.startsWith(':')) {
        const name = segment.slice(1);
        if (at.param && at.param.name !== name) throw new Error(`${spec.path}: parameter :${name} where another route has :${at.param.name}`);
        at.param ??= { name, node: node<T>() };
        at = at.param.node;
      } else {
        const key = segment.toLowerCase();
        let next = at.literal.get(key);
        if (!next) at.literal.set(key, (next = node<T>()));
        at = next;
      }
    }
    const method = spec.method.toUpperCase() as Uppercase<Method>;
    if (at.methods.has(method)) throw new Error(`${method} ${spec.path} is in the route table twice`);
    at.methods.set(method, value);
  }

  /** The route for `method` and `path` (a URL's path, without its query), or undefined for an unknown path. */
  match(method: string, path: string): RouteMatch<T> | undefined {
    if (path.charCodeAt(0) !== 47 /* / */) return undefined;
    const end = path.length > 1 && path.charCodeAt(path.length - 1) === 47 ? path.length - 1 : path.length;
    let at = this.root;
    let params: Record<string, string> | undefined;
    let from = 1;
    for (;;) {
      let to = path.indexOf('/', from);
      if (to < 0 || to > end) to = end;
      const segment = path.slice(from, to);
      const next = at.literal.get(segment) ?? at.literal.get(segment.toLowerCase());
      if (next) at = next;
      else if (at.param && segment.length > 0) {
        (params ??= {})[at.param.name] = decodeParam(segment);
        at = at.param.node;
      } else return undefined;
      if (to >= end) break;
      from = to + 1;
    }
    if (at.methods.size === 0) return undefined;
    const route = at.methods.get(method) ?? (method === 'HEAD' ? at.methods.get('GET') : undefined);
    if (route === undefined) return { route: undefined, allowed: [...at.methods.keys()] };
    return { route, params: params ?? {} };
  }
}
