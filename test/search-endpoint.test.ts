// The lean search endpoint (service/http/search-endpoint.ts) against the Express
// route it stands in for, in this process over the same services: every answer,
// good or bad, is the same; what it does not handle it leaves untouched for the
// app; and it is observed (log line, metrics, recent errors) like the app.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { defaults, type Config } from '../service/config';
import { allRoutes, createApp, createRequestListener, type AppDeps } from '../service/http/app';
import { createSearchEndpoint } from '../service/http/search-endpoint';
import { Activity } from '../service/observability/activity';
import { createLogger } from '../service/observability/logger';
import { Metrics } from '../service/observability/metrics';
import { openServices, type Services } from '../service/server';

const D = 8;
const DECLINED = 599;

function vectors(n: number, seed: number): Float32Array {
  const x = new Float32Array(n * D);
  for (let i = 0; i < x.length; i++) x[i] = Math.sin(seed * 7919 + i * 0.37);
  return x;
}
const bytes = (x: Float32Array): Buffer => Buffer.from(x.buffer, x.byteOffset, x.byteLength);

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

interface Req {
  method?: string;
  path: string;
  headers?: Record<string, string>;
  body?: Buffer | string;
}

function request(url: string, r: Req): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    const headers: Record<string, string> = { ...r.headers };
    if (body && !Object.keys(headers).some((h) => h.toLowerCase() === 'transfer-encoding')) headers['Content-Length'] = String(body.length);
    const req = http.request(`${url}${r.path}`, { method: r.method ?? 'POST', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

function listen(handler: http.RequestListener): Promise<{ url: string; server: http.Server }> {
  const server = http.createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server })));
}

describe('service: lean search endpoint', function () {
  this.timeout(60_000);
  let dataDir: string;
  let services: Services;
  let deps: AppDeps;
  let logLines: string[];
  let lean: { url: string; server: http.Server };
  let express: { url: string; server: http.Server };
  let readKey: string;
  let otherKey: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-endpoint-'));
    const config: Config = { ...defaults(), dataDir, fsync: false, maxBatch: 16, bodyLimit: 64 * 1024 };
    services = openServices(config);
    await services.indexes.open();
    services.tenants.create('t');
    services.tenants.create('u');
    readKey = services.keys.issue('t', 'read').key;
    otherKey = services.keys.issue('u', 'admin').key;
    await services.indexes.create('t', { name: 'flat', dimension: D, type: 'IndexFlatL2' });
    await services.indexes.create('t', { name: 'hnsw', dimension: D, type: 'IndexHNSWFlat', params: { M: 16 } });
    await services.indexes.add('t', 'flat', vectors(500, 1));
    await services.indexes.add('t', 'hnsw', vectors(500, 1));
    logLines = [];
    const logStream = new PassThrough();
    logStream.on('data', (c: Buffer) => logLines.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const observability = { logger: createLogger('info', logStream), metrics: new Metrics({ maxTenants: 10, maxIndexSeries: 10 }), activity: new Activity() };
    observability.metrics.attach(services.indexes);
    deps = { config, ...services, isReady: () => true, version: 'test', observability };
    // Two servers: the endpoint alone (what it declines is answered 599, so tests can tell), and the Express app alone.
    const schema = allRoutes(deps).find((r) => r.path === '/v1/indexes/:name/search' && r.method === 'post')!.body!.json!;
    const endpoint = createSearchEndpoint({ indexes: services.indexes, keys: services.keys, tenants: services.tenants, memory: services.memory, config, observability, jsonSchema: schema });
    lean = await listen((req, res) => {
      if (!endpoint(req, res)) {
        res.writeHead(DECLINED);
        res.end();
      }
    });
    express = await listen(createApp(deps));
  });

  after(async () => {
    lean?.server.close();
    express?.server.close();
    await services?.indexes.close();
    services?.catalog.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const both = async (r: Req): Promise<[Answer, Answer]> => [await request(lean.url, r), await request(express.url, r)];
  const binary = (name: string, x: Float32Array, query = 'k=5', extra: Record<string, string> = {}): Req => ({
    path: `/v1/indexes/${name}/search?${query}`,
    headers: { 'X-API-Key': readKey, 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream', ...extra },
    body: bytes(x),
  });
  const json = (name: string, body: unknown, extra: Record<string, string> = {}, query = ''): Req => ({
    path: `/v1/indexes/${name}/search${query}`,
    headers: { 'X-API-Key': readKey, 'Content-Type': 'application/json', ...extra },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });

  it('answers plain searches exactly as the Express route does, in both formats', async () => {
    const q = vectors(3, 9);
    const cases: Req[] = [
      binary('flat', q),
      binary('hnsw', q, 'k=7&efSearch=32'),
      binary('hnsw', q.subarray(0, D), 'k=600'), // more than ntotal: labels -1
      json('flat', { vectors: [Array.from(q.subarray(0, D))], k: 4 }),
      json('hnsw', { vectors: [Array.from(q.subarray(0, D)), Array.from(q.subarray(D, 2 * D))], k: 3, efSearch: 20 }, { Accept: 'application/json' }),
      json('flat', { vectors: [Array.from(q.subarray(0, D))], k: 2 }, { 'Content-Type': 'application/json; charset=utf-8', Accept: '*/*' }),
    ];
    for (const c of cases) {
      const [a, b] = await both(c);
      assert.equal(a.status, 200, `${c.path}: ${a.body.toString()}`);
      assert.equal(a.status, b.status);
      assert.deepEqual(a.body, b.body, c.path);
      for (const h of ['content-type', 'content-length', 'x-index-version', 'x-faiss-nq', 'x-faiss-k']) assert.equal(a.headers[h], b.headers[h], `${c.path} ${h}`);
      assert.match(String(a.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    }
    const [a] = await both(binary('flat', q, 'k=1', { 'X-Request-Id': 'trace-42' }));
    assert.equal(a.headers['x-request-id'], 'trace-42');
  });

  it('answers bad searches with the same status, code and message as the Express route', async () => {
    const q = vectors(1, 3);
    const row = Array.from(q);
    const cases: Req[] = [
      { ...binary('flat', q), headers: { 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream' } },
      binary('flat', q, 'k=5', { 'X-API-Key': 'fp_0123456789abcdef_' + 'x'.repeat(43) }),
      binary('flat', q, 'k=5', { 'X-API-Key': otherKey }), // another tenant's key: no such index
      binary('missing', q),
      binary('flat', vectors(1, 3).subarray(0, D - 1)),
      binary('flat', q, ''),
      binary('flat', q, 'k=0'),
      binary('flat', q, 'k=abc'),
      binary('flat', q, 'k=999999999'),
      binary('flat', q, 'k=5&efSearch=0'),
      binary('flat', q, 'k=5&radius=1'),
      binary('flat', vectors(17, 3)),
      json('flat', { vectors: [row], k: 5, extra: 1 }),
      json('flat', { vectors: [row] }),
      json('flat', { vectors: [row.slice(1)], k: 5 }),
      json('flat', { vectors: [], k: 5 }),
      json('flat', { vectors: [row], k: 5 }, {}, '?k=5'),
      json('flat', '{"vectors": [[1,2'),
      json('flat', '"just a string"'),
      json('missing', { vectors: [row], k: 5 }),
    ];
    for (const c of cases) {
      const [a, b] = await both(c);
      const label = `${c.path} ${JSON.stringify(c.headers)} ${typeof c.body === 'string' ? c.body.slice(0, 40) : `${c.body?.length} bytes`}`;
      assert.ok(a.status >= 400 && a.status < 500, `${label}: ${a.status} ${a.body.subarray(0, 200).toString()}`);
      assert.equal(a.status, b.status, label);
      const ea = JSON.parse(a.body.toString()).error;
      const eb = JSON.parse(b.body.toString()).error;
      assert.equal(ea.code, eb.code, label);
      // JSON syntax errors are worded by whichever parser read the body.
      if (ea.code !== 'ERR_MALFORMED_JSON') assert.equal(ea.message, eb.message, label);
      assert.equal(a.headers['content-type'], b.headers['content-type'], label);
    }
  });

  it('leaves every request it does not handle untouched for the app', async () => {
    const q = vectors(1, 5);
    const row = Array.from(q);
    const declined: Req[] = [
      { ...binary('flat', q), method: 'PUT' },
      { ...binary('flat', q), path: '/v1/indexes/flat/search/?k=5' },
      { ...binary('flat', q), path: '/v1/indexes/fl%61t/search?k=5' },
      { ...binary('flat', q), path: '/V1/indexes/flat/search?k=5' },
      binary('flat', q, 'k=5&k=6'),
      binary('flat', q, 'k[]=5'),
      binary('flat', q, 'k=%35'),
      binary('flat', q, 'k=5', { 'Content-Type': 'text/plain' }),
      binary('flat', q, 'k=5', { Accept: 'application/octet-stream, */*;q=0.1' }),
      binary('flat', q, 'k=5', { Accept: 'text/html' }),
      binary('flat', q, 'k=5', { 'Content-Encoding': 'gzip' }),
      { ...binary('flat', q), headers: { 'X-API-Key': readKey, 'Content-Type': 'application/octet-stream', 'Transfer-Encoding': 'chunked' } },
      { ...binary('flat', q), body: Buffer.alloc(0) },
      { ...binary('flat', q), body: Buffer.alloc(64 * 1024 + 4) },
      json('flat', { vectors: [row], k: 1 }, { 'Content-Type': 'application/json; charset=latin1' }),
      { ...json('flat', { vectors: [row], k: 1 }, { 'Content-Encoding': 'gzip' }), body: gzipSync(JSON.stringify({ vectors: [row], k: 1 })) },
    ];
    for (const c of declined) {
      const a = await request(lean.url, c);
      assert.equal(a.status, DECLINED, `${c.method ?? 'POST'} ${c.path} ${JSON.stringify(c.headers)}: ${a.status} ${a.body.toString().slice(0, 200)}`);
    }
    // And the full listener gives them to the app, which answers them (a gzipped JSON search is a search).
    const app = await listen(createRequestListener(deps));
    try {
      const gz = declined[declined.length - 1];
      const a = await request(app.url, gz);
      assert.equal(a.status, 200, a.body.toString());
      assert.equal(JSON.parse(a.body.toString()).labels[0].length, 1);
    } finally {
      app.server.close();
    }
  });

  it('is observed like the app: a log line, the route metrics and the recent errors', async () => {
    logLines.length = 0;
    const ok = await request(lean.url, binary('hnsw', vectors(1, 2), 'k=3', { 'X-Request-Id': 'observed-1' }));
    assert.equal(ok.status, 200);
    const bad = await request(lean.url, binary('nope', vectors(1, 2), 'k=3', { 'X-Request-Id': 'observed-2' }));
    assert.equal(bad.status, 404);
    await new Promise((r) => setImmediate(r));
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const first = lines.find((l) => l.requestId === 'observed-1');
    assert.ok(first, logLines.join('\n'));
    assert.equal(first.route, '/v1/indexes/:name/search');
    assert.equal(first.status, 200);
    assert.equal(first.tenant, 't');
    const second = lines.find((l) => l.requestId === 'observed-2');
    assert.equal(second?.code, 'ERR_INDEX_NOT_FOUND');
    const text = await deps.observability.metrics.registry.metrics();
    assert.match(text, /faiss_proxy_http_requests_total\{route="\/v1\/indexes\/:name\/search",method="POST",status="200",tenant="t"\} [1-9]/);
    assert.match(text, /faiss_proxy_http_requests_total\{route="\/v1\/indexes\/:name\/search",method="POST",status="404",tenant="t"\} [1-9]/);
    const recent = deps.observability.activity.snapshot().errors;
    assert.ok(recent.some((e) => e.requestId === 'observed-2' && e.code === 'ERR_INDEX_NOT_FOUND'));
  });

  it('survives a client that leaves in the middle of its body', async () => {
    const port = Number(new URL(lean.url).port);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => {
        socket.write(`POST /v1/indexes/flat/search?k=1 HTTP/1.1\r\nHost: x\r\nX-API-Key: ${readKey}\r\nContent-Type: application/octet-stream\r\nContent-Length: ${4 * D}\r\n\r\n`);
        socket.write(Buffer.alloc(5));
        setTimeout(() => {
          socket.destroy();
          resolve();
        }, 50);
      });
      socket.on('error', reject);
    });
    await new Promise((r) => setTimeout(r, 50));
    const a = await request(lean.url, binary('flat', vectors(1, 1), 'k=1'));
    assert.equal(a.status, 200);
  });
});
