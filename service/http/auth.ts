// API-key authentication (passport-headerapikey, header X-API-Key) and roles.
// admin > write > read: admin manages tenants and keys and may also write its own
// tenant's indexes; write may do everything on its tenant's indexes; read may
// search, describe and reconstruct.
import type { RequestHandler } from 'express';
import passport from 'passport';
import { HeaderAPIKeyStrategy } from 'passport-headerapikey';
import { ServiceError } from '../domain/errors';
import type { KeyService, Principal } from '../domain/keys';
import type { Role } from '../storage/catalog';

const RANK: Record<Role, number> = { read: 1, write: 2, admin: 3 };

export function createAuthenticator(keys: KeyService): RequestHandler {
  const auth = new passport.Passport();
  auth.use(
    new HeaderAPIKeyStrategy({ header: 'X-API-Key', prefix: '' }, false, (apiKey: string, done: (err: Error | null, user?: object | false) => void) => {
      done(null, keys.verify(apiKey) ?? false);
    }),
  );
  return (req, res, next) => {
    auth.authenticate('headerapikey', { session: false }, (err: unknown, principal: Principal | false) => {
      if (err) return next(err);
      if (!principal) {
        const message = req.header('X-API-Key') ? 'The API key is unknown or revoked' : 'An API key is required in the X-API-Key header';
        return next(new ServiceError('ERR_UNAUTHENTICATED', message));
      }
      res.locals.principal = principal;
      next();
    })(req, res, next);
  };
}

export function requireRole(role: Role): RequestHandler {
  return (_req, res, next) => {
    const p = res.locals.principal as Principal | undefined;
    if (!p) return next(new ServiceError('ERR_UNAUTHENTICATED', 'An API key is required in the X-API-Key header'));
    if (RANK[p.role] < RANK[role]) {
      return next(new ServiceError('ERR_FORBIDDEN', `This operation needs ${role === 'admin' ? 'an' : 'a'} ${role} key; this key has the ${p.role} role`));
    }
    next();
  };
}

export const principalOf = (locals: Record<string, unknown>): Principal => locals.principal as Principal;
