// /v1/collections: collections of issue 18 (lib/collections/types.ts) for the
// tenant of the calling key: points with string ids, a vector and a JSON payload,
// upsert, filtered search. Every route takes a collection's name or an alias of
// it. Vectors travel as JSON number arrays, in requests and answers; filters are
// Qdrant's JSON shape, parsed once here (lib/collections/filter.ts:
// ERR_INVALID_FILTER, 400) before the domain sees them. Other tenants'
// collections are invisible: their names do not exist here.
import type { Request, Response } from 'express';
import type { Config } from '../../config';
import type { Collections } from '../../domain/collections';
import { filterOptionInput, idsArg, pointsInput, readOptionsInput, scrollOptionsInput, searchOptionsInput, vectorArg, vectorsArg } from '../../../lib/collections/input';
import type { Point } from '../../../lib/collections/types';
import { LIMITS, schemaOf } from '../../../lib/limits';
import { principalOf } from '../auth';
import { requireAnswerWithin, searchHoldBytes } from '../answer-size';
import { HttpError } from '../errors';
import { writeJsonText } from '../json-answer';
import { memoryOf } from '../request-memory';
import type { RouteSpec } from '../route';
import { kSchema, tunableSchema, type Schema } from '../validate';
import { idempotencyKey } from '../idempotency-key';
import { HEADER } from '../../../lib/wire';
import { MAX_SHARDS } from '../../domain/shards';

const tenantOf = (res: Response): string => principalOf(res.locals).tenant;
const nameOf = (req: Request): string => req.params.name;

const PAYLOAD_TYPES = ['keyword', 'integer', 'float', 'bool', 'datetime'];
/** Ids are checked by the collection (UTF-8, 1 to 256 bytes: ERR_INVALID_ARGUMENT), the same embedded and remote. */
const pointIdSchema: Schema = { type: 'string' };
const vectorSchema: Schema = { type: 'array', minItems: 1, maxItems: LIMITS.dimension.max, items: { type: 'number' } };
const vectorsSchema = (maxRows: number): Schema => ({ type: 'array', minItems: 1, maxItems: maxRows, items: vectorSchema });
/**
 * Any JSON here: parseFilter (lib/collections/filter.ts) checks it, with the
 * errors embedded collections give (ERR_INVALID_FILTER naming the path), and
 * counts its terms as it goes, which a recursive schema would not.
 */
const filterSchema: Schema = {
  description:
    'Qdrant\'s filter: { must?, should?, must_not? } of conditions { key, match: { value | any | except } }, { key, range: { gt, gte, lt, lte } }, { is_null: { key } }, { is_empty: { key } }, { has_id: [...] } or nested filters',
};
const readOptions: Record<string, Schema> = { withPayload: { type: 'boolean' }, withVector: { type: 'boolean' } };
const MAX_READ_IDS = 10_000;
const MAX_DELETE_IDS = 1_000_000;

/** The body's fields of these names that are present: the options object the core's validators (lib/collections/input.ts) take. */
function pick(body: Record<string, unknown>, names: readonly string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of names) if (body[n] !== undefined) out[n] = body[n];
  return out;
}
const READ = ['withPayload', 'withVector'] as const;

/** A point as JSON: its vector (a Float32Array in the domain) as a number array. */
const pointJson = <P extends Point>(p: P): P | (Omit<P, 'vector'> & { vector: number[] }) => (p.vector ? { ...p, vector: Array.from(p.vector) } : p);

/** A read's answer as JSON text, refused past --max-request-memory once its payloads are known, and held of the tenant's budget while it is sent. */
function sendRead(res: Response, config: Config, value: unknown, what: string): void {
  const text = JSON.stringify(value);
  const bytes = Buffer.byteLength(text);
  requireAnswerWithin(config.maxRequestMemory, bytes, what);
  memoryOf(res.locals).hold(bytes, what);
  writeJsonText(res, 200, {}, text);
}

export function collectionRoutes(collections: Collections, config: Config): RouteSpec[] {
  /** A write's answer, with X-Index-Version: the collection's version after it (its stream sequence in a cluster: X-Min-Sequence reads it back anywhere). */
  const versioned = (res: Response, tenant: string, name: string, answer: unknown): void => {
    res.set(HEADER.version, String(collections.version(tenant, name))).json(answer);
  };
  return [
    {
      method: 'post',
      path: '/v1/collections',
      summary: 'Create a collection: points with string ids, vectors and JSON payloads over one FAISS index (any factory string)',
      role: 'write',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'dimension'],
          properties: {
            name: { type: 'string' },
            dimension: schemaOf(LIMITS.dimension),
            factory: { type: 'string', minLength: 1, maxLength: 256 },
            metric: { enum: ['l2', 'ip'] },
            payloadIndexes: { type: 'object', additionalProperties: { enum: PAYLOAD_TYPES } },
            // A cluster's: the points partitioned over this many shards by a hash of their ids (docs/cluster.md).
            shards: { type: 'integer', minimum: 1, maximum: MAX_SHARDS },
          },
        },
      },
      responses: {
        201: 'The new collection, described',
        409: 'A collection or alias of that name exists',
        403: 'Quota exceeded',
        422: 'ERR_UNSUPPORTED: shards on a single node (a cluster shards collections)',
      },
      handler: async (req, res) => {
        const { shards, ...spec } = req.body;
        res.status(201).json(await collections.create(tenantOf(res), spec, shards, principalOf(res.locals).tenantId));
      },
    },
    {
      method: 'get',
      path: '/v1/collections',
      summary: "List this tenant's collections",
      role: 'read',
      responses: { 200: '{ collections: [...] }' },
      handler: async (_req, res) => {
        res.json({ collections: await collections.list(tenantOf(res)) });
      },
    },
    {
      method: 'get',
      path: '/v1/collections/:name',
      summary: 'Describe a collection (by name or alias): dimension, factory, metric, count, isTrained, payloadIndexes',
      role: 'read',
      responses: { 200: 'The collection, described', 404: 'No such collection or alias' },
      handler: async (req, res) => {
        res.json(await collections.info(tenantOf(res), nameOf(req)));
      },
    },
    {
      method: 'delete',
      path: '/v1/collections/:name',
      summary: 'Delete a collection and its stored data (refused while aliases point at it)',
      role: 'write',
      responses: { 204: 'Deleted', 404: 'No such collection', 400: 'Aliases point at it (the message names them)' },
      handler: async (req, res) => {
        await collections.drop(tenantOf(res), nameOf(req));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/v1/collections/:name/train',
      summary: "Train the collection's index on vectors (IVF and PQ factories need it before upserts)",
      role: 'write',
      body: { json: { type: 'object', additionalProperties: false, required: ['vectors'], properties: { vectors: vectorsSchema(1 << 24) } } },
      responses: { 200: 'The collection, described. Send Idempotency-Key to make a retry safe.' },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        const d = collections.dimension(tenant, nameOf(req));
        const { x } = vectorsArg(req.body.vectors, d);
        versioned(res, tenant, nameOf(req), await collections.train(tenant, nameOf(req), x, idempotencyKey(req)));
      },
    },
    {
      method: 'put',
      path: '/v1/collections/:name/points',
      summary: 'Upsert points: insert them, or replace the vector and payload of ids that exist, all or none',
      role: 'write',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['points'],
          properties: {
            points: {
              type: 'array',
              maxItems: 1 << 24,
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['id', 'vector'],
                properties: { id: pointIdSchema, vector: vectorSchema, payload: { anyOf: [{ type: 'object' }, { type: 'null' }] } },
              },
            },
          },
        },
      },
      responses: {
        200: '{ upserted }. Send Idempotency-Key to make a retry safe.',
        403: 'Quota exceeded',
        409: 'Not trained',
        413: 'A payload over --max-payload-bytes (ERR_PAYLOAD_TOO_LARGE)',
      },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        const d = collections.dimension(tenant, nameOf(req));
        const input = pointsInput(req.body.points, d, collections.limits);
        versioned(res, tenant, nameOf(req), await collections.upsert(tenant, nameOf(req), input, idempotencyKey(req)));
      },
    },
    {
      method: 'post',
      path: '/v1/collections/:name/points/get',
      summary: 'The points of these ids that exist, in the order asked',
      role: 'read',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['ids'],
          properties: { ids: { type: 'array', maxItems: MAX_READ_IDS, items: pointIdSchema }, ...readOptions },
        },
      },
      responses: { 200: '{ points: [{ id, payload?, vector? }] }' },
      handler: async (req, res) => {
        const ids = idsArg(req.body.ids);
        const points = await collections.get(tenantOf(res), nameOf(req), ids, readOptionsInput(pick(req.body, READ)));
        sendRead(res, config, { points: points.map(pointJson) }, `The answer's ${points.length} points`);
      },
    },
    {
      method: 'post',
      path: '/v1/collections/:name/points/delete',
      summary: 'Delete points by id ({ ids }) or by filter ({ filter })',
      role: 'write',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          properties: { ids: { type: 'array', maxItems: MAX_DELETE_IDS, items: pointIdSchema }, filter: filterSchema },
        },
      },
      responses: { 200: '{ deleted }. Send Idempotency-Key to make a retry safe.' },
      handler: async (req, res) => {
        const { ids, filter } = req.body;
        if ((ids === undefined) === (filter === undefined)) throw new HttpError(400, 'ERR_VALIDATION', 'Invalid request: give either ids or filter');
        const target = ids !== undefined ? { ids: idsArg(ids) } : { filter: filterOptionInput({ filter })! };
        versioned(res, tenantOf(res), nameOf(req), await collections.delete(tenantOf(res), nameOf(req), target, idempotencyKey(req)));
      },
    },
    {
      method: 'post',
      path: '/v1/collections/:name/points/scroll',
      summary: 'Page through the points (in id order) that pass a filter',
      role: 'read',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          properties: {
            filter: filterSchema,
            limit: { type: 'integer', minimum: 1, maximum: 10_000 },
            offset: { anyOf: [{ type: 'string' }, { type: 'null' }] },
            ...readOptions,
          },
        },
      },
      responses: { 200: '{ points, nextOffset }: nextOffset is the offset of the next page, null after the last' },
      handler: async (req, res) => {
        const o = scrollOptionsInput(pick(req.body, ['filter', 'limit', 'offset', ...READ]));
        const page = await collections.scroll(tenantOf(res), nameOf(req), o);
        sendRead(res, config, { points: page.points.map(pointJson), nextOffset: page.nextOffset }, `The answer's ${page.points.length} points`);
      },
    },
    {
      method: 'post',
      path: '/v1/collections/:name/points/count',
      summary: 'How many points pass a filter (all of them without one)',
      role: 'read',
      body: { json: { type: 'object', additionalProperties: false, properties: { filter: filterSchema } } },
      responses: { 200: '{ count }' },
      handler: async (req, res) => {
        res.json({ count: await collections.count(tenantOf(res), nameOf(req), filterOptionInput(req.body)) });
      },
    },
    {
      method: 'post',
      path: '/v1/collections/:name/search',
      summary: 'The k nearest points to a vector ({ vector }: { hits }) or to each of several ({ vectors }: { results }) that pass the filter',
      role: 'read',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['k'],
          properties: {
            vector: vectorSchema,
            vectors: vectorsSchema(config.maxBatch),
            k: kSchema(config.maxK),
            filter: filterSchema,
            nprobe: tunableSchema,
            efSearch: tunableSchema,
            ...readOptions,
          },
        },
      },
      responses: { 200: '{ hits: [{ id, score, payload?, vector? }] } for { vector }; { results: [hits, ...] } for { vectors }' },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        const { vector, vectors, k } = req.body;
        if ((vector === undefined) === (vectors === undefined)) throw new HttpError(400, 'ERR_VALIDATION', 'Invalid request: give either vector or vectors');
        const d = collections.dimension(tenant, nameOf(req));
        const { x, n } = vector !== undefined ? { x: vectorArg(vector, d, 'vector'), n: 1 } : vectorsArg(vectors, d);
        const o = searchOptionsInput(pick(req.body, ['filter', 'nprobe', 'efSearch', ...READ]));
        memoryOf(res.locals).hold(searchHoldBytes(n, k, o.withVector ? d : 0), `A search of ${n} queries with k = ${k} (its answer)`);
        const results = (await collections.search(tenant, nameOf(req), x, n, k, o)).map((hits) => hits.map(pointJson));
        sendRead(res, config, vector !== undefined ? { hits: results[0] } : { results }, `The answer's ${n * k} hits`);
      },
    },
    {
      method: 'put',
      path: '/v1/collections/:name/payload-indexes/:field',
      summary: 'Declare a payload index on a field (a dot-separated path), so filters on it do not scan every payload',
      role: 'write',
      body: { json: { type: 'object', additionalProperties: false, required: ['type'], properties: { type: { enum: PAYLOAD_TYPES } } } },
      responses: { 200: 'The collection, described' },
      handler: async (req, res) => {
        versioned(res, tenantOf(res), nameOf(req), await collections.createPayloadIndex(tenantOf(res), nameOf(req), req.params.field, req.body.type, idempotencyKey(req)));
      },
    },
    {
      method: 'delete',
      path: '/v1/collections/:name/payload-indexes/:field',
      summary: 'Drop the payload index of a field (filters on it then scan the payloads)',
      role: 'write',
      responses: { 200: 'The collection, described' },
      handler: async (req, res) => {
        versioned(res, tenantOf(res), nameOf(req), await collections.deletePayloadIndex(tenantOf(res), nameOf(req), req.params.field, idempotencyKey(req)));
      },
    },
  ];
}
