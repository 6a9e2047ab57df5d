// A route described once: the app registers it and the OpenAPI document is
// generated from the same description, so the two cannot drift apart.
import type { Request, Response } from 'express';
import type { Role } from '../storage/catalog';
import type { Schema } from './validate';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface RouteSpec {
  method: Method;
  /** Express-style path, e.g. /v1/indexes/:name/search */
  path: string;
  summary: string;
  /** Least role needed; null for public routes. */
  role: Role | null;
  /** Accepted bodies: a JSON schema, and/or a description of the binary layout. */
  body?: { json?: Schema; binary?: string };
  /** Query options (binary requests carry their options here). */
  query?: Record<string, 'int' | 'number' | 'bool'>;
  /** Status -> description of the answer. */
  responses: Record<number, string>;
  /** Answers application/octet-stream when asked to (Accept). */
  binaryResponse?: string;
  handler: (req: Request, res: Response) => Promise<void> | void;
}

/** Which object's version a minimum sequence (X-Min-Sequence, minSequence) waits for on this route, if any. */
export function sequencedKind(route: RouteSpec): 'index' | 'collection' | undefined {
  if (route.path.startsWith('/v1/indexes/:name')) return 'index';
  if (route.path.startsWith('/v1/collections/:name')) return 'collection';
  return undefined;
}
