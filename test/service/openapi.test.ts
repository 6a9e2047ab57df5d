// The OpenAPI document matches the routes: every route the app serves is
// documented, and every documented route is served.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaults } from '../../service/config';
import { createApp } from '../../service/http/app';
import { openApiPath } from '../../service/http/openapi';
import { Activity } from '../../service/observability/activity';
import { createLogger } from '../../service/observability/logger';
import { Metrics } from '../../service/observability/metrics';
import { openServices } from '../../service/server';
import { call, startServer, type ServerProcess } from '../support/server';

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
}

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

  it('documents every route the app registers', () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-openapi-'));
    const config = { ...defaults(), dataDir };
    const services = openServices(config);
    try {
      const observability = { logger: createLogger('silent'), metrics: new Metrics({ maxTenants: 10, maxIndexSeries: 10 }), activity: new Activity() };
      const app = createApp({ config, ...services, isReady: () => true, version: 'test', observability });
      const layers = (app as unknown as { _router: { stack: Layer[] } })._router.stack;
      const served = layers.filter((l) => l.route).flatMap((l) => Object.keys(l.route!.methods).map((m) => `${m} ${openApiPath(l.route!.path)}`));
      const documented = Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m} ${p}`));
      assert.deepEqual([...served].sort(), [...documented].sort());
    } finally {
      services.catalog.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
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
