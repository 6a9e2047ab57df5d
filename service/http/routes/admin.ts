// /v1/admin: tenants and API keys. Admin keys only.
import type { KeyService } from '../../domain/keys';
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
  },
};

export function adminRoutes(tenants: TenantService, keys: KeyService, indexes: IndexService): RouteSpec[] {
  const withUsage = (name: string) => ({ ...tenants.get(name), usage: indexes.usage(name) });
  return [
    {
      method: 'post',
      path: '/v1/admin/tenants',
      summary: 'Create a tenant (quotas default to the server settings)',
      role: 'admin',
      body: { json: { type: 'object', additionalProperties: false, required: ['name'], properties: { name: { type: 'string' }, quotas: quotasSchema } } },
      responses: { 201: 'The tenant', 409: 'It exists' },
      handler: (req, res) => {
        tenants.create(req.body.name, req.body.quotas);
        res.status(201).json(withUsage(req.body.name));
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants',
      summary: 'List tenants with their quotas and usage',
      role: 'admin',
      responses: { 200: '{ tenants: [...] }' },
      handler: (_req, res) => {
        res.json({ tenants: tenants.list().map((t) => withUsage(t.name)) });
      },
    },
    {
      method: 'get',
      path: '/v1/admin/tenants/:tenant',
      summary: 'A tenant with its quotas and usage',
      role: 'admin',
      responses: { 200: 'The tenant', 404: 'No such tenant' },
      handler: (req, res) => {
        res.json(withUsage(req.params.tenant));
      },
    },
    {
      method: 'patch',
      path: '/v1/admin/tenants/:tenant',
      summary: "Change a tenant's quotas",
      role: 'admin',
      body: { json: { type: 'object', additionalProperties: false, required: ['quotas'], properties: { quotas: quotasSchema } } },
      responses: { 200: 'The tenant', 404: 'No such tenant' },
      handler: (req, res) => {
        tenants.setQuotas(req.params.tenant, req.body.quotas);
        res.json(withUsage(req.params.tenant));
      },
    },
    {
      method: 'delete',
      path: '/v1/admin/tenants/:tenant',
      summary: 'Delete a tenant with all its indexes and keys',
      role: 'admin',
      responses: { 204: 'Deleted', 404: 'No such tenant' },
      handler: async (req, res) => {
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
        res.json(keys.revoke(req.params.keyId));
      },
    },
  ];
}
