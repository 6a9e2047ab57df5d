// Metrics (Prometheus text at /metrics, protected, bounded labels) and structured
// logs (request ids, never an API key) from a real server process.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { randomVectors } from '../support/data';
import { call, client, makeTenant, startServer, type ServerProcess } from '../support/server';

const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);
const TOKEN = 'scrape-token-for-tests-0123456789';

/** The log line of a request, waited for (up to 2 s) rather than assumed written after a fixed sleep. */
async function logLine(s: ServerProcess, requestId: string): Promise<Record<string, unknown> | undefined> {
  for (const deadline = Date.now() + 2_000; ; await new Promise((r) => setTimeout(r, 20))) {
    // Complete lines only: the last piece may still be on its way.
    const lines = s.output().split('\n').slice(0, -1).filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.requestId === requestId);
    if (line || Date.now() > deadline) return line;
  }
}

describe('service: metrics and logs', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let writeKey: string;

  before(async () => {
    s = await startServer({ args: ['--metrics-token', TOKEN, '--metrics-max-tenants', '3'] });
    writeKey = (await makeTenant(s, 'shop')).write;
    const api = client(s.url, writeKey);
    await api.post('/v1/indexes', { name: 'products', dimension: 8, type: 'IndexFlatL2' });
    await api.post('/v1/indexes/products/add', undefined, { body: bytes(randomVectors(100, 8, 1)) });
    for (let i = 0; i < 5; i++) await api.post('/v1/indexes/products/search?k=3', undefined, { body: bytes(randomVectors(1, 8, i)) });
    await api.get('/v1/indexes/no-such-index-8812'); // a 404 whose name must not become a label
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('/metrics is not public: no credentials or a tenant key get 401', async () => {
    assert.equal((await call(s.url, 'GET', '/metrics')).status, 401);
    assert.equal((await call(s.url, 'GET', '/metrics', { key: writeKey })).status, 401);
    assert.equal((await call(s.url, 'GET', '/metrics', { headers: { Authorization: 'Bearer wrong' } })).status, 401);
  });

  it('/metrics answers the operator key and the metrics token, in Prometheus text format', async () => {
    const byKey = await call(s.url, 'GET', '/metrics', { key: s.adminKey });
    assert.equal(byKey.status, 200);
    const byToken = await call(s.url, 'GET', '/metrics', { headers: { Authorization: `Bearer ${TOKEN}` } });
    assert.equal(byToken.status, 200);
    assert.match(byToken.headers.get('content-type') ?? '', /text\/plain/);
    const text = byToken.bytes.toString('utf8');
    for (const expected of [
      /faiss_proxy_http_requests_total\{route="\/v1\/indexes\/:name\/search",method="POST",status="200",tenant="shop"\} 5/,
      /faiss_proxy_http_request_duration_seconds_bucket\{le="[^"]+",route="\/v1\/indexes\/:name\/search",method="POST"\}/,
      /faiss_proxy_faiss_operation_duration_seconds_count\{operation="search",index_type="IndexFlatL2"\} 5/,
      /faiss_proxy_faiss_operation_duration_seconds_count\{operation="add",index_type="IndexFlatL2"\} 1/,
      /faiss_proxy_index_vectors\{tenant="shop",index="products"\} 100/,
      /faiss_proxy_index_bytes\{tenant="shop",index="products"\} \d+/,
      /faiss_proxy_index_loaded\{tenant="shop",index="products"\} 1/,
      /faiss_proxy_log_flush_duration_seconds_count \d+/,
      /faiss_proxy_cache_hits_total \d+/,
      /faiss_proxy_cache_misses_total \d+/,
      /faiss_proxy_threadpool_wait_seconds_total [\d.e-]+/,
      // Five one-query searches of a flat index, each answered by the flat scan kernel.
      /faiss_proxy_kernel_searches_total\{kernel="flatScan"\} 5\n/,
      /faiss_proxy_kernel_searches_total\{kernel="hnswSearch"\} 0\n/,
      /faiss_proxy_kernel_fallbacks_total\{kernel="flatBatch",reason="probeFailed"\} 0\n/,
      // The HNSW construction counts adds (none here: a flat index).
      /faiss_proxy_kernel_adds_total\{kernel="hnswBuild"\} 0\n/,
      /faiss_proxy_kernel_fallbacks_total\{kernel="hnswBuild",reason="metric"\} 0\n/,
      /nodejs_eventloop_lag_seconds/,
      /process_resident_memory_bytes/,
    ]) {
      assert.match(text, expected);
    }
    assert.doesNotMatch(text, /no-such-index-8812/, 'raw names never become labels');
    assert.match(text, /route="unmatched"|route="\/v1\/indexes\/:name"/);
  });

  // Every search goes to a search thread, the cheap ones too: the service never runs
  // one on the event loop (the library's inline search is off in it).
  it('runs every search on the search threads, or on the libuv pool with --search-threads 0, and counts them', async () => {
    const laneJobs = async (server: { url: string; adminKey: string }): Promise<number> => {
      const text = (await call(server.url, 'GET', '/metrics', { key: server.adminKey })).bytes.toString('utf8');
      return Number(/faiss_proxy_search_lane_jobs_total (\d+)\n/.exec(text)?.[1]);
    };
    for (const [args, expected] of [[[], 6], [['--search-threads', '0'], 0]] as const) {
      const server = await startServer({ args: [...args] });
      try {
        const api = client(server.url, (await makeTenant(server, 'shop')).write);
        assert.equal((await api.post('/v1/indexes', { name: 'small', dimension: 8, type: 'IndexHNSWFlat', params: { M: 16 } })).status, 201);
        await api.post('/v1/indexes/small/add', undefined, { body: bytes(randomVectors(200, 8, 2)) });
        const before = await laneJobs(server);
        for (let i = 0; i < 6; i++) {
          const r = await api.post('/v1/indexes/small/search?k=3', undefined, { body: bytes(randomVectors(1, 8, 10 + i)) });
          assert.equal(r.status, 200);
        }
        assert.equal((await laneJobs(server)) - before, expected, `args ${args.join(' ')}`);
      } finally {
        await server.stop();
        fs.rmSync(server.dataDir, { recursive: true, force: true });
      }
    }
  });

  it('caps the tenant label: beyond --metrics-max-tenants, tenants count as "other"', async () => {
    for (const t of ['t1', 't2', 't3', 't4']) {
      const key = (await makeTenant(s, t)).read;
      await call(s.url, 'GET', '/v1/indexes', { key });
    }
    const text = (await call(s.url, 'GET', '/metrics', { key: s.adminKey })).bytes.toString('utf8');
    assert.match(text, /tenant="other"/);
    assert.doesNotMatch(text, /tenant="t4"/);
  });

  it('logs one JSON line per request with its request id, and returns the id', async () => {
    const given = await call(s.url, 'GET', '/v1/indexes', { key: writeKey, headers: { 'X-Request-Id': 'trace-abc-123' } });
    assert.equal(given.headers.get('x-request-id'), 'trace-abc-123');
    const made = await call(s.url, 'GET', '/v1/indexes', { key: writeKey });
    assert.match(made.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
    const line = await logLine(s, 'trace-abc-123');
    assert.ok(line, 'the request was logged under the id the client gave');
    assert.equal(line.tenant, 'shop');
    assert.equal(line.route, '/v1/indexes');
    assert.equal(line.status, 200);
    assert.equal(typeof line.durationMs, 'number');
  });

  it('never logs an API key or vector data', async () => {
    const searched = await call(s.url, 'POST', '/v1/indexes/products/search', { key: writeKey, json: { vectors: [[0.123456789, 1, 2, 3, 4, 5, 6, 7]], k: 1 } });
    assert.equal(searched.status, 200);
    // The search's own line is out, so everything it could have leaked would be too.
    assert.ok(await logLine(s, searched.headers.get('x-request-id')!), 'the search was logged');
    const out = s.output();
    assert.ok(!out.includes(writeKey), 'the key used in requests is absent from the logs');
    assert.ok(!out.includes(writeKey.slice(20)), 'nor its secret part');
    assert.ok(!out.includes('0.123456789'), 'nor the vectors');
  });
});
