// /v1/admin: tenants and API keys. Admin keys only, and scoped: the operator
// (an admin key of the "admin" tenant) manages every tenant; a tenant's own admin
// key sees its tenant and manages its keys, and other tenants do not exist for it.
import { ServiceError } from '../../domain/errors';
import type { KeyService, Principal } from '../../domain/keys';
import { ROLES } from '../../domain/keys';
import type { IndexService } from '../../domain/indexes';
import type { TenantService } from '../../domain/tenants';
import type { RouteSpec } from '../route';

const quotasSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    maxIndexes: { type: 'integer', minimum: 0 },
    maxVectors: { type: 'integer', minimum: 0 },
    maxBytes: { type: 'integer', minimum: 0 },
    // null: follow the server's --max-tenant-memory.
    maxTenantMemory: { type: ['integer', 'null'], minimum: 0 },
  },
};

export const OPERATOR_TENANT = 'admin';

const principal = (res: { locals: Record<string, unknown> }): Principal => res.locals.principal as Principal;
const isOperator = (p: Principal): boolean => p.role === 'admin' && p.tenant === OPERATOR_TENANT;

/** Tenant-wide operations: the operator only. */
function requireOperator(p: Principal): void {
  if (!isOperator(p)) throw new ServiceError('ERR_FORBIDDEN', `Only an admin key of the ${OPERATOR_TENANT} tenant manages tenants`);
}

/** The operator, or the tenant's own admin; any other tenant reads as not existing. */
function requireTenantAdmin(p: Principal, tenant: string): void {
  if (!isOperator(p) && p.tenant !== tenant) throw new ServiceError('ERR_TENANT_NOT_FOUND', `No tenant named ${JSON.stringify(tenant)}`);
}

export function adminRoutes(tenants: TenantService, keys: KeyService, indexes: IndexService): RouteSpec[] {
  const withUsage = async (name: string) => ({ ...tenants.get(name), usage: await indexes.usage(name) });
  return [
    {
      method: 'post',
      path: '/v1/admin/tenants',
      summary: 'Create a tenant (quotas default to the server settings)',
      role: 'admin',
      body: { json: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, quotas: quotasSchema } } },
      responses: { 201: 'The tenant', 409: 'It exists' },
      handler: async (req, res) => {
        requireOperator(principal(res));
        tenants.create(req.body.name, req.body.quotas);
        res.status(201).json(await withUsage(req.body.name));
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants',
      summary: 'List tenants with their quotas and usage',
      role: 'admin',
      responses: { 200: '{ tenants: [...] }' },
      handler: async (_req, res) => {
        requireOperator(principal(res));
        res.json({ tenants: await Promise.all(tenants.list().map((t) => withUsage(t.name))) });
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants/:tenant',
      summary: 'A tenant with its quotas and usage',
      role: 'admin',
      responses: { 200: 'The tenant', 404: 'No such tenant' },
      handler: async (req, res) => {
        requireTenantAdmin(principal(res), req.params.tenant);
        res.json(await withUsage(req.params.tenant));
      },
    },
    {
      method: 'patch',
      path: '/v1/admin/tenants/:tenant',
      summary: "Change a tenant's quotas",
      role: 'admin',
      body: { json: { type: 'object', additionalProperties: false, required: ['quotas'], properties: { quotas: quotasSchema } } },
      responses: { 200: 'The tenant', 404: 'No such tenant' },
      handler: async (req, res) => {
        requireOperator(principal(res));
        tenants.setQuotas(req.params.tenant, req.body.quotas);
        res.json(await withUsage(req.params.tenant));
      },
    },
    {
      method: 'delete',
      path: '/v1/admin/tenants/:tenant',
      summary: 'Delete a tenant with all its indexes and keys',
      role: 'admin',
      responses: { 204: 'Deleted', 404: 'No such tenant' },
      handler: async (req, res) => {
        requireOperator(principal(res));
        if (req.params.tenant === OPERATOR_TENANT) throw new ServiceError('ERR_FORBIDDEN', `The ${OPERATOR_TENANT} tenant cannot be deleted`);
        await tenants.delete(req.params.tenant);
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/v1/admin/tenants/:tenant/keys',
      summary: 'Issue an API key for a tenant; the key is in this answer only',
      role: 'admin',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['role'],
          properties: { role: { enum: [...ROLES] }, label: { type: 'string', maxLength: 200 } },
        },
      },
      responses: { 201: '{ id, tenant, role, label, createdAt, key }', 404: 'No such tenant' },
      handler: (req, res) => {
        requireTenantAdmin(principal(res), req.params.tenant);
        tenants.get(req.params.tenant);
        res.status(201).json(keys.issue(req.params.tenant, req.body.role, req.body.label ?? null));
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants/:tenant/keys',
      summary: "A tenant's keys (ids, roles, state; never the secrets)",
      role: 'admin',
      responses: { 200: '{ keys: [...] }', 404: 'No such tenant' },
      handler: (req, res) => {
        requireTenantAdmin(principal(res), req.params.tenant);
        tenants.get(req.params.tenant);
        res.json({ keys: keys.list(req.params.tenant) });
      },
    },
    {
      method: 'delete',
      path: '/v1/admin/keys/:keyId',
      summary: 'Revoke a key; it stops working at once',
      role: 'admin',
      responses: { 200: 'The revoked key', 404: 'No such key' },
      handler: (req, res) => {
        const p = principal(res);
        const owner = keys.tenantOf(req.params.keyId);
        if (!owner || (!isOperator(p) && owner !== p.tenant)) throw new ServiceError('ERR_KEY_NOT_FOUND', `No key with id ${JSON.stringify(req.params.keyId)}`);
        res.json(keys.revoke(req.params.keyId));
      },
    },
  ];
}
