// The OpenAPI document matches the routes: every method the app serves on a
// documented path is documented, and every documented route is served.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { call, startServer, type ServerProcess } from '../support/server';

describe('service: OpenAPI document', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let doc: { openapi: string; paths: Record<string, Record<string, unknown>> };

  before(async () => {
    s = await startServer();
    doc = (await call(s.url, 'GET', '/v1/openapi.json')).json;
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('is OpenAPI 3', () => {
    assert.match(doc.openapi, /^3\./);
    assert.ok(Object.keys(doc.paths).length >= 18);
  });

  it('documents binary indexes: their types on create, codes in the bodies that take rows', () => {
    const body = (p: string, m: string) =>
      ((doc.paths[p][m] as { requestBody: { content: Record<string, { schema: { properties: Record<string, { enum?: string[] }> } }> } }).requestBody.content['application/json'].schema);
    assert.ok(body('/v1/indexes', 'post').properties.type.enum!.includes('IndexBinaryIVF'));
    for (const op of ['train', 'add', 'search', 'range_search']) assert.ok(body(`/v1/indexes/{name}/${op}`, 'post').properties.codes, op);
  });

  it('documents the collection and alias routes (issue 18): each method, its role, and the bodies they take', () => {
    const expected: Record<string, Record<string, string>> = {
      '/v1/collections': { post: 'write', get: 'read' },
      '/v1/collections/{name}': { get: 'read', delete: 'write' },
      '/v1/collections/{name}/train': { post: 'write' },
      '/v1/collections/{name}/points': { put: 'write' },
      '/v1/collections/{name}/points/get': { post: 'read' },
      '/v1/collections/{name}/points/delete': { post: 'write' },
      '/v1/collections/{name}/points/scroll': { post: 'read' },
      '/v1/collections/{name}/points/count': { post: 'read' },
      '/v1/collections/{name}/search': { post: 'read' },
      '/v1/collections/{name}/payload-indexes/{field}': { put: 'write', delete: 'write' },
      '/v1/aliases': { get: 'read', post: 'write' },
      '/v1/aliases/{alias}': { put: 'write', delete: 'write' },
    };
    for (const [p, methods] of Object.entries(expected)) {
      assert.deepEqual(Object.keys(doc.paths[p] ?? {}).sort(), Object.keys(methods).sort(), p);
      for (const [m, role] of Object.entries(methods)) assert.equal((doc.paths[p][m] as { 'x-required-role': string })['x-required-role'], role, `${m} ${p}`);
    }
    type Body = { requestBody: { content: Record<string, { schema: { required?: string[]; properties: Record<string, { items?: { properties: Record<string, unknown> } }> } }> } };
    const schema = (p: string, m: string) => (doc.paths[p][m] as Body).requestBody.content['application/json'].schema;
    assert.deepEqual(Object.keys(schema('/v1/collections/{name}/points', 'put').properties.points.items!.properties).sort(), ['id', 'payload', 'vector']);
    assert.ok(schema('/v1/collections/{name}/search', 'post').properties.filter);
    assert.deepEqual(schema('/v1/aliases', 'post').required, ['alias', 'collection']);
  });

  it('documents every method served on each path: any other is a 405 whose Allow lists the documented ones', async () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      const documented = Object.keys(ops).map((m) => m.toUpperCase());
      const route = p.replace(/\{[^}]+\}/g, 'probe');
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'].filter((m) => !documented.includes(m))) {
        const r = await call(s.url, method, route, { key: s.adminKey });
        assert.equal(r.status, 405, `${method} ${p}`);
        assert.deepEqual(r.headers.get('allow')?.split(', ').sort(), [...documented].sort(), `${method} ${p}`);
      }
    }
  });

  it('every documented route exists on the running server (no 404 route-not-found, no 405)', async () => {
    for (const [p, ops] of Object.entries(doc.paths)) {
      for (const method of Object.keys(ops)) {
        const route = p.replace(/\{[^}]+\}/g, 'probe');
        const r = await call(s.url, method.toUpperCase(), route, { key: s.adminKey });
        assert.notEqual(r.json?.error?.code, 'ERR_ROUTE_NOT_FOUND', `${method} ${p}`);
        assert.notEqual(r.status, 405, `${method} ${p}`);
        assert.ok(r.status < 500, `${method} ${p} -> ${r.status}`);
      }
    }
  });
});
