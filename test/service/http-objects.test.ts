// The request and response objects the service's node:http server makes
// (service/http/app.ts expressObjects): born with the Express app's prototypes, so
// Express need not swap them per request, and laid out by V8 as node's own
// classes are: with fast (not dictionary-mode) properties, before and after the
// headers of an answer are set, which every access on every request relies on.
import { strict as assert } from 'node:assert';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as v8 from 'node:v8';
import express from 'express';
import { expressObjects } from '../../service/http/app';

v8.setFlagsFromString('--allow-natives-syntax');
const hasFastProperties = new Function('o', 'return %HasFastProperties(o)') as (o: object) => boolean;

describe('service: the request and response objects of its HTTP server', () => {
  it('have the app prototypes and fast properties, as node:http own objects have', async () => {
    const app = express();
    const seen: Record<string, boolean>[] = [];
    app.use((req, res) => {
      const before = { req: hasFastProperties(req), res: hasFastProperties(res) };
      res.setHeader('X-Request-Id', 'r');
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': '2', 'X-Faiss-Nq': '1', 'X-Faiss-K': '1' });
      seen.push({
        requestPrototype: Object.getPrototypeOf(req) === app.request,
        responsePrototype: Object.getPrototypeOf(res) === app.response,
        requestIsIncomingMessage: req instanceof http.IncomingMessage,
        responseIsServerResponse: res instanceof http.ServerResponse,
        requestFast: before.req,
        responseFast: before.res,
        responseFastAfterHeaders: hasFastProperties(res),
      });
      res.end('ok');
    });
    const server = http.createServer(expressObjects(app), app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
      for (let i = 0; i < 3; i++) {
        const r = await fetch(url);
        assert.equal(await r.text(), 'ok');
      }
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
    assert.equal(seen.length, 3);
    for (const s of seen) {
      assert.deepEqual(s, {
        requestPrototype: true,
        responsePrototype: true,
        requestIsIncomingMessage: true,
        responseIsServerResponse: true,
        requestFast: true,
        responseFast: true,
        responseFastAfterHeaders: true,
      });
    }
  });
});
