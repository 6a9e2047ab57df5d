// Slow, endless and oversized requests, sent as an attacker would with raw
// sockets (loopback only, bounded loops): each is answered with a JSON error or
// closed within the configured timeouts, none holds a connection for ever, a
// flood of idle connections is capped, and the server keeps answering. And the
// other way round: a client that stops reading a large answer does not hold it
// (or its connection) for ever.
import { strict as assert } from 'node:assert';
import * as net from 'node:net';
import { abandonStalledAnswer } from '../../../service/http/client-error';
import { call, client, startServer, type ServerProcess } from '../../support/server';

interface Exchange {
  /** Everything the server sent. */
  text: string;
  /** Whether the server closed the connection before `waitMs`. */
  closed: boolean;
  ms: number;
}

/** Opens a connection, sends `head`, then each of `drip` every `everyMs`; resolves when the server closes or after waitMs. */
function exchange(url: string, head: string, o: { drip?: string[]; everyMs?: number; waitMs: number }): Promise<Exchange> {
  const { port } = new URL(url);
  const started = Date.now();
  return new Promise((resolve) => {
    let text = '';
    const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(head));
    const drip = [...(o.drip ?? [])];
    const dripper = setInterval(() => {
      const next = drip.shift();
      if (next !== undefined && socket.writable) socket.write(next);
    }, o.everyMs ?? 100);
    const finish = (closed: boolean) => {
      clearInterval(dripper);
      clearTimeout(timer);
      socket.destroy();
      resolve({ text, closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), o.waitMs);
    socket.on('data', (c) => (text += c.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => finish(true));
  });
}

function jsonError(e: Exchange): { status: number; code: string } {
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(e.text)?.[1]);
  const body = e.text.slice(e.text.indexOf('\r\n\r\n') + 4);
  return { status, code: JSON.parse(body).error.code };
}

describe('service: slow, endless and oversized requests', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  const HEADERS_MS = 600;
  const REQUEST_MS = 1200;
  const MAX_CONNECTIONS = 12;

  before(async () => {
    s = await startServer({
      args: ['--headers-timeout-ms', String(HEADERS_MS), '--request-timeout-ms', String(REQUEST_MS), '--max-connections', String(MAX_CONNECTIONS), '--body-limit', '65536'],
    });
    const r = await client(s.url, s.adminKey).post('/v1/indexes', { name: 'v', dimension: 4, type: 'IndexFlatL2' });
    assert.equal(r.status, 201);
  });
  after(async () => {
    await s?.stop();
  });

  const alive = async () => assert.equal((await client(s.url).get('/healthz')).status, 200, s.output());
  const head = (path: string, headers: string) => `POST ${path} HTTP/1.1\r\nHost: x\r\nX-API-Key: ${s.adminKey}\r\n${headers}\r\n`;

  for (const [route, type] of [
    ['/v1/indexes/v/add', 'application/json'],
    ['/v1/indexes/v/add', 'application/octet-stream'],
    ['/v1/indexes/v/search', 'application/json'],
    ['/v1/indexes/v/search?k=1', 'application/octet-stream'],
    ['/v1/indexes/v/import', 'application/octet-stream'],
    ['/v1/admin/tenants', 'application/json'],
  ]) {
    it(`Content-Length 10^12 with no body on ${route} (${type}): 413 at once, the body never read`, async () => {
      const e = await exchange(s.url, head(route, `Content-Type: ${type}\r\nContent-Length: 1000000000000\r\n`), { waitMs: 5000 });
      assert.deepEqual(jsonError(e), { status: 413, code: 'ERR_BODY_TOO_LARGE' }, e.text);
      assert.ok(e.ms < HEADERS_MS, `answered after ${e.ms} ms`);
      await alive();
    });
  }

  it('a chunked body with no final chunk: 408 JSON within the request timeout, connection closed', async () => {
    const e = await exchange(s.url, head('/v1/indexes/v/add', 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n') + '5\r\n{"vec\r\n', {
      drip: Array.from({ length: 100 }, () => '1\r\n \r\n'),
      everyMs: 50,
      waitMs: 10_000,
    });
    assert.deepEqual(jsonError(e), { status: 408, code: 'ERR_REQUEST_TIMEOUT' }, e.text);
    assert.ok(e.closed && e.ms < REQUEST_MS * 3, `closed ${e.closed} after ${e.ms} ms`);
    await alive();
  });

  it('a declared body that never comes: 408 within the request timeout', async () => {
    const e = await exchange(s.url, head('/v1/indexes/v/search', 'Content-Type: application/json\r\nContent-Length: 100\r\n') + '{"vectors":', { waitMs: 10_000 });
    assert.deepEqual(jsonError(e), { status: 408, code: 'ERR_REQUEST_TIMEOUT' }, e.text);
    assert.ok(e.closed && e.ms < REQUEST_MS * 3, `closed ${e.closed} after ${e.ms} ms`);
    await alive();
  });

  it('headers dripped one line at a time (slowloris): 408 within the headers timeout', async () => {
    const e = await exchange(s.url, 'GET /healthz HTTP/1.1\r\n', {
      drip: Array.from({ length: 200 }, (_, i) => `X-Drip-${i}: ${i}\r\n`),
      everyMs: 50,
      waitMs: 10_000,
    });
    assert.deepEqual(jsonError(e), { status: 408, code: 'ERR_REQUEST_TIMEOUT' }, e.text);
    assert.ok(e.closed && e.ms < HEADERS_MS * 4, `closed ${e.closed} after ${e.ms} ms`);
    await alive();
  });

  it('what Node refuses before any route (oversized headers, not HTTP) is answered in the JSON error shape', async () => {
    const huge = await exchange(s.url, `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, { waitMs: 5000 });
    assert.deepEqual(jsonError(huge), { status: 431, code: 'ERR_HEADERS_TOO_LARGE' }, huge.text);
    const garbage = await exchange(s.url, 'HELLO THERE\r\n\r\n', { waitMs: 5000 });
    assert.deepEqual(jsonError(garbage), { status: 400, code: 'ERR_BAD_REQUEST' }, garbage.text);
    assert.ok(huge.closed && garbage.closed);
    await alive();
  });

  it('a flood of idle connections is capped at --max-connections, and all are let go within the timeouts', async () => {
    const { port } = new URL(s.url);
    const sockets: net.Socket[] = [];
    const closedAt: number[] = [];
    const started = Date.now();
    for (let i = 0; i < MAX_CONNECTIONS * 3; i++) {
      const c = net.connect(Number(port), '127.0.0.1', () => c.write('GET /healthz HTTP/1.1\r\n'));
      c.on('error', () => undefined);
      c.resume(); // read what the server sends, so its closing is seen
      c.on('close', () => closedAt.push(Date.now() - started));
      sockets.push(c);
    }
    await new Promise((r) => setTimeout(r, HEADERS_MS / 3));
    // Past the cap, connections are closed as they arrive.
    assert.ok(closedAt.length >= MAX_CONNECTIONS, `only ${closedAt.length} of ${sockets.length} closed early`);
    // The held ones are let go by the headers timeout (checked every quarter of it); the bound leaves room for a busy CI machine.
    for (let waited = 0; closedAt.length < sockets.length && waited < HEADERS_MS * 8; waited += 50) await new Promise((r) => setTimeout(r, 50));
    assert.equal(closedAt.length, sockets.length, `some idle connections are still held: ${closedAt}`);
    for (const c of sockets) c.destroy();
    await alive();
  });

  it('a request within the limits still works after all that', async () => {
    const r = await client(s.url, s.adminKey).post('/v1/indexes/v/add', { vectors: [[1, 2, 3, 4]] });
    assert.equal(r.status, 200, JSON.stringify(r.json));
  });
});

describe('service: a client that stops reading its answer', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  const REQUEST_MS = 1200;
  const ROWS = 2_000_000; // 32 MB of float32 x 4: far more than the socket buffers hold
  before(async () => {
    s = await startServer({ args: ['--headers-timeout-ms', '600', '--request-timeout-ms', String(REQUEST_MS)] });
    const c = client(s.url, s.adminKey);
    assert.equal((await c.post('/v1/indexes', { name: 'big', dimension: 4, type: 'IndexFlatL2' })).status, 201);
    const body = new Uint8Array(ROWS * 16);
    assert.equal((await call(s.url, 'POST', '/v1/indexes/big/add', { key: s.adminKey, body })).status, 200);
  });
  after(async () => {
    await s?.stop();
  });

  /** GETs the export, reading nothing for `stallMs`, then in bursts `everyMs` apart; the bytes received when the connection closed. */
  function exportRead(stallMs: number, everyMs: number): Promise<{ bytes: number; ms: number }> {
    const { port } = new URL(s.url);
    const started = Date.now();
    return new Promise((resolve) => {
      let bytes = 0;
      const socket = net.connect(Number(port), '127.0.0.1', () => socket.write(`GET /v1/indexes/big/export HTTP/1.1\r\nHost: x\r\nX-API-Key: ${s.adminKey}\r\nConnection: close\r\n\r\n`));
      socket.pause();
      socket.on('data', (c) => (bytes += c.length));
      socket.on('error', () => undefined);
      let reader: NodeJS.Timeout | undefined;
      // Each burst reads for 20 ms, then nothing until the next.
      const burst = () => {
        socket.resume();
        setTimeout(() => socket.pause(), 20);
      };
      setTimeout(() => {
        burst();
        reader = setInterval(burst, everyMs);
      }, stallMs);
      socket.on('close', () => {
        clearInterval(reader);
        resolve({ bytes, ms: Date.now() - started });
      });
    });
  }

  it('an answer that makes no progress for the request timeout is abandoned, its connection closed', async () => {
    const r = await exportRead(REQUEST_MS * 4, 1);
    assert.ok(r.bytes < ROWS * 16, `the whole answer (${r.bytes} bytes) was kept for a client that read nothing for ${REQUEST_MS * 4} ms`);
    assert.equal((await client(s.url).get('/healthz')).status, 200);
  });

  it('a slow reader that keeps reading gets the whole answer', async () => {
    const r = await exportRead(0, REQUEST_MS / 4);
    assert.ok(r.bytes > ROWS * 16, `only ${r.bytes} bytes`);
  });

  it('a connection whose answer has not started (a long training) is never abandoned; an idle one is', () => {
    const destroyed: string[] = [];
    const socket = (name: string, answer?: { headersSent: boolean }) =>
      ({ _httpMessage: answer, destroy: () => destroyed.push(name) }) as unknown as net.Socket;
    abandonStalledAnswer(socket('working', { headersSent: false }));
    abandonStalledAnswer(socket('stalled', { headersSent: true }));
    abandonStalledAnswer(socket('idle'));
    assert.deepEqual(destroyed, ['stalled', 'idle']);
  });
});
