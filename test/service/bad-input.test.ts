// Bad requests of every kind, black-box over HTTP against a real server process:
// each gets its exact status and error code (never a 500, a hang or a crash), has
// no side effect, and the server is healthy afterwards.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { newerFaiss } from '../support/fixtures';
import { call, client, makeTenant, startServer, type Reply, type ServerProcess } from '../support/server';

const d = 4;
const BODY_LIMIT = 100_000;
const MAX_K = 10_000;
const BEYOND_2_53 = 2 ** 53 + 2;

type KeyName = 'write' | 'tight' | 'admin';
interface Req {
  method?: string;
  path: string;
  /** Whose key: the main tenant's write key (default), the quota-bound tenant's, or the server admin's. */
  key?: KeyName;
  json?: unknown;
  /** A raw body (text or bytes) with `type` as its Content-Type (default application/octet-stream). */
  body?: string | Uint8Array;
  type?: string;
  /** Send the path as is (fetch would normalize "/.."). */
  raw?: boolean;
}
interface Case {
  name: string;
  req: () => Req;
  status: number;
  code: string;
  check?: (r: Reply) => void;
}

const I = (name: string, op?: string): string => `/v1/indexes/${name}${op ? `/${op}` : ''}`;
const zeros = (n: number): number[][] => Array.from({ length: n }, (_, i) => [i, 0, 0, 0]);
const f32 = (...v: number[]): Buffer => Buffer.from(new Float32Array(v).buffer);
const i64 = (...v: bigint[]): Buffer => Buffer.from(new BigInt64Array(v).buffer);
// Every create and import gets a new name, so that one that wrongly succeeds cannot change the answer to the next.
let seq = 0;
const fresh = (): string => `fresh${++seq}`;
const create = (spec: Record<string, unknown>): Req => ({ method: 'POST', path: '/v1/indexes', json: { name: fresh(), dimension: d, ...spec } });
const search = (json: unknown, name = 'flat'): Req => ({ method: 'POST', path: I(name, 'search'), json });
const add = (json: unknown, name = 'flat'): Req => ({ method: 'POST', path: I(name, 'add'), json });
const bin = (path: string, body: Uint8Array | string, method = 'POST'): Req => ({ method, path, body });
const jsonText = (path: string, text: string, type = 'application/json'): Req => ({ method: 'POST', path, body: text, type });
const importFile = (name: string, body: Uint8Array, key?: KeyName): Req => ({ method: 'PUT', path: I(name, 'import'), body, key });

// A flat index's FAISS file (set in before()), for the corrupt-import cases.
let flatFile: Buffer;
/** The flat file with its ntotal (int64 at bytes 8..15, after "IxF2" and d) made negative. */
const negativeNtotal = (): Buffer => {
  const b = Buffer.from(flatFile);
  b[15] = 0x80;
  return b;
};

/** A binary index's codes in JSON: base64 strings of `bytes` bytes each. */
const b64 = (n: number, bytes = 8): string[] => Array.from({ length: n }, (_, i) => Buffer.alloc(bytes, i).toString('base64'));

// Collections (issue 18): 'coll' (Flat, d = 4, a keyword index on tag, points c0..c4), 'civf' (IVF4,Flat, untrained)
// and the alias 'calias' of 'coll'. The writes that must fail use ids no point has ('half...'), often after good
// points in the same request: the left-no-trace check reads every point of 'coll' and every collection's count.
const CO = (name: string, op?: string): string => `/v1/collections/${name}${op ? `/${op}` : ''}`;
const upsert = (points: unknown, name = 'coll'): Req => ({ method: 'PUT', path: CO(name, 'points'), json: { points } });
const cpoint = (id: string, vector: unknown = [0, 0, 0, 0], payload?: unknown) => ({ id, vector, ...(payload !== undefined ? { payload } : {}) });
const csearch = (json: Record<string, unknown>, name = 'coll'): Req => ({ method: 'POST', path: CO(name, 'search'), json: { vector: [0, 0, 0, 0], k: 1, ...json } });
const withFilter = (filter: unknown): Req => csearch({ filter });
const createColl = (spec: Record<string, unknown>): Req => ({ method: 'POST', path: '/v1/collections', json: { name: fresh(), dimension: d, ...spec } });
/** Filters nested n deep: { must: [{ must: [ ... ] }] }. */
const nested = (n: number): unknown => (n === 0 ? { key: 'tag', match: { value: 'a' } } : { must: [nested(n - 1)] });

const cases: Case[] = [
  // --- binary indexes (IndexBinary*: codes of dimension / 8 bytes; 'bflat' and 'bivf' have dimension 64)
  { name: 'a binary index of 12 bits (not a multiple of 8)', req: () => create({ type: 'IndexBinaryFlat', dimension: 12 }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary index with a metric', req: () => create({ type: 'IndexBinaryFlat', dimension: 64, metric: 'IP' }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary index with params.idMap', req: () => create({ type: 'IndexBinaryFlat', dimension: 64, params: { idMap: true } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary IVF without nlist', req: () => create({ type: 'IndexBinaryIVF', dimension: 64 }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary hash factory', req: () => create({ factory: 'BHash8', dimension: 64 }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'a binary factory with trailing garbage', req: () => create({ factory: 'BIVF4x', dimension: 64 }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary IVF of 2^24 lists of 2^20 bits', req: () => create({ factory: 'BIVF16777216', dimension: 2 ** 20 }), status: 422, code: 'ERR_RESOURCE_LIMIT' },
  { name: 'codes of the wrong length (3 bytes for 8)', req: () => add({ codes: b64(1, 3) }, 'bflat'), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary body of 5 bytes to a 64-bit index', req: () => bin(I('bflat', 'add'), Buffer.alloc(5)), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary query of 9 bytes to a 64-bit index', req: () => bin(`${I('bflat', 'search')}?k=1`, Buffer.alloc(9)), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary add ?ids=true with a code but no id', req: () => bin(`${I('bivf', 'add')}?ids=true`, Buffer.alloc(8)), status: 400, code: 'ERR_DIMENSION' },
  { name: 'codes that are not base64', req: () => add({ codes: ['not base64!'] }, 'bflat'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'float vectors given to a binary index', req: () => add({ vectors: zeros(1) }, 'bflat'), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'binary codes given to a float index', req: () => add({ codes: b64(1, 16) }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary search without codes', req: () => search({ k: 1 }, 'bflat'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a binary search with k = 0', req: () => search({ codes: b64(1), k: 0 }, 'bflat'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a binary search with k past --max-k', req: () => search({ codes: b64(1), k: MAX_K + 1 }, 'bflat'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a binary range search with a fractional radius', req: () => ({ method: 'POST', path: I('bflat', 'range_search'), json: { codes: b64(1), radius: 1.5 } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a binary search with efSearch on a flat index', req: () => search({ codes: b64(1), k: 1, efSearch: 8 }, 'bflat'), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'remove from a binary flat index (it would renumber)', req: () => ({ method: 'POST', path: I('bflat', 'remove'), json: { ids: [1] } }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'add to an untrained binary IVF', req: () => add({ codes: b64(1) }, 'bivf'), status: 409, code: 'ERR_NOT_TRAINED' },
  { name: 'train a binary IVF on fewer codes than lists', req: () => ({ method: 'POST', path: I('bivf', 'train'), json: { codes: b64(2) } }), status: 400, code: 'ERR_FAISS' },
  // --- body and content type
  { name: 'malformed JSON', req: () => jsonText(I('flat', 'search'), '{"vectors": [[1, 2'), status: 400, code: 'ERR_MALFORMED_JSON' },
  { name: 'JSON that is a bare number', req: () => jsonText(I('flat', 'search'), '42'), status: 400, code: 'ERR_MALFORMED_JSON' },
  { name: 'a JSON array instead of an object', req: () => search([]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an empty JSON body', req: () => jsonText(I('flat', 'search'), ''), status: 400, code: 'ERR_VALIDATION' },
  { name: 'text/plain on search', req: () => jsonText(I('flat', 'search'), '{"vectors":[[0,0,0,0]],"k":1}', 'text/plain'), status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'text/plain on create', req: () => jsonText('/v1/indexes', '{"name":"fresh0","dimension":4,"type":"IndexFlatL2"}', 'text/plain'), status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'a JSON body over --body-limit', req: () => add({ vectors: Array.from({ length: 4000 }, () => [0.123456789, 0.123456789, 0.123456789, 0.123456789]) }), status: 413, code: 'ERR_BODY_TOO_LARGE' },
  { name: 'a binary body over --body-limit', req: () => bin(I('flat', 'add'), Buffer.alloc(BODY_LIMIT + 16)), status: 413, code: 'ERR_BODY_TOO_LARGE' },
  { name: 'an import over --body-limit', req: () => importFile(fresh(), Buffer.alloc(BODY_LIMIT + 16)), status: 413, code: 'ERR_BODY_TOO_LARGE' },
  { name: 'a body on reset, which takes none', req: () => ({ method: 'POST', path: I('flat', 'reset'), json: {} }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a binary body on reconstruct (JSON only)', req: () => bin(I('flat', 'reconstruct'), i64(0n)), status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
  { name: 'import with a JSON content type', req: () => ({ method: 'PUT', path: I(fresh(), 'import'), json: {} }), status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' },
  // --- unknown and missing fields
  { name: 'an unknown field on search', req: () => search({ vectors: zeros(1), k: 1, limit: 5 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an unknown field on create', req: () => create({ type: 'IndexFlatL2', replicas: 2 }), status: 400, code: 'ERR_VALIDATION' },
  // shards partition an index over a cluster's nodes (docs/cluster.md): a single node has none to offer.
  { name: 'shards on a single node', req: () => create({ type: 'IndexFlatL2', shards: 2 }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'shards 0', req: () => create({ type: 'IndexFlatL2', shards: 0 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an unknown field in create params', req: () => create({ type: 'IndexFlatL2', params: { nlists: 4 } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an unknown field on tenant create', req: () => ({ method: 'POST', path: '/v1/admin/tenants', key: 'admin', json: { name: 'tenantX', colour: 'red' } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'search without k', req: () => search({ vectors: zeros(1) }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'add without vectors', req: () => add({ ids: [1] }, 'idmap'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'create without dimension', req: () => ({ method: 'POST', path: '/v1/indexes', json: { name: fresh(), type: 'IndexFlatL2' } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'create without name', req: () => ({ method: 'POST', path: '/v1/indexes', json: { dimension: d, type: 'IndexFlatL2' } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'range_search without radius', req: () => ({ method: 'POST', path: I('flat', 'range_search'), json: { vectors: zeros(1) } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary range_search without ?radius', req: () => bin(I('flat', 'range_search'), f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  { name: 'remove without ids', req: () => ({ method: 'POST', path: I('flat', 'remove'), json: {} }), status: 400, code: 'ERR_VALIDATION' },
  // --- dimension
  { name: 'a JSON query row of d + 1', req: () => search({ vectors: [[0, 0, 0, 0, 0]], k: 1 }), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a JSON add whose second row is short', req: () => add({ vectors: [[0, 0, 0, 0], [0, 0, 0]] }), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary query of 4d + 4 bytes', req: () => bin(`${I('flat', 'search')}?k=1`, f32(0, 0, 0, 0, 0)), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary add of 3 bytes', req: () => bin(I('flat', 'add'), Buffer.alloc(3)), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary add ?ids=true with a row but no id', req: () => bin(`${I('idmap', 'add')}?ids=true`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a binary train of 5 bytes', req: () => bin(I('ivf', 'train'), Buffer.alloc(5)), status: 400, code: 'ERR_DIMENSION' },
  // --- NaN and Infinity (JSON cannot write them, but 1e999 parses as Infinity)
  { name: 'JSON query with 1e999', req: () => jsonText(I('flat', 'search'), '{"vectors":[[1e999,0,0,0]],"k":1}'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'JSON add with -1e999', req: () => jsonText(I('flat', 'add'), '{"vectors":[[0,-1e999,0,0]]}'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'JSON radius 1e999', req: () => jsonText(I('flat', 'range_search'), '{"vectors":[[0,0,0,0]],"radius":1e999}'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary query with Infinity', req: () => bin(`${I('flat', 'search')}?k=1`, f32(Infinity, 0, 0, 0)), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'binary add with NaN', req: () => bin(I('flat', 'add'), f32(0, NaN, 0, 0)), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'binary ?radius=Infinity', req: () => bin(`${I('flat', 'range_search')}?radius=Infinity`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary ?radius=NaN', req: () => bin(`${I('flat', 'range_search')}?radius=NaN`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  // --- k
  ...([
    ['0', 0],
    ['negative', -1],
    ['fractional', 1.5],
    [`above maxK (${MAX_K + 1})`, MAX_K + 1],
    ['a string', '3'],
    ['null', null],
  ] as [string, unknown][]).map(([what, k]): Case => ({ name: `JSON k ${what}`, req: () => search({ vectors: zeros(1), k }), status: 400, code: 'ERR_VALIDATION' })),
  ...['?k=0', '?k=-1', '?k=1.5', `?k=${MAX_K + 1}`, '?k=abc', '?k=', ''].map(
    (q): Case => ({ name: `binary search ${q || 'without k'}`, req: () => bin(`${I('flat', 'search')}${q}`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' }),
  ),
  // --- the shape of vectors
  { name: 'an empty vectors array', req: () => search({ vectors: [], k: 1 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an empty row', req: () => add({ vectors: [[]] }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'vectors as one flat array', req: () => add({ vectors: [0, 0, 0, 0] }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'vectors as a string', req: () => search({ vectors: '0,0,0,0', k: 1 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'vectors null', req: () => search({ vectors: null, k: 1 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a number written as a string', req: () => add({ vectors: [['1', 0, 0, 0]] }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an empty binary search', req: () => bin(`${I('flat', 'search')}?k=1`, new Uint8Array(0)), status: 400, code: 'ERR_EMPTY_BODY' },
  { name: 'an empty binary add', req: () => bin(I('flat', 'add'), new Uint8Array(0)), status: 400, code: 'ERR_EMPTY_BODY' },
  { name: 'an empty binary remove', req: () => bin(I('flat', 'remove'), new Uint8Array(0)), status: 400, code: 'ERR_EMPTY_BODY' },
  { name: 'an empty import (not a FAISS file)', req: () => importFile(fresh(), new Uint8Array(0)), status: 400, code: 'ERR_CORRUPT_INDEX' },
  // --- ids
  { name: 'an id beyond 2^53 on add', req: () => add({ vectors: zeros(1), ids: [BEYOND_2_53] }, 'idmap'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an id of 1e20 on remove', req: () => ({ method: 'POST', path: I('flat', 'remove'), json: { ids: [1e20] } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an id beyond 2^53 on reconstruct', req: () => ({ method: 'POST', path: I('flat', 'reconstruct'), json: { ids: [BEYOND_2_53] } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a fractional id', req: () => add({ vectors: zeros(1), ids: [1.5] }, 'idmap'), status: 400, code: 'ERR_VALIDATION' },
  // Ids as decimal strings are taken (for those a JSON number cannot hold); anything else in a string is not an id.
  { name: 'an id string that is not decimal digits', req: () => add({ vectors: zeros(1), ids: ['7a'] }, 'idmap'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an id string beyond int64', req: () => add({ vectors: zeros(1), ids: ['9223372036854775808'] }, 'idmap'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'the id -1 on add', req: () => add({ vectors: zeros(1), ids: [-1] }, 'idmap'), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'one id for two vectors', req: () => add({ vectors: zeros(2), ids: [100] }, 'idmap'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an empty ids array on remove', req: () => ({ method: 'POST', path: I('flat', 'remove'), json: { ids: [] } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary remove of 7 bytes', req: () => bin(I('flat', 'remove'), Buffer.alloc(7)), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  // --- names in a body
  ...['../x', 'a/b', '.hidden', 'x'.repeat(65), '', 'héllo', 'nul\u0000byte', '-dash'].map(
    (name): Case => ({ name: `create named ${JSON.stringify(name.length > 20 ? `${name.length} chars` : name)}`, req: () => create({ name, type: 'IndexFlatL2' }), status: 400, code: 'ERR_INVALID_NAME' }),
  ),
  { name: 'create named by a number', req: () => create({ name: 42, type: 'IndexFlatL2' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a tenant named "../x"', req: () => ({ method: 'POST', path: '/v1/admin/tenants', key: 'admin', json: { name: '../x' } }), status: 400, code: 'ERR_INVALID_NAME' },
  // --- names in the path: lookups of such names find nothing; import (which creates) refuses them
  { name: 'describe "..%2Fx"', req: () => ({ path: I('..%2Fx') }), status: 404, code: 'ERR_INDEX_NOT_FOUND' },
  { name: 'search "a%2Fb"', req: () => search({ vectors: zeros(1), k: 1 }, 'a%2Fb'), status: 404, code: 'ERR_INDEX_NOT_FOUND' },
  { name: 'describe ".." (unnormalized path)', req: () => ({ path: I('..'), raw: true }), status: 404, code: 'ERR_INDEX_NOT_FOUND' },
  { name: 'GET /v1/indexes/../x (unnormalized path)', req: () => ({ path: '/v1/indexes/../x', raw: true }), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  { name: 'an empty name in the path', req: () => ({ method: 'POST', path: '/v1/indexes//search', json: { vectors: zeros(1), k: 1 }, raw: true }), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  { name: 'a malformed %-escape in the path', req: () => ({ path: I('%E0%A4%A') }), status: 400, code: 'ERR_BAD_REQUEST' },
  ...['a%2Fb', '..%2F..%2Fetc', '.hidden', 'x'.repeat(65)].map(
    (name): Case => ({ name: `import as "${name.length > 20 ? `${name.length} chars` : name}"`, req: () => importFile(name, flatFile), status: 400, code: 'ERR_INVALID_NAME' }),
  ),
  { name: 'import as ".." (unnormalized path)', req: () => ({ ...importFile('..', flatFile), raw: true }), status: 400, code: 'ERR_INVALID_NAME' },
  // --- state and capability
  { name: 'add to an untrained IVF', req: () => add({ vectors: zeros(1) }, 'ivf'), status: 409, code: 'ERR_NOT_TRAINED' },
  { name: 'binary add to an untrained IVF', req: () => bin(I('ivf', 'add'), f32(0, 0, 0, 0)), status: 409, code: 'ERR_NOT_TRAINED' },
  { name: 'train an IVF on fewer points than lists', req: () => ({ method: 'POST', path: I('ivf', 'train'), json: { vectors: zeros(2) } }), status: 400, code: 'ERR_FAISS' },
  { name: 'range_search on HNSW', req: () => ({ method: 'POST', path: I('hnsw', 'range_search'), json: { vectors: zeros(1), radius: 1 } }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'add without ids to an IDMap index', req: () => add({ vectors: zeros(1) }, 'idmap'), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'binary add without ?ids to an IDMap index', req: () => bin(I('idmap', 'add'), f32(0, 0, 0, 0)), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'add with ids to a flat index', req: () => add({ vectors: zeros(1), ids: [5] }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'nprobe on a flat index', req: () => search({ vectors: zeros(1), k: 1, nprobe: 2 }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'efSearch on a flat index', req: () => search({ vectors: zeros(1), k: 1, efSearch: 2 }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'efSearch 0', req: () => search({ vectors: zeros(1), k: 1, efSearch: 0 }, 'hnsw'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary ?efSearch=0', req: () => bin(`${I('hnsw', 'search')}?k=1&efSearch=0`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  { name: 'nprobe -1', req: () => search({ vectors: zeros(1), k: 1, nprobe: -1 }, 'ivf'), status: 400, code: 'ERR_VALIDATION' },
  // The contract's limits (lib/limits.ts), the same in JSON and binary requests.
  { name: 'nprobe above 2^30', req: () => search({ vectors: zeros(1), k: 1, nprobe: 2 ** 30 + 1 }, 'ivf'), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary ?nprobe above 2^30', req: () => bin(`${I('ivf', 'search')}?k=1&nprobe=${2 ** 30 + 1}`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  { name: 'reconstruct an id that is not there', req: () => ({ method: 'POST', path: I('flat', 'reconstruct'), json: { ids: [999] } }), status: 404, code: 'ERR_NOT_FOUND' },
  // --- unknown and existing indexes
  { name: 'search an unknown index', req: () => search({ vectors: zeros(1), k: 1 }, 'nope'), status: 404, code: 'ERR_INDEX_NOT_FOUND' },
  { name: 'binary add to an unknown index', req: () => bin(I('nope', 'add'), f32(0, 0, 0, 0)), status: 404, code: 'ERR_INDEX_NOT_FOUND' },
  { name: 'export an unknown index', req: () => ({ path: I('nope', 'export') }), status: 404, code: 'ERR_INDEX_NOT_FOUND' },
  { name: 'create a name that exists', req: () => create({ name: 'flat', type: 'IndexFlatL2' }), status: 409, code: 'ERR_INDEX_EXISTS' },
  // --- create specs
  ...['NotAnIndex', 'Flat,Flat', 'PQ3', 'IVF0,Flat', 'HNSW0,Flat', 'HNSW1', 'PQ0', 'PQ4x0', 'PQ2x99', 'IVF4_HNSW0,Flat'].map(
    (factory): Case => ({ name: `factory "${factory}"`, req: () => create({ factory }), status: 400, code: 'ERR_INVALID_ARGUMENT' }),
  ),
  { name: 'an empty factory', req: () => create({ factory: '' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'both type and factory', req: () => create({ type: 'IndexFlatL2', factory: 'Flat' }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'neither type nor factory', req: () => create({}), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'an unknown type', req: () => create({ type: 'IndexMagic' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'IVF without nlist', req: () => create({ type: 'IndexIVFFlat' }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'IVFPQ without m', req: () => create({ type: 'IndexIVFPQ', params: { nlist: 4 } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'nlist 0', req: () => create({ type: 'IndexIVFFlat', params: { nlist: 0 } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'dimension 0', req: () => create({ type: 'IndexFlatL2', dimension: 0 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'dimension 1.5', req: () => create({ type: 'IndexFlatL2', dimension: 1.5 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'dimension above 2^20', req: () => create({ type: 'IndexFlatL2', dimension: 2 ** 20 + 1 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'nlist above 2^24', req: () => create({ type: 'IndexIVFFlat', params: { nlist: 2 ** 24 + 1 } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'metric "cosine"', req: () => create({ type: 'IndexHNSWFlat', metric: 'cosine' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'IndexFlatL2 with metric IP', req: () => create({ type: 'IndexFlatL2', metric: 'IP' }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'metric "Lp" (its p is not stored)', req: () => create({ factory: 'Flat', metric: 'Lp' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'metric "METRIC_L1" (a constant\'s name, not the metric\'s)', req: () => create({ factory: 'Flat', metric: 'METRIC_L1' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'metric L1 on an IVF factory string', req: () => create({ factory: 'IVF4,Flat', metric: 'L1' }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'metric Canberra on IndexIVFFlat', req: () => create({ type: 'IndexIVFFlat', metric: 'Canberra', params: { nlist: 4 } }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'efSearch on a flat index at create', req: () => create({ type: 'IndexFlatL2', params: { efSearch: 8 } }), status: 422, code: 'ERR_UNSUPPORTED' },
  // --- corrupt imports
  { name: 'import of random bytes', req: () => importFile(fresh(), Buffer.alloc(64, 7)), status: 400, code: 'ERR_CORRUPT_INDEX' },
  { name: 'import of a truncated export', req: () => importFile(fresh(), flatFile.subarray(0, flatFile.length - 10)), status: 400, code: 'ERR_CORRUPT_INDEX' },
  { name: 'import of an export cut after its header', req: () => importFile(fresh(), flatFile.subarray(0, 8)), status: 400, code: 'ERR_CORRUPT_INDEX' },
  { name: 'import of a flat file with a negative ntotal', req: () => importFile(fresh(), negativeNtotal()), status: 400, code: 'ERR_CORRUPT_INDEX' },
  { name: 'import of a file written by a newer FAISS (IndexIVFRaBitQ)', req: () => importFile(fresh(), fs.readFileSync(newerFaiss().file('ivf-rabitq'))), status: 422, code: 'ERR_UNSUPPORTED', check: (r) => assert.match(r.json.error.message, /newer FAISS.*"Iwrq"/) },
  // --- query strings
  { name: 'an unknown query parameter on a binary search', req: () => bin(`${I('flat', 'search')}?k=1&limit=2`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  { name: 'k given twice', req: () => bin(`${I('flat', 'search')}?k=1&k=2`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  ...['constructor', '__proto__', 'toString', 'hasOwnProperty'].map((name) => ({
    name: `a binary search with ?${name}=1 (an Object.prototype name, not an option)`,
    req: () => bin(`${I('flat', 'search')}?k=1&${name}=1`, f32(0, 0, 0, 0)),
    status: 400,
    code: 'ERR_VALIDATION',
  })),
  { name: 'a JSON search with ?k=', req: () => ({ ...search({ vectors: zeros(1), k: 1 }), path: `${I('flat', 'search')}?k=3` }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a JSON add with ?ids=true', req: () => ({ ...add({ vectors: zeros(1), ids: [3] }, 'idmap'), path: `${I('idmap', 'add')}?ids=true` }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary add ?ids=maybe', req: () => bin(`${I('idmap', 'add')}?ids=maybe`, f32(0, 0, 0, 0)), status: 400, code: 'ERR_VALIDATION' },
  { name: 'binary remove with a query parameter', req: () => bin(`${I('flat', 'remove')}?all=true`, i64(0n)), status: 400, code: 'ERR_VALIDATION' },
  // --- routing
  { name: 'PATCH /v1/indexes/x', req: () => ({ method: 'PATCH', path: I('x'), json: {} }), status: 405, code: 'ERR_METHOD_NOT_ALLOWED', check: (r) => assert.equal(r.headers.get('allow'), 'GET, DELETE') },
  { name: 'GET /v1/indexes/x/search', req: () => ({ path: I('x', 'search') }), status: 405, code: 'ERR_METHOD_NOT_ALLOWED', check: (r) => assert.equal(r.headers.get('allow'), 'POST') },
  { name: 'DELETE /v1/indexes', req: () => ({ method: 'DELETE', path: '/v1/indexes' }), status: 405, code: 'ERR_METHOD_NOT_ALLOWED' },
  { name: 'POST /v1/indexes/x/export', req: () => ({ method: 'POST', path: I('x', 'export') }), status: 405, code: 'ERR_METHOD_NOT_ALLOWED' },
  { name: 'GET /v1/nope', req: () => ({ path: '/v1/nope' }), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  { name: 'POST /v1/indexes/flat/compact', req: () => ({ method: 'POST', path: I('flat', 'compact'), json: {} }), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  { name: 'GET /v2/indexes', req: () => ({ path: '/v2/indexes' }), status: 404, code: 'ERR_ROUTE_NOT_FOUND' },
  // --- quotas: tenant "tight" has { maxIndexes: 1, maxVectors: 10 } and one index, "q1"
  { name: 'a second index over maxIndexes', req: () => ({ ...create({ type: 'IndexFlatL2' }), key: 'tight' }), status: 403, code: 'ERR_QUOTA_EXCEEDED' },
  { name: 'a second index by import over maxIndexes', req: () => importFile(fresh(), flatFile, 'tight'), status: 403, code: 'ERR_QUOTA_EXCEEDED' },
  { name: 'adding 11 vectors over maxVectors 10', req: () => ({ ...add({ vectors: zeros(11) }, 'q1'), key: 'tight' }), status: 403, code: 'ERR_QUOTA_EXCEEDED' },
  { name: 'adding 11 binary vectors over maxVectors 10', req: () => ({ ...bin(I('q1', 'add'), Buffer.alloc(11 * 4 * d)), key: 'tight' }), status: 403, code: 'ERR_QUOTA_EXCEEDED' },
  // --- admin
  { name: 'create a tenant that exists', req: () => ({ method: 'POST', path: '/v1/admin/tenants', key: 'admin', json: { name: 'tight' } }), status: 409, code: 'ERR_TENANT_EXISTS' },
  { name: 'a negative quota', req: () => ({ method: 'PATCH', path: '/v1/admin/tenants/tight', key: 'admin', json: { quotas: { maxVectors: -1 } } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a maxTenantMemory below --max-request-memory', req: () => ({ method: 'PATCH', path: '/v1/admin/tenants/tight', key: 'admin', json: { quotas: { maxTenantMemory: 1024 } } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a new tenant with maxTenantMemory 0', req: () => ({ method: 'POST', path: '/v1/admin/tenants', key: 'admin', json: { name: 'nomem', quotas: { maxTenantMemory: 0 } } }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a maxTenantMemory that is a string', req: () => ({ method: 'PATCH', path: '/v1/admin/tenants/tight', key: 'admin', json: { quotas: { maxTenantMemory: '1GB' } } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a fractional maxTenantMemory', req: () => ({ method: 'PATCH', path: '/v1/admin/tenants/tight', key: 'admin', json: { quotas: { maxTenantMemory: 1e9 + 0.5 } } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a key of role "root"', req: () => ({ method: 'POST', path: '/v1/admin/tenants/tight/keys', key: 'admin', json: { role: 'root' } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a key for an unknown tenant', req: () => ({ method: 'POST', path: '/v1/admin/tenants/nobody/keys', key: 'admin', json: { role: 'read' } }), status: 404, code: 'ERR_TENANT_NOT_FOUND' },
  { name: 'delete an unknown tenant', req: () => ({ method: 'DELETE', path: '/v1/admin/tenants/nobody', key: 'admin' }), status: 404, code: 'ERR_TENANT_NOT_FOUND' },
  { name: 'revoke an unknown key', req: () => ({ method: 'DELETE', path: '/v1/admin/keys/0123456789abcdef', key: 'admin' }), status: 404, code: 'ERR_KEY_NOT_FOUND' },
  // --- collections (issue 18): filters
  { name: 'a filter with an unknown operator (match.regex)', req: () => withFilter({ must: [{ key: 'tag', match: { regex: 'a.*' } }] }), status: 400, code: 'ERR_INVALID_FILTER', check: (r) => assert.match(r.json.error.message, /filter\.must\[0\]/) },
  { name: 'a filter with an unknown clause (should_not)', req: () => withFilter({ should_not: [] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a condition with no operator', req: () => withFilter({ must: [{ key: 'tag' }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a range bound that is a boolean', req: () => withFilter({ must: [{ key: 'n', range: { gt: true } }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a range bound that is not a date', req: () => withFilter({ must: [{ key: 'when', range: { gte: 'yesterday' } }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a match value that is an object', req: () => withFilter({ must: [{ key: 'tag', match: { value: { a: 1 } } }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'match.any that is not an array', req: () => withFilter({ must: [{ key: 'tag', match: { any: 'a' } }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'has_id with numbers', req: () => withFilter({ must: [{ has_id: [1, 2] }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a condition with an empty key', req: () => withFilter({ must: [{ key: '', match: { value: 'a' } }] }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a filter that is a string', req: () => withFilter('tag = a'), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a filter nested 40 deep', req: () => withFilter(nested(40)), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'a filter of 1,001 conditions', req: () => withFilter({ should: Array.from({ length: 1001 }, (_, i) => ({ key: 'n', match: { value: i } })) }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'an invalid filter on count', req: () => ({ method: 'POST', path: CO('coll', 'points/count'), json: { filter: { must: [{ key: 'n', range: { lt: [] } }] } } }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'an invalid filter on scroll', req: () => ({ method: 'POST', path: CO('coll', 'points/scroll'), json: { filter: { must: { key: 'n', near: 3 } } } }), status: 400, code: 'ERR_INVALID_FILTER' },
  { name: 'an invalid filter on delete (nothing deleted)', req: () => ({ method: 'POST', path: CO('coll', 'points/delete'), json: { filter: { must: [{ key: 'tag', match: { value: 'a' } }], must_not: [{ is_null: 'tag' }] } } }), status: 400, code: 'ERR_INVALID_FILTER' },
  // --- collections: points
  { name: 'an empty id', req: () => upsert([cpoint('')]), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'an id of 257 bytes', req: () => upsert([cpoint('x'.repeat(257))]), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'an id of 129 two-byte characters (258 bytes)', req: () => upsert([cpoint('é'.repeat(129))]), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a bad id after good points (none stored)', req: () => upsert([cpoint('half1'), cpoint('half2'), cpoint('')]), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'an id that is a number', req: () => upsert([cpoint(7 as unknown as string)]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a point without a vector', req: () => upsert([{ id: 'half1' }]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a point with an unknown field', req: () => upsert([{ ...cpoint('half1'), score: 1 }]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a payload that is a string', req: () => upsert([cpoint('half1', [0, 0, 0, 0], 'text')]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a payload that is an array', req: () => upsert([cpoint('half1', [0, 0, 0, 0], [1, 2])]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a payload nested 100 deep', req: () => upsert([cpoint('half1'), cpoint('half2', [0, 0, 0, 0], JSON.parse(`${'{"a":'.repeat(100)}1${'}'.repeat(100)}`))]), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a payload over the limit (65,536 bytes)', req: () => upsert([cpoint('half1'), cpoint('half2', [0, 0, 0, 0], { text: 'x'.repeat(70_000) })]), status: 413, code: 'ERR_PAYLOAD_TOO_LARGE' },
  { name: 'an upsert over --body-limit', req: () => upsert(Array.from({ length: 30 }, (_, i) => cpoint(`half${i}`, [0, 0, 0, 0], { text: 'y'.repeat(4000) }))), status: 413, code: 'ERR_BODY_TOO_LARGE' },
  { name: 'an upsert with malformed JSON', req: () => ({ method: 'PUT', path: CO('coll', 'points'), body: '{"points":[{"id":"half1","vector":[0,0', type: 'application/json' }), status: 400, code: 'ERR_MALFORMED_JSON' },
  { name: 'a search with malformed JSON', req: () => jsonText(CO('coll', 'search'), '{"vector":[0,0,0,0],"k":1,'), status: 400, code: 'ERR_MALFORMED_JSON' },
  { name: 'a vector of d + 1 on upsert (none stored)', req: () => upsert([cpoint('half1'), cpoint('half2', [0, 0, 0, 0, 0])]), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a vector of d + 1 on search', req: () => csearch({ vector: [0, 0, 0, 0, 0] }), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a short row in a batch search', req: () => csearch({ vector: undefined, vectors: [[0, 0, 0, 0], [0, 0]] }), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a short row on train', req: () => ({ method: 'POST', path: CO('civf', 'train'), json: { vectors: [[0, 0, 0]] } }), status: 400, code: 'ERR_DIMENSION' },
  { name: 'a vector component 1e999', req: () => ({ method: 'PUT', path: CO('coll', 'points'), body: '{"points":[{"id":"half1","vector":[1e999,0,0,0]}]}', type: 'application/json' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a vector component that is a string', req: () => upsert([cpoint('half1', ['0', 0, 0, 0])]), status: 400, code: 'ERR_VALIDATION' },
  { name: 'an upsert to an untrained IVF collection', req: () => upsert([cpoint('half1')], 'civf'), status: 409, code: 'ERR_NOT_TRAINED' },
  { name: 'search with both vector and vectors', req: () => csearch({ vectors: [[0, 0, 0, 0]] }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'search with neither vector nor vectors', req: () => csearch({ vector: undefined }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a collection search with k = 0', req: () => csearch({ k: 0 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a collection search with nprobe on a flat collection', req: () => csearch({ nprobe: 2 }), status: 422, code: 'ERR_UNSUPPORTED' },
  { name: 'delete with both ids and filter', req: () => ({ method: 'POST', path: CO('coll', 'points/delete'), json: { ids: ['c1'], filter: {} } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'delete with neither ids nor filter', req: () => ({ method: 'POST', path: CO('coll', 'points/delete'), json: {} }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'get with ids that are numbers', req: () => ({ method: 'POST', path: CO('coll', 'points/get'), json: { ids: [1] } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'scroll with limit 10,001', req: () => ({ method: 'POST', path: CO('coll', 'points/scroll'), json: { limit: 10_001 } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a payload index of an unknown type', req: () => ({ method: 'PUT', path: CO('coll', 'payload-indexes/n'), json: { type: 'text' } }), status: 400, code: 'ERR_VALIDATION' },
  // --- collections: lifecycle and aliases
  { name: 'create a collection that exists', req: () => createColl({ name: 'coll' }), status: 409, code: 'ERR_COLLECTION_EXISTS' },
  { name: 'create a collection named "../x"', req: () => createColl({ name: '../x' }), status: 400, code: 'ERR_INVALID_NAME' },
  { name: 'a collection with metric "cosine"', req: () => createColl({ metric: 'cosine' }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a collection of dimension 0', req: () => createColl({ dimension: 0 }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'a collection with factory "NotAnIndex"', req: () => createColl({ factory: 'NotAnIndex' }), status: 400, code: 'ERR_INVALID_ARGUMENT' },
  { name: 'a collection with a payload index of an unknown type', req: () => createColl({ payloadIndexes: { tag: 'text' } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'search an unknown collection', req: () => csearch({}, 'nope'), status: 404, code: 'ERR_COLLECTION_NOT_FOUND' },
  { name: 'upsert to an unknown collection', req: () => upsert([cpoint('half1')], 'nope'), status: 404, code: 'ERR_COLLECTION_NOT_FOUND' },
  { name: 'a duplicate alias', req: () => ({ method: 'POST', path: '/v1/aliases', json: { alias: 'calias', collection: 'civf' } }), status: 409, code: 'ERR_ALIAS_EXISTS' },
  { name: 'an alias named as a collection', req: () => ({ method: 'POST', path: '/v1/aliases', json: { alias: 'civf', collection: 'coll' } }), status: 409, code: 'ERR_ALIAS_EXISTS' },
  { name: 'an alias of a missing collection', req: () => ({ method: 'POST', path: '/v1/aliases', json: { alias: 'dangling', collection: 'nope' } }), status: 404, code: 'ERR_COLLECTION_NOT_FOUND' },
  { name: 'switch an alias that does not exist', req: () => ({ method: 'PUT', path: '/v1/aliases/nope', json: { collection: 'coll' } }), status: 404, code: 'ERR_ALIAS_NOT_FOUND' },
  { name: 'switch an alias to a missing collection', req: () => ({ method: 'PUT', path: '/v1/aliases/calias', json: { collection: 'nope' } }), status: 404, code: 'ERR_COLLECTION_NOT_FOUND' },
  { name: 'delete an alias that does not exist', req: () => ({ method: 'DELETE', path: '/v1/aliases/nope' }), status: 404, code: 'ERR_ALIAS_NOT_FOUND' },
  { name: 'an alias without a collection', req: () => ({ method: 'POST', path: '/v1/aliases', json: { alias: 'dangling' } }), status: 400, code: 'ERR_VALIDATION' },
  { name: 'delete a collection an alias points at', req: () => ({ method: 'DELETE', path: CO('coll') }), status: 400, code: 'ERR_INVALID_ARGUMENT', check: (r) => assert.match(r.json.error.message, /calias/) },
];

/** One request with the path sent byte for byte (no URL normalization). */
function rawRequest(base: string, method: string, path: string, headers: Record<string, string>, body?: Uint8Array | string): Promise<Reply> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: hostname, port, method, path, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const bytes = Buffer.concat(chunks);
        const json = String(res.headers['content-type']).includes('json') ? JSON.parse(bytes.toString('utf8')) : undefined;
        resolve({ status: res.statusCode!, headers: new Headers(res.headers as Record<string, string>), json, bytes });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('service: bad input', function () {
  this.timeout(30_000);
  let s: ServerProcess;
  const keys = {} as Record<KeyName, string>;

  function send(r: Req): Promise<Reply> {
    const method = r.method ?? 'GET';
    const key = keys[r.key ?? 'write'];
    const body = r.json !== undefined ? JSON.stringify(r.json) : r.body;
    const type = r.json !== undefined ? 'application/json' : (r.type ?? 'application/octet-stream');
    const headers: Record<string, string> = { 'X-API-Key': key, ...(body !== undefined && { 'Content-Type': type }) };
    if (!r.raw) return call(s.url, method, r.path, { headers, body });
    if (body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(body));
    return rawRequest(s.url, method, r.path, headers, body);
  }

  /** The state the table must leave exactly as it found it. */
  async function snapshot(): Promise<unknown> {
    const api = client(s.url, keys.write);
    const admin = client(s.url, keys.admin);
    return {
      indexes: (await api.get('/v1/indexes')).json,
      collections: (await api.get('/v1/collections')).json,
      aliases: (await api.get('/v1/aliases')).json,
      points: (await api.post(CO('coll', 'points/scroll'), { withVector: true })).json,
      tight: (await admin.get('/v1/admin/tenants/tight')).json,
      tenants: ((await admin.get('/v1/admin/tenants')).json.tenants as { name: string }[]).map((t) => t.name),
    };
  }
  let before_: unknown;

  before(async () => {
    s = await startServer({ args: ['--body-limit', String(BODY_LIMIT)] });
    keys.admin = s.adminKey;
    keys.write = (await makeTenant(s, 'bad')).write;
    const api = client(s.url, keys.write);
    const admin = client(s.url, keys.admin);
    const make = async (name: string, spec: Record<string, unknown>, add?: Record<string, unknown>) => {
      assert.equal((await api.post('/v1/indexes', { name, dimension: d, ...spec })).status, 201);
      if (add) assert.equal((await api.post(I(name, 'add'), add)).status, 200);
    };
    await make('flat', { type: 'IndexFlatL2' }, { vectors: zeros(10) });
    await make('ivf', { type: 'IndexIVFFlat', params: { nlist: 4 } });
    await make('hnsw', { type: 'IndexHNSWFlat', params: { M: 8 } }, { vectors: zeros(10) });
    await make('idmap', { type: 'IndexFlatL2', params: { idMap: true } }, { vectors: zeros(2), ids: [10, 20] });
    await make('bflat', { type: 'IndexBinaryFlat', dimension: 64 }, { codes: b64(10) });
    await make('bivf', { type: 'IndexBinaryIVF', dimension: 64, params: { nlist: 4 } });
    flatFile = (await api.get(I('flat', 'export'))).bytes;
    assert.equal((await api.post('/v1/collections', { name: 'coll', dimension: d, payloadIndexes: { tag: 'keyword' } })).status, 201);
    assert.equal((await api.put(CO('coll', 'points'), { json: { points: Array.from({ length: 5 }, (_, i) => cpoint(`c${i}`, [i, 0, 0, 0], { tag: i % 2 ? 'a' : 'b', n: i })) } })).status, 200);
    assert.equal((await api.post('/v1/collections', { name: 'civf', dimension: d, factory: 'IVF4,Flat' })).status, 201);
    assert.equal((await api.post('/v1/aliases', { alias: 'calias', collection: 'coll' })).status, 201);
    assert.equal((await admin.post('/v1/admin/tenants', { name: 'tight', quotas: { maxIndexes: 1, maxVectors: 10 } })).status, 201);
    keys.tight = (await admin.post('/v1/admin/tenants/tight/keys', { role: 'write' })).json.key;
    assert.equal((await client(s.url, keys.tight).post('/v1/indexes', { name: 'q1', dimension: d, type: 'IndexFlatL2' })).status, 201);
    before_ = await snapshot();
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it(`has at least 45 cases (${cases.length})`, () => {
    assert.ok(cases.length >= 45);
    assert.equal(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
  });

  for (const c of cases) {
    it(`${c.name}: ${c.status} ${c.code}`, async () => {
      const r = await send(c.req());
      const alive = s.proc.exitCode === null && s.proc.signalCode === null;
      assert.ok(alive, `the server died (${s.proc.signalCode ?? s.proc.exitCode}):\n${s.output().slice(-2000)}`);
      assert.equal(r.status, c.status, `expected ${c.status} ${c.code}, got ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json?.error?.code, c.code, JSON.stringify(r.json));
      assert.equal(typeof r.json.error.message, 'string');
      c.check?.(r);
    });
  }

  it('left no trace: the same indexes, tenants and usage as before the table', async () => {
    assert.deepEqual(await snapshot(), before_);
  });

  it('is still healthy: /healthz, /readyz, a search, and nothing logged as an unexpected error', async () => {
    assert.deepEqual((await call(s.url, 'GET', '/healthz')).json, { status: 'ok' });
    assert.deepEqual((await call(s.url, 'GET', '/readyz')).json, { status: 'ready' });
    const r = await client(s.url, keys.write).post(I('flat', 'search'), { vectors: [[3, 0, 0, 0]], k: 2 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.json.labels, [[3, 2]]);
    assert.doesNotMatch(s.output(), /unexpected error/);
    assert.equal(s.proc.exitCode, null);
  });
});
