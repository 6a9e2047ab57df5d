// The remote client against a flaky network: the server restarting in the middle
// of a stream of adds and searches (no add lost, none applied twice), and a server
// that stalls (timeouts, retries, and a bounded give-up).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from '../../lib/client';
import { FaissError } from '../../lib/errors';
import { randomVectors, row } from '../support/data';
import { makeTenant, startServer, type ServerProcess } from '../support/server';

const d = 8;

describe('client: network failures', function () {
  this.timeout(180_000);

  it('carries on through a server restart (SIGKILL) with no add lost or applied twice', async () => {
    let s: ServerProcess = await startServer();
    const port = new URL(s.url).port;
    try {
      const key = (await makeTenant(s, 'net')).write;
      const faiss = connect({ url: s.url, apiKey: key, retryForMs: 30_000, timeoutMs: 5_000 });
      const index = new faiss.IndexFlatL2(d, { name: 'stream' });
      const batches = 120;
      const data = randomVectors(batches * 10, d, 501);
      let restarted = false;
      let answered = 0;
      for (let b = 0; b < batches; b++) {
        const add = index.add(data.subarray(b * 10 * d, (b + 1) * 10 * d));
        if (b === 40 || b === 80) {
          // Kill the server while this add is in flight, start it again on the same port.
          await new Promise((r) => setTimeout(r, 2));
          await s.stop('SIGKILL');
          s = await startServer({ dataDir: s.dataDir, adminKey: s.adminKey, args: ['--port', port] });
          restarted = true;
        }
        await add;
        if (b % 10 === 0) {
          const { labels } = await index.search(row(data, d, b * 10), 1);
          assert.equal(labels[0], BigInt(b * 10), `search after batch ${b}`);
          answered++;
        }
      }
      assert.ok(restarted && answered === 12);
      await index.refresh();
      assert.equal(index.ntotal, batches * 10, 'every add applied exactly once');
      // And each vector is where the order of the adds put it.
      const all = await index.reconstructN(0, batches * 10);
      assert.deepEqual(all, data);
    } finally {
      await s.stop();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });

  it('times out on a stalled server, retries, and succeeds once it answers', async () => {
    let requests = 0;
    const server = http.createServer((req, res) => {
      requests++;
      if (requests <= 2) return; // stall: never answer
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ indexes: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const faiss = connect({ url, apiKey: 'k', timeoutMs: 300, retryForMs: 10_000 });
      assert.deepEqual(await faiss.listIndexes(), []);
      assert.equal(requests, 3);
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('gives up after retryForMs with ERR_TIMEOUT when the server never answers', async () => {
    const server = http.createServer(() => undefined);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const faiss = connect({ url, timeoutMs: 200, retryForMs: 1_000 });
      const started = Date.now();
      await assert.rejects(faiss.listIndexes(), (e: unknown) => e instanceof FaissError && e.code === 'ERR_TIMEOUT');
      assert.ok(Date.now() - started < 5_000, 'bounded');
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('does not retry what the server refused (4xx), and maps its code', async () => {
    let requests = 0;
    const server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(404, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'ERR_INDEX_NOT_FOUND', message: 'No index named "x"' } }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const faiss = connect({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      await assert.rejects(faiss.openIndex('x'), (e: unknown) => e instanceof FaissError && e.code === 'ERR_NOT_FOUND');
      assert.equal(requests, 1);
    } finally {
      server.close();
    }
  });

  it('a binary answer of the wrong size is ERR_SERVER, not a RangeError', async () => {
    // An index of dimension d exists; every binary answer is one byte short.
    const server = http.createServer((req, res) => {
      req.resume();
      if (req.method === 'GET') {
        const info = { name: 'x', dimension: d, type: 'IndexFlat', factory: 'Flat', metric: 'L2', ntotal: 4, isTrained: true, bytes: 0, version: 1 };
        res.writeHead(200, { 'Content-Type': 'application/json' });
        return res.end(JSON.stringify(info));
      }
      res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'X-Faiss-Nq': '1', 'X-Faiss-K': '2', 'X-Faiss-Total': '1' });
      res.end(Buffer.alloc(req.url!.includes('/search') ? 23 : req.url!.includes('/range_search') ? 27 : 4 * d - 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const faiss = connect({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
      const index = await faiss.openIndex('x');
      const q = new Float32Array(d);
      for (const call of [() => index.search(q, 2), () => index.rangeSearch(q, 1), () => index.reconstruct(0)]) {
        await assert.rejects(call(), (e: unknown) => e instanceof FaissError && e.code === 'ERR_SERVER');
      }
    } finally {
      server.close();
    }
  });

  it("retries a 429 ERR_TENANT_MEMORY (the tenant's requests in flight hold its budget) after its Retry-After", async () => {
    let requests = 0;
    let alwaysBusy = false;
    const busy = (res: http.ServerResponse) => {
      res.writeHead(429, { 'Content-Type': 'application/json', 'Retry-After': '1' });
      res.end(JSON.stringify({ error: { code: 'ERR_TENANT_MEMORY', message: 'busy' } }));
    };
    const server = http.createServer((_req, res) => {
      requests++;
      if (requests === 1 || alwaysBusy) return busy(res);
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ indexes: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const started = Date.now();
      assert.deepEqual(await connect({ url, apiKey: 'k', minBackoffMs: 1, maxBackoffMs: 2 }).listIndexes(), []);
      assert.equal(requests, 2);
      assert.ok(Date.now() - started >= 950, 'waited for Retry-After');
      // Where Retry-After passes retryForMs, the client gives up at once: ERR_BUSY, the embedded API's "try later".
      alwaysBusy = true;
      await assert.rejects(connect({ url, apiKey: 'k', retryForMs: 200 }).listIndexes(), (e: unknown) => e instanceof FaissError && e.code === 'ERR_BUSY');
      assert.equal(requests, 3);
    } finally {
      server.close();
    }
  });

  it('caches search results when asked to, and a write through the client invalidates them', async () => {
    const s = await startServer();
    try {
      const key = (await makeTenant(s, 'cache')).write;
      const faiss = connect({ url: s.url, apiKey: key, cacheResults: { ttlMs: 60_000 } });
      const index = new faiss.IndexFlatL2(d, { name: 'cached' });
      await index.add(randomVectors(100, d, 1));
      const q = randomVectors(1, d, 2);
      const first = await index.search(q, 3);
      const second = await index.search(q, 3);
      assert.deepEqual(second, first);
      assert.deepEqual(faiss.cacheStats(), { hits: 1, misses: 1 });
      await index.add(q); // now q itself is the nearest
      const third = await index.search(q, 1);
      assert.equal(third.labels[0], 100n);
      assert.equal(faiss.cacheStats().misses, 2);
    } finally {
      await s.stop();
      fs.rmSync(s.dataDir, { recursive: true, force: true });
    }
  });

  it('settings come from options, then FAISS_PROXY_URL / FAISS_PROXY_API_KEY, then a config file', async () => {
    const saved = { url: process.env.FAISS_PROXY_URL, key: process.env.FAISS_PROXY_API_KEY, cfg: process.env.FAISS_PROXY_CONFIG };
    const file = `${fs.mkdtempSync('/tmp/fp-config-')}/faiss-proxy.json`;
    fs.writeFileSync(file, JSON.stringify({ url: 'http://from-file:1', apiKey: 'file-key' }));
    const { resolveSettings } = await import('../../lib/client/config');
    try {
      process.env.FAISS_PROXY_CONFIG = file;
      delete process.env.FAISS_PROXY_URL;
      delete process.env.FAISS_PROXY_API_KEY;
      assert.deepEqual(resolveSettings({}), { url: 'http://from-file:1', apiKey: 'file-key' });
      process.env.FAISS_PROXY_URL = 'http://from-env:2';
      assert.deepEqual(resolveSettings({}), { url: 'http://from-env:2', apiKey: 'file-key' });
      assert.deepEqual(resolveSettings({ url: 'http://from-options:3', apiKey: 'k' }), { url: 'http://from-options:3', apiKey: 'k' });
    } finally {
      for (const [k, v] of [['FAISS_PROXY_URL', saved.url], ['FAISS_PROXY_API_KEY', saved.key], ['FAISS_PROXY_CONFIG', saved.cfg]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  });
});
