// The OpenAPI 3 document, generated from the same RouteSpecs the app registers.
import { sequencedKind, type RouteSpec } from './route';

const openApiPath = (expressPath: string): string => expressPath.replace(/:([A-Za-z]+)/g, '{$1}');

export function openApiDocument(routes: RouteSpec[], version: string): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const params = [...r.path.matchAll(/:([A-Za-z]+)/g)].map((m) => ({ name: m[1], in: 'path', required: true, schema: { type: 'string' } }));
    const query = Object.entries(r.query ?? {}).map(([name, type]) => ({
      name,
      in: 'query',
      required: false,
      description: 'binary requests only',
      schema: { type: type === 'int' ? 'integer' : type === 'number' ? 'number' : 'boolean' },
    }));
    if (sequencedKind(r)) {
      query.push({
        name: 'minSequence',
        in: 'query',
        required: false,
        description: "read-your-writes in a cluster: wait (bounded) until this node has applied the index's or collection's log this far (a write's X-Index-Version), else 503; also X-Min-Sequence, or a JSON body's minSequence",
        schema: { type: 'integer' },
      });
    }
    const content: Record<string, unknown> = {};
    if (r.body?.json) content['application/json'] = { schema: r.body.json };
    if (r.body?.binary) content['application/octet-stream'] = { schema: { type: 'string', format: 'binary', description: r.body.binary } };
    const responses: Record<string, unknown> = {};
    for (const [status, description] of Object.entries(r.responses)) {
      const body: Record<string, unknown> = { 'application/json': { schema: { type: 'object' } } };
      if (r.binaryResponse && status.startsWith('2')) body['application/octet-stream'] = { schema: { type: 'string', format: 'binary', description: r.binaryResponse } };
      responses[status] = { description, ...(status === '204' ? {} : { content: body }) };
    }
    responses.default = { description: 'Error: { error: { code, message } }', content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
    paths[openApiPath(r.path)] ??= {};
    paths[openApiPath(r.path)][r.method] = {
      summary: r.summary,
      ...(r.role ? { security: [{ apiKey: [] }], 'x-required-role': r.role } : {}),
      ...(params.length + query.length ? { parameters: [...params, ...query] } : {}),
      ...(Object.keys(content).length ? { requestBody: { required: true, content } } : {}),
      responses,
    };
  }
  return {
    openapi: '3.0.3',
    info: { title: 'faiss-proxy', version, description: 'FAISS over HTTP, per tenant. See docs/http-api.md for the wire formats.' },
    components: {
      securitySchemes: { apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: { error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
    paths,
  };
}
