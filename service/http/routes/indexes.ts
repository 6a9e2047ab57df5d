// /v1/indexes: index lifecycle and every vector operation, for the tenant of the
// calling key. Other tenants' indexes are invisible: their names simply do not
// exist here (404, exactly as for a name nobody uses).
import type { Request, Response } from 'express';
import type { IndexService } from '../../domain/indexes';
import { INDEX_TYPES, METRIC_NAMES, SQ_TYPES } from '../../domain/index-spec';
import { MAX_SHARDS } from '../../domain/shards';
import type { Config } from '../../config';
import { principalOf } from '../auth';
import { HttpError } from '../errors';
import { idempotencyKey } from '../idempotency-key';
import type { RouteSpec } from '../route';
import { LIMITS, schemaOf } from '../../../lib/limits';
import { HEADER, MAX_RECONSTRUCT_IDS } from '../../../lib/wire';
import { codesSchema, filterSchema, idSchema, idsSchema, kSchema, queryOptions, tunableSchema, vectorsSchema } from '../validate';
import { holdFilter, jsonFilterWithin, optionsOf, queryOf, RANGE_SEARCH_QUERY, requestRows, rowsIn, SEARCH_QUERY, searchQuery } from './search-query';
import { binaryFilter } from '../filter';
import type { IDSelector } from '../../../lib/selectors';
import {
  binaryCodesWithIds,
  binaryIds,
  binaryVectorsWithIds,
  isBinary,
  jsonIds,
  sendCodes,
  sendRangeSearch,
  sendSearch,
  sendVectors,
  wantsBinary,
} from '../wire';
import type { Rows } from '../../../lib/any-index';
import { jsonAnswerBytes, requireJsonRangeAnswerWithin, requireVectorsAnswerWithin, vectorsAnswerBytes } from '../answer-size';
import { holdSearch, memoryOf } from '../request-memory';

const tenantOf = (res: { locals: Record<string, unknown> }): string => principalOf(res.locals).tenant;
const nameOf = (req: Request): string => req.params.name;

/** A binary train's options: the seed of an IVF index's k-means (Python's index.cp.seed). */
const TRAIN_QUERY: Record<string, 'int'> = { kmeansSeed: 'int' };

/** A train's kmeansSeed (JSON: checked by the schema already; a query string's: here), as the embedded setter takes it. */
function kmeansSeedOf(v: unknown): number | undefined {
  const { min, max } = LIMITS.kmeansSeed;
  if (v !== undefined && (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max)) {
    throw new HttpError(400, 'ERR_VALIDATION', `kmeansSeed must be an integer from ${min} to ${max}`);
  }
  return v as number | undefined;
}

/** A binary remove's options: the filter part's length when it removes by filter. */
const REMOVE_QUERY: Record<string, 'int'> = { filterBytes: 'int' };

/** What a remove removes: its ids, or the selector of its filter (a JSON `filter`, or a binary body that is the filter part). */
function removedBy(req: Request, config: Config, filterBytes: number | undefined): BigInt64Array | IDSelector {
  if (isBinary(req)) {
    if (filterBytes === undefined) return binaryIds(req.body);
    const body = req.body as Buffer;
    if (filterBytes !== body.length) {
      throw new HttpError(400, 'ERR_VALIDATION', `filterBytes must be the body's ${body.length} bytes: a remove takes ids or a filter, not both`);
    }
    return binaryFilter(body);
  }
  const { ids, filter } = req.body as { ids?: unknown[]; filter?: unknown };
  if ((ids === undefined) === (filter === undefined)) throw new HttpError(400, 'ERR_VALIDATION', 'A remove takes ids or filter (exactly one of them)');
  return ids !== undefined ? jsonIds(ids as (number | string)[]) : jsonFilterWithin(config, filter);
}

export function indexRoutes(indexes: IndexService, config: Config): RouteSpec[] {
  // --max-batch bounds the queries of one search; adds and training are bounded
  // by the body size limit alone (bulk loads of 100,000 vectors are normal).
  const vectors = vectorsSchema(config.maxBatch);
  const bulkVectors = vectorsSchema(1 << 24);
  // A binary index's rows: { codes } in JSON (lib/wire.ts has their binary layouts).
  const codes = codesSchema(config.maxBatch);
  const bulkCodes = codesSchema(1 << 24);
  const dimensionOf = (req: Request, tenant: string): number => indexes.dimension(tenant, nameOf(req));

  /** Vectors (binary indexes: codes) from either wire format, checked against the index's kind and dimension. */
  const vectorsOf = (req: Request, tenant: string): Rows => requestRows(indexes, { tenant, name: nameOf(req), binary: isBinary(req), body: req.body });

  /** Options for binary requests come from the query string, JSON ones from the body. */
  const options = (req: Request, spec: Record<string, 'int' | 'number' | 'bool'>): Record<string, number | boolean | undefined> =>
    optionsOf(isBinary(req), req.body, req.query, spec) as Record<string, number | boolean | undefined>;

  /** Sets X-Index-Version, the index's version after the operation (it changes on every mutation). */
  const versioned = (res: Response, tenant: string, name: string): Response => res.set(HEADER.version, String(indexes.version(tenant, name)));

  return [
    {
      method: 'post',
      path: '/v1/indexes',
      summary: 'Create an index, by FAISS class (type + params) or by any index_factory string (factory)',
      role: 'write',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['name', 'dimension'],
          properties: {
            name: { type: 'string' },
            // Binary indexes (IndexBinary*, factory "B..."): bits, a multiple of 8.
            dimension: schemaOf(LIMITS.dimension),
            type: { enum: [...INDEX_TYPES] },
            factory: { type: 'string', minLength: 1, maxLength: 256 },
            metric: { enum: [...METRIC_NAMES] },
            params: {
              type: 'object',
              additionalProperties: false,
              properties: {
                nlist: schemaOf(LIMITS.nlist),
                m: schemaOf(LIMITS.pqM),
                nbits: schemaOf(LIMITS.nbits),
                M: schemaOf(LIMITS.hnswM),
                qtype: { enum: [...SQ_TYPES] },
                idMap: { type: 'boolean' },
                nprobe: tunableSchema,
                efSearch: tunableSchema,
                efConstruction: tunableSchema,
                mmap: { type: 'boolean' },
              },
            },
            // Where it lives when loaded (serve --gpu; docs/gpu.md): the CPU, a GPU of the server's, or that one.
            device: { type: 'string', pattern: '^(cpu|gpu(:[0-9]{1,4})?)$' },
            // A cluster's: the points partitioned over this many shards by their ids (docs/cluster.md).
            shards: { type: 'integer', minimum: 1, maximum: MAX_SHARDS },
          },
        },
      },
      responses: {
        201: 'The new index, described',
        409: 'An index of that name exists',
        403: 'Quota exceeded',
        400: 'ERR_NO_SUCH_DEVICE: a device gpu:<n> the server does not use (serve --gpu)',
        422: 'ERR_UNSUPPORTED: device gpu on a server without GPUs (no serve --gpu, or an addon built without CUDA), or an index type with no GPU version',
      },
      handler: async (req, res) => {
        res.status(201).json(await indexes.create(tenantOf(res), req.body, principalOf(res.locals).tenantId));
      },
    },
    {
      method: 'get',
      path: '/v1/indexes',
      summary: "List this tenant's indexes",
      role: 'read',
      responses: { 200: '{ indexes: [...] }' },
      handler: (_req, res) => {
        res.json({ indexes: indexes.list(tenantOf(res)) });
      },
    },
    {
      method: 'get',
      path: '/v1/indexes/:name',
      summary: 'Describe an index: dimension, ntotal, isTrained, type, metric, bytes in memory',
      role: 'read',
      responses: { 200: 'The index, described', 404: 'No such index' },
      handler: async (req, res) => {
        const info = await indexes.describe(tenantOf(res), nameOf(req));
        res.set(HEADER.version, String(info.version)).json(info);
      },
    },
    {
      method: 'delete',
      path: '/v1/indexes/:name',
      summary: 'Delete an index and its stored data',
      role: 'write',
      responses: { 204: 'Deleted', 404: 'No such index' },
      handler: async (req, res) => {
        await indexes.delete(tenantOf(res), nameOf(req));
        res.status(204).end();
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/train',
      summary: 'Train the index on vectors (binary indexes: codes)',
      role: 'write',
      body: {
        json: { type: 'object', additionalProperties: false, properties: { vectors: bulkVectors, codes: bulkCodes, kmeansSeed: schemaOf(LIMITS.kmeansSeed) } },
        binary: 'float32 rows of the index dimension (binary indexes: codes of dimension / 8 bytes); kmeansSeed in the query string',
      },
      query: TRAIN_QUERY,
      responses: { 200: 'The index, described', 422: 'ERR_UNSUPPORTED: kmeansSeed on an index without a k-means (not IVF)' },
      handler: async (req, res) => {
        const seed = kmeansSeedOf(options(req, TRAIN_QUERY).kmeansSeed);
        const info = await indexes.train(tenantOf(res), nameOf(req), vectorsOf(req, tenantOf(res)), idempotencyKey(req), seed);
        versioned(res, tenantOf(res), nameOf(req)).json(info);
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/add',
      summary: 'Add vectors (binary indexes: codes), optionally with int64 ids (IDMap indexes and IVF)',
      role: 'write',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          properties: { vectors: bulkVectors, codes: bulkCodes, ids: { ...idsSchema, maxItems: 1 << 24 } },
        },
        binary: 'float32 rows (binary indexes: codes of dimension / 8 bytes); with ?ids=true, n rows followed by n int64 ids',
      },
      query: { ids: 'bool' },
      responses: {
        200: '{ added, ntotal, firstId }: firstId is the id of the first vector when the service numbered them (the rest follow it), null for caller ids. Header X-Index-Version. Send Idempotency-Key to make a retry safe.',
        403: 'Quota exceeded',
        409: 'Index not trained',
      },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        const d = dimensionOf(req, tenant);
        if (isBinary(req)) {
          const o = queryOptions(req, { ids: 'bool' });
          if (o.ids) {
            const { x, ids } = indexes.isBinary(tenant, nameOf(req)) ? binaryCodesWithIds(req.body, d / 8) : binaryVectorsWithIds(req.body, d);
            const out = await indexes.add(tenant, nameOf(req), x, ids, idempotencyKey(req));
            versioned(res, tenant, nameOf(req)).json(out);
            return;
          }
          const x = vectorsOf(req, tenant);
          const out = await indexes.add(tenant, nameOf(req), x, undefined, idempotencyKey(req));
          versioned(res, tenant, nameOf(req)).json(out);
          return;
        }
        options(req, {});
        const x = vectorsOf(req, tenant);
        if (req.body.ids !== undefined && req.body.ids.length !== rowsIn(x, d)) {
          throw new HttpError(400, 'ERR_VALIDATION', `Expected ${rowsIn(x, d)} ids (one per vector) but received ${req.body.ids.length}`);
        }
        const out = await indexes.add(tenant, nameOf(req), x, req.body.ids && jsonIds(req.body.ids), idempotencyKey(req));
        versioned(res, tenant, nameOf(req)).json(out);
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/search',
      summary: 'k nearest neighbours of each query vector',
      role: 'read',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['k'],
          properties: { vectors, codes, k: kSchema(config.maxK), nprobe: tunableSchema, efSearch: tunableSchema, filter: filterSchema },
        },
        binary: 'float32 query rows (binary indexes: codes of dimension / 8 bytes), then the filter part if any; k, nprobe, efSearch, filterBytes in the query string',
      },
      query: SEARCH_QUERY,
      binaryResponse: 'float32 distances (binary indexes: int32 Hamming distances) (nq x k) then int64 labels (nq x k); headers X-Faiss-Nq, X-Faiss-K',
      responses: { 200: '{ distances: number[][], labels: number[][] } (label -1 where fewer than k exist; binary indexes: integer Hamming distances)' },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        const answer = wantsBinary(req) ? 'binary' : 'json';
        const q = searchQuery(indexes, config, { tenant, name: nameOf(req), binary: isBinary(req), body: req.body, query: req.query }, answer, memoryOf(res.locals));
        holdSearch(memoryOf(res.locals), 0, answer, q.nq, q.k); // the body is held already (pipeline.ts)
        const r =
          q.x instanceof Uint8Array
            ? await indexes.searchCodes(tenant, nameOf(req), q.x, q.k, q.params)
            : await indexes.search(tenant, nameOf(req), q.x, q.k, q.params);
        res.setHeader(HEADER.version, String(r.version));
        sendSearch(req, res, r, r.labels.length / q.k, q.k);
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/range_search',
      summary: 'Every neighbour within radius of each query vector',
      role: 'read',
      body: {
        json: {
          type: 'object',
          additionalProperties: false,
          required: ['radius'],
          properties: { vectors, codes, radius: { type: 'number' }, nprobe: tunableSchema, efSearch: tunableSchema, filter: filterSchema },
        },
        binary: 'float32 query rows (binary indexes: codes of dimension / 8 bytes), then the filter part if any; radius, nprobe, efSearch, filterBytes in the query string',
      },
      query: RANGE_SEARCH_QUERY,
      binaryResponse:
        'int64 lims (nq + 1), float32 distances (binary indexes: int32 Hamming distances, strictly below an integer radius), int64 labels; headers X-Faiss-Nq, X-Faiss-Total',
      responses: { 200: '{ results: [{ distances, labels }] }, one per query', 422: 'The index type has no range search' },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        const input = { tenant, name: nameOf(req), binary: isBinary(req), body: req.body };
        const o = optionsOf(input.binary, req.body, req.query, RANGE_SEARCH_QUERY);
        if (typeof o.radius !== 'number') throw new HttpError(400, 'ERR_VALIDATION', 'radius is required');
        const { x, params } = queryOf(indexes, config, input, o, memoryOf(res.locals));
        const answer = wantsBinary(req) ? 'binary' : 'json';
        // How many results there will be depends on the data: FAISS may take up to the per-request limit for them.
        memoryOf(res.locals).hold(config.maxRequestMemory, 'A range search (its results, up to --max-request-memory)');
        const r = await indexes.rangeSearch(tenant, nameOf(req), x, o.radius, params);
        if (answer === 'json') {
          requireJsonRangeAnswerWithin(config.maxRequestMemory, r.labels.length);
          memoryOf(res.locals).hold(jsonAnswerBytes(r.labels.length), `The JSON answer's ${r.labels.length} results`);
        }
        sendRangeSearch(req, res, r, r.lims.length - 1);
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/remove',
      summary: 'Remove vectors by id, or those a filter selects',
      role: 'write',
      body: {
        json: { type: 'object', additionalProperties: false, properties: { ids: idsSchema, filter: filterSchema } },
        binary: 'int64 ids; or, with ?filterBytes (the body length), the filter part alone',
      },
      query: REMOVE_QUERY,
      responses: { 200: '{ removed, ntotal }: every index type removes; ids never change. Send Idempotency-Key to make a retry safe.' },
      handler: async (req, res) => {
        const o = options(req, REMOVE_QUERY);
        const removed = removedBy(req, config, o.filterBytes as number | undefined);
        if (!(removed instanceof BigInt64Array)) holdFilter(memoryOf(res.locals), removed);
        const out = await indexes.remove(tenantOf(res), nameOf(req), removed, idempotencyKey(req));
        versioned(res, tenantOf(res), nameOf(req)).json(out);
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/reconstruct',
      summary: 'The stored vectors of the given ids',
      role: 'read',
      body: { json: { type: 'object', additionalProperties: false, required: ['ids'], properties: { ids: { ...idsSchema, maxItems: MAX_RECONSTRUCT_IDS, items: idSchema } } } },
      binaryResponse: 'float32 rows (binary indexes: codes of X-Faiss-D / 8 bytes); headers X-Faiss-N, X-Faiss-D',
      responses: { 200: '{ vectors: number[][] } (binary indexes: { codes: base64[] })', 404: 'No vector with one of the ids' },
      handler: async (req, res) => {
        const tenant = tenantOf(res);
        if (isBinary(req)) throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'reconstruct takes a JSON body { ids }');
        const ids = [...jsonIds(req.body.ids)];
        const d = dimensionOf(req, tenant);
        const format = wantsBinary(req) ? 'binary' : 'json';
        // A code of d bits takes at most what a vector of d / 8 floats does, in either format.
        const counted = indexes.isBinary(tenant, nameOf(req)) ? d / 8 : d;
        requireVectorsAnswerWithin(config.maxRequestMemory, format, ids.length, counted);
        memoryOf(res.locals).hold(vectorsAnswerBytes(format, ids.length, counted), `The answer's ${ids.length} vectors of dimension ${d}`);
        const rows = await indexes.reconstruct(tenant, nameOf(req), ids);
        if (rows instanceof Uint8Array) sendCodes(req, res, rows, ids.length, d);
        else sendVectors(req, res, rows, ids.length, d);
      },
    },
    {
      method: 'post',
      path: '/v1/indexes/:name/reset',
      summary: 'Remove every vector (training is kept)',
      role: 'write',
      responses: { 200: 'The index, described' },
      handler: async (req, res) => {
        const out = await indexes.reset(tenantOf(res), nameOf(req), idempotencyKey(req));
        versioned(res, tenantOf(res), nameOf(req)).json(out);
      },
    },
    {
      method: 'get',
      path: '/v1/indexes/:name/export',
      summary: 'The index as a FAISS index file (readable by faiss.read_index; a binary index by faiss.read_index_binary)',
      role: 'read',
      binaryResponse: 'a FAISS index file',
      responses: { 200: 'application/octet-stream' },
      handler: async (req, res) => {
        const bytes = await indexes.exportIndex(tenantOf(res), nameOf(req));
        res.status(200).set({
          'Content-Type': 'application/octet-stream',
          'Content-Length': String(bytes.length),
          'Content-Disposition': `attachment; filename="${nameOf(req)}.faissindex"`,
        });
        res.end(bytes);
      },
    },
    {
      method: 'put',
      path: '/v1/indexes/:name/import',
      summary: 'Create (or replace) the index from a FAISS index file; a corrupt file is a 400',
      role: 'write',
      body: { binary: 'a FAISS index file (as written by faiss.write_index, or faiss.write_index_binary for a binary index)' },
      responses: { 201: 'Created, described', 200: 'Replaced, described', 400: 'Not a valid FAISS index' },
      handler: async (req, res) => {
        if (!isBinary(req) || !Buffer.isBuffer(req.body)) {
          throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', 'import takes an application/octet-stream body');
        }
        const { created, info } = await indexes.importIndex(tenantOf(res), nameOf(req), req.body, principalOf(res.locals).tenantId);
        res.status(created ? 201 : 200).json(info);
      },
    },
  ];
}
