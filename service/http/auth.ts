// API-key authentication (passport-headerapikey's strategy, header X-API-Key) and
// roles. admin > write > read: admin manages tenants and keys and may also write
// its own tenant's indexes; write may do everything on its tenant's indexes; read
// may search, describe and reconstruct.
//
// The request pipeline (pipeline.ts) authenticates every route with a key through
// apiKeyCheck. The strategy is run the way passport.authenticate runs it (a
// delegate of the strategy with success/fail/error bound); passport's middleware
// itself is not a dependency: with no sessions and a synchronous verify, it would
// only add its own work per request.
import type { IncomingMessage } from 'node:http';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { ServiceError } from '../domain/errors';
import type { KeyService, Principal } from '../domain/keys';
import type { Role } from '../storage/catalog';

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

interface StrategyDelegate {
  success(user: Principal): void;
  fail(): void;
  error(err: Error): void;
  authenticate(req: IncomingMessage, options?: object): void;
}

/** The principal of a request's X-API-Key; throws ERR_UNAUTHENTICATED when there is none. */
export function apiKeyCheck(keys: KeyService): (req: IncomingMessage) => Principal {
  const strategy = new HeaderAPIKeyStrategy({ header: 'X-API-Key', prefix: '' }, false, (apiKey: string, done: (err: Error | null, user?: object | false) => void) => {
    done(null, keys.verify(apiKey) ?? false);
  });
  // The verify callback above is synchronous, so the strategy has decided when
  // authenticate returns: one delegate, made once, serves every request (one
  // per request would be a new object and three closures each time).
  let principal: Principal | undefined;
  let error: Error | undefined;
  let current: IncomingMessage | undefined;
  const delegate = Object.create(strategy) as StrategyDelegate;
  delegate.success = (p) => (principal = p);
  delegate.fail = () => {
    const message = current?.headers['x-api-key'] ? 'The API key is unknown or revoked' : 'An API key is required in the X-API-Key header';
    error = new ServiceError('ERR_UNAUTHENTICATED', message);
  };
  delegate.error = (e) => (error = e);
  const options = { session: false };
  return (req) => {
    principal = undefined;
    error = undefined;
    current = req;
    try {
      delegate.authenticate(req, options);
    } finally {
      current = undefined;
    }
    if (principal !== undefined && error === undefined) return principal;
    throw error ?? new ServiceError('ERR_UNAUTHENTICATED', 'An API key is required in the X-API-Key header');
  };
}

/** Throws ERR_FORBIDDEN unless the principal's role is at least `role`. */
export function checkRole(p: Principal, role: Role): void {
  if (RANK[p.role] < RANK[role]) {
    throw new ServiceError('ERR_FORBIDDEN', `This operation needs ${role === 'admin' ? 'an' : 'a'} ${role} key; this key has the ${p.role} role`);
  }
}

export const principalOf = (locals: Record<string, unknown>): Principal => locals.principal as Principal;
