// The one request pipeline (service/http/pipeline.ts), by what callers rely on:
// every route reads a body the same way (declared length or chunked, identity,
// gzip or deflate, within --body-limit once decoded, JSON only as UTF-8),
// negotiates its answer's format, survives a client that leaves mid-body, and is
// observed (request id, log line, route metrics) whatever the route.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import type { AddressInfo } from 'node:net';
import { deflateSync, gzipSync } from 'node:zlib';
import { defaults, type Config } from '../../service/config';
import { createApp, type AppDeps } from '../../service/http/app';
import { Activity } from '../../service/observability/activity';
import { createLogger } from '../../service/observability/logger';
import { Metrics } from '../../service/observability/metrics';
import { openServices, type Services } from '../../service/server';

const D = 8;
const BODY_LIMIT = 64 * 1024;

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

/** One request; `chunked` sends the body in pieces with no Content-Length. */
function request(url: string, r: { method?: string; path: string; headers?: Record<string, string>; body?: Buffer | string; chunked?: boolean }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const body = typeof r.body === 'string' ? Buffer.from(r.body) : r.body;
    const headers: Record<string, string> = { ...r.headers };
    if (body && !r.chunked) headers['Content-Length'] = String(body.length);
    const req = http.request(`${url}${r.path}`, { method: r.method ?? 'POST', headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    if (body && r.chunked) {
      const step = Math.max(1, Math.ceil(body.length / 4));
      for (let i = 0; i < body.length; i += step) req.write(body.subarray(i, i + step));
      req.end();
    } else req.end(body);
  });
}

const errorOf = (a: Answer): { status: number; code: string } => ({ status: a.status, code: JSON.parse(a.body.toString()).error?.code });

describe('service: the request pipeline', function () {
  this.timeout(60_000);
  let dataDir: string;
  let services: Services;
  let deps: AppDeps;
  let logLines: string[];
  let server: http.Server;
  let url: string;
  let readKey: string;
  let writeKey: string;

  before(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-pipeline-'));
    const config: Config = { ...defaults(), dataDir, fsync: false, maxBatch: 16, bodyLimit: BODY_LIMIT };
    services = openServices(config);
    await services.indexes.open();
    services.tenants.create('t');
    readKey = services.keys.issue('t', 'read').key;
    writeKey = services.keys.issue('t', 'write').key;
    await services.indexes.create('t', { name: 'flat', dimension: D, type: 'IndexFlatL2' });
    await services.indexes.add('t', 'flat', vectors(100, 1));
    logLines = [];
    const logStream = new PassThrough();
    logStream.on('data', (c: Buffer) => logLines.push(...c.toString('utf8').split('\n').filter(Boolean)));
    const observability = { logger: createLogger('info', logStream), metrics: new Metrics({ maxTenants: 10, maxIndexSeries: 10 }), activity: new Activity() };
    observability.metrics.attach(services.indexes);
    deps = { config, ...services, isReady: () => true, version: 'test', observability };
    server = http.createServer(createApp(deps));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server?.close();
    await services?.indexes.close();
    services?.catalog.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const q = vectors(1, 9);
  const searchJson = JSON.stringify({ vectors: [Array.from(q)], k: 3 });
  const json = (key: string, extra: Record<string, string> = {}) => ({ 'X-API-Key': key, 'Content-Type': 'application/json', ...extra });

  it('reads a body declared, chunked, gzip or deflate, on searches and on mutations alike', async () => {
    const expected = await request(url, { path: '/v1/indexes/flat/search', headers: json(readKey), body: searchJson });
    assert.equal(expected.status, 200, expected.body.toString());
    const variants = [
      { headers: json(readKey), body: searchJson, chunked: true },
      { headers: json(readKey, { 'Content-Encoding': 'gzip' }), body: gzipSync(searchJson) },
      { headers: json(readKey, { 'Content-Encoding': 'deflate' }), body: deflateSync(searchJson), chunked: true },
      { headers: json(readKey, { 'Content-Type': 'application/json; charset=UTF-8' }), body: searchJson },
    ];
    for (const v of variants) {
      const a = await request(url, { path: '/v1/indexes/flat/search', ...v });
      assert.equal(a.status, 200, `${JSON.stringify(v.headers)}: ${a.body.toString()}`);
      assert.deepEqual(JSON.parse(a.body.toString()), JSON.parse(expected.body.toString()));
    }
    const binary = await request(url, {
      path: '/v1/indexes/flat/search?k=3',
      headers: { 'X-API-Key': readKey, 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream', 'Content-Encoding': 'gzip' },
      body: gzipSync(bytes(q)),
      chunked: true,
    });
    assert.equal(binary.status, 200, binary.body.toString());
    assert.equal(binary.body.length, 3 * 12);
    const add = await request(url, {
      path: '/v1/indexes/flat/add',
      headers: { 'X-API-Key': writeKey, 'Content-Type': 'application/octet-stream', 'Content-Encoding': 'deflate' },
      body: deflateSync(bytes(vectors(2, 4))),
      chunked: true,
    });
    assert.equal(add.status, 200, add.body.toString());
    assert.equal(JSON.parse(add.body.toString()).added, 2);
  });

  it('refuses what it does not read, with the same error on every route', async () => {
    const bomb = gzipSync(Buffer.alloc(BODY_LIMIT * 4)); // small compressed, over the limit once inflated
    const cases = [
      { path: '/v1/indexes/flat/search', headers: json(readKey), body: Buffer.alloc(BODY_LIMIT + 1, 0x20), chunked: true, expected: { status: 413, code: 'ERR_BODY_TOO_LARGE' } },
      { path: '/v1/indexes/flat/add', headers: json(writeKey, { 'Content-Encoding': 'gzip' }), body: bomb, expected: { status: 413, code: 'ERR_BODY_TOO_LARGE' } },
      // Over the limit as sent, though it decodes to nothing: empty gzip members, one after another.
      { path: '/v1/indexes/flat/search', headers: json(readKey, { 'Content-Encoding': 'gzip' }), body: Buffer.concat(Array.from({ length: 4000 }, () => gzipSync(Buffer.alloc(0)))), chunked: true, expected: { status: 413, code: 'ERR_BODY_TOO_LARGE' } },
      { path: '/v1/indexes/flat/search', headers: json(readKey, { 'Content-Encoding': 'br' }), body: searchJson, expected: { status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' } },
      { path: '/v1/indexes/flat/add', headers: json(writeKey, { 'Content-Type': 'application/json; charset=latin1' }), body: searchJson, expected: { status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' } },
      { path: '/v1/indexes/flat/search', headers: json(readKey, { 'Content-Encoding': 'gzip' }), body: 'not gzip at all', expected: { status: 400, code: 'ERR_BAD_REQUEST' } },
      { path: '/v1/indexes/flat/search', headers: json(readKey), body: '"a string"', expected: { status: 400, code: 'ERR_MALFORMED_JSON' } },
      { path: '/v1/admin/tenants', headers: json(writeKey), body: '{"name":', expected: { status: 403, code: 'ERR_FORBIDDEN' } }, // the key's role before its body
      { path: '/v1/indexes/flat/search', headers: json(readKey, { 'Content-Type': 'text/plain' }), body: searchJson, expected: { status: 415, code: 'ERR_UNSUPPORTED_MEDIA_TYPE' } },
      { path: '/v1/indexes/flat/search', headers: json(readKey, { Accept: 'text/html' }), body: searchJson, expected: { status: 406, code: 'ERR_NOT_ACCEPTABLE' } },
    ];
    for (const c of cases) {
      const a = await request(url, c);
      assert.deepEqual(errorOf(a), c.expected, `${c.path} ${JSON.stringify(c.headers)}: ${a.body.toString().slice(0, 200)}`);
    }
  });

  it('negotiates the answer: a binary answer for an Accept that prefers it', async () => {
    const a = await request(url, {
      path: '/v1/indexes/flat/search?k=2',
      headers: { 'X-API-Key': readKey, 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream, */*;q=0.1' },
      body: bytes(q),
    });
    assert.equal(a.status, 200);
    assert.equal(a.headers['content-type'], 'application/octet-stream');
    assert.equal(a.body.length, 2 * 12);
  });

  it('survives a client that leaves in the middle of its body', async () => {
    const port = Number(new URL(url).port);
    for (const [route, type] of [['/v1/indexes/flat/search?k=1', 'application/octet-stream'], ['/v1/indexes/flat/add', 'application/json']]) {
      await new Promise<void>((resolve, reject) => {
        const socket = net.connect(port, '127.0.0.1', () => {
          socket.write(`POST ${route} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${writeKey}\r\nContent-Type: ${type}\r\nContent-Length: ${4 * D}\r\n\r\n`);
          socket.write(Buffer.alloc(5));
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 50);
        });
        socket.on('error', reject);
      });
    }
    await new Promise((r) => setTimeout(r, 50));
    const a = await request(url, { path: '/v1/indexes/flat/search', headers: json(readKey), body: searchJson });
    assert.equal(a.status, 200);
  });

  it('observes every request: its id, a log line with the route pattern and tenant, the route metrics', async () => {
    logLines.length = 0;
    const ok = await request(url, { path: '/v1/indexes/flat/search', headers: json(readKey, { 'X-Request-Id': 'pipeline-1' }), body: searchJson });
    assert.equal(ok.headers['x-request-id'], 'pipeline-1');
    const bad = await request(url, { path: '/v1/indexes/nope/search', headers: json(readKey, { 'X-Request-Id': 'pipeline-2' }), body: searchJson });
    assert.equal(bad.status, 404);
    const fresh = await request(url, { method: 'GET', path: '/v1/indexes' , headers: { 'X-API-Key': readKey } });
    assert.match(String(fresh.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    await new Promise((r) => setImmediate(r));
    const lines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>);
    const first = lines.find((l) => l.requestId === 'pipeline-1');
    assert.ok(first, logLines.join('\n'));
    assert.equal(first.route, '/v1/indexes/:name/search');
    assert.equal(first.status, 200);
    assert.equal(first.tenant, 't');
    assert.equal(lines.find((l) => l.requestId === 'pipeline-2')?.code, 'ERR_INDEX_NOT_FOUND');
    const text = await deps.observability.metrics.registry.metrics();
    assert.match(text, /faiss_proxy_http_requests_total\{route="\/v1\/indexes\/:name\/search",method="POST",status="200",tenant="t"\} [1-9]/);
    assert.match(text, /faiss_proxy_http_requests_total\{route="\/v1\/indexes",method="GET",status="200",tenant="t"\} [1-9]/);
    assert.ok(deps.observability.activity.snapshot().errors.some((e) => e.requestId === 'pipeline-2' && e.code === 'ERR_INDEX_NOT_FOUND'));
  });
});
