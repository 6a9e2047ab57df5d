// /v1/aliases: names that stand for a collection of the same tenant, for
// blue-green reindexing: fill a new collection, then switch the alias to it in one
// step; every collection route takes an alias where it takes a name.
import type { Response } from 'express';
import type { Collections } from '../../domain/collections';
import { principalOf } from '../auth';
import type { RouteSpec } from '../route';

const tenantOf = (res: Response): string => principalOf(res.locals).tenant;

export function aliasRoutes(collections: Collections): RouteSpec[] {
  return [
    {
      method: 'get',
      path: '/v1/aliases',
      summary: "List this tenant's aliases",
      role: 'read',
      responses: { 200: '{ aliases: [{ alias, collection }] }' },
      handler: async (_req, res) => {
        res.json({ aliases: await collections.listAliases(tenantOf(res)) });
      },
    },
    {
      method: 'post',
      path: '/v1/aliases',
      summary: 'Create an alias of a collection',
      role: 'write',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['alias', 'collection'],
          properties: { alias: { type: 'string' }, collection: { type: 'string' } },
        },
      },
      responses: { 201: '{ alias, collection }', 404: 'No such collection', 409: 'The alias exists, or names a collection' },
      handler: async (req, res) => {
        const { alias, collection } = req.body;
        await collections.createAlias(tenantOf(res), alias, collection, principalOf(res.locals).tenantId);
        res.status(201).json({ alias, collection });
      },
    },
    {
      method: 'put',
      path: '/v1/aliases/:alias',
      summary: 'Point an existing alias at another collection, atomically',
      role: 'write',
      body: { json: { type: 'object', additionalProperties: false, required: ['collection'], properties: { collection: { type: 'string' } } } },
      responses: { 200: '{ alias, collection }', 404: 'No such alias, or no such collection' },
      handler: async (req, res) => {
        const { collection } = req.body;
        await collections.switchAlias(tenantOf(res), req.params.alias, collection);
        res.json({ alias: req.params.alias, collection });
      },
    },
    {
      method: 'delete',
      path: '/v1/aliases/:alias',
      summary: 'Delete an alias (its collection stays)',
      role: 'write',
      responses: { 204: 'Deleted', 404: 'No such alias' },
      handler: async (req, res) => {
        await collections.deleteAlias(tenantOf(res), req.params.alias);
        res.status(204).end();
      },
    },
  ];
}
