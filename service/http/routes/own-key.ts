// GET /v1/key: what the calling key is (its tenant and role), so a client such as
// the dashboard's console offers only what the key may do. Every key may ask about
// itself; it learns nothing it could not learn by trying.
import type { KeyService } from '../../domain/keys';
import { principalOf } from '../auth';
import type { RouteSpec } from '../route';
import { OPERATOR_TENANT } from './admin';

export function ownKeyRoutes(keys: KeyService): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/v1/key',
      summary: 'The calling key: id, tenant, role, label, createdAt, and whether it is the operator',
      role: 'read',
      responses: { 200: '{ id, tenant, role, label, createdAt, operator }' },
      handler: (_req, res) => {
        const p = principalOf(res.locals);
        const key = keys.list(p.tenant).find((k) => k.id === p.keyId);
        res.json({
          id: p.keyId,
          tenant: p.tenant,
          role: p.role,
          label: key?.label ?? null,
          createdAt: key?.createdAt ?? null,
          operator: p.role === 'admin' && p.tenant === OPERATOR_TENANT,
        });
      },
    },
  ];
}
