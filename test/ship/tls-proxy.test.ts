// docs/deployment.md's nginx example, run as it is written under a real nginx with a
// self-signed certificate, in front of a real service: TLS ends at nginx and the
// service's answers (and its JSON errors) come through; a body larger than nginx's
// default 1 MiB limit passes.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as https from 'node:https';
import * as os from 'node:os';
import * as path from 'node:path';
import { unusedPort } from '../support/ports';
import { startServer, type ServerProcess } from '../support/server';

const NGINX = '/usr/sbin/nginx';
const DOC = path.resolve(__dirname, '..', '..', '..', 'docs', 'deployment.md');

/** The ```nginx block that follows the nginx-example marker in docs/deployment.md. */
function documentedSite(): string {
  const doc = fs.readFileSync(DOC, 'utf8');
  const m = /<!-- nginx-example:[^>]*-->\n```nginx\n([\s\S]*?)```/.exec(doc);
  assert.ok(m, 'docs/deployment.md has no nginx example after its marker');
  return m[1];
}

interface Answer { status: number; body: any }

function request(port: number, ca: Buffer, method: string, route: string, key?: string, body?: unknown): Promise<Answer> {
  const data = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
  return new Promise((resolve, reject) => {
    const req = https.request({
      host: '127.0.0.1', port, method, path: route, ca, servername: 'localhost',
      headers: { ...(key ? { 'X-API-Key': key } : {}), ...(data ? { 'Content-Type': 'application/json', 'Content-Length': data.length } : {}) },
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        try { resolve({ status: res.statusCode!, body: JSON.parse(text) }); } catch { resolve({ status: res.statusCode!, body: text }); }
      });
    });
    req.on('error', reject);
    req.end(data);
  });
}

describe('TLS through nginx (docs/deployment.md)', function () {
  this.timeout(60_000);
  let dir: string;
  let server: ServerProcess;
  let nginx: ChildProcess | undefined;
  let port: number;
  let ca: Buffer;

  before(async function () {
    if (!fs.existsSync(NGINX)) {
      if (process.env.FAISS_PROXY_CI) assert.fail(`${NGINX} is not installed (scripts/test.sh installs nginx-light)`);
      this.skip();
    }
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fp-tls-'));
    fs.chmodSync(dir, 0o755);
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'privkey.pem'), '-out', path.join(dir, 'fullchain.pem')], { stdio: 'ignore' });
    ca = fs.readFileSync(path.join(dir, 'fullchain.pem'));
    server = await startServer();
    port = await unusedPort();
    const upstream = new URL(server.url).port;
    const site = documentedSite()
      .replace('listen 443 ssl;', `listen 127.0.0.1:${port} ssl;`)
      .replace('server 127.0.0.1:8080;', `server 127.0.0.1:${upstream};`)
      .replace('/etc/ssl/faiss-proxy/fullchain.pem', path.join(dir, 'fullchain.pem'))
      .replace('/etc/ssl/faiss-proxy/privkey.pem', path.join(dir, 'privkey.pem'));
    for (const dirname of ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) fs.mkdirSync(path.join(dir, dirname));
    fs.writeFileSync(path.join(dir, 'nginx.conf'), [
      ...(process.getuid?.() === 0 ? ['user root;'] : []),
      'daemon off;', 'worker_processes 1;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`,
      'events { worker_connections 64; }',
      'http {', '  access_log off;',
      ...['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t === 'body' ? 'client_body' : t}_temp_path ${dir}/${t};`),
      site, '}', ''].join('\n'));
    nginx = spawn(NGINX, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log')], { stdio: 'ignore' });
    for (let i = 0; ; i++) {
      try {
        if ((await request(port, ca, 'GET', '/healthz')).status === 200) break;
      } catch (e) {
        if (i > 100) throw new Error(`nginx did not answer: ${(e as Error).message}\n${fs.readFileSync(path.join(dir, 'error.log'), 'utf8')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  after(async () => {
    nginx?.kill('SIGTERM');
    await server?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('serves the API over TLS with a certificate the client verifies', async () => {
    assert.deepEqual((await request(port, ca, 'GET', '/healthz')).body, { status: 'ok' });
    // Without the certificate's CA, the client refuses the connection: it is really TLS.
    await assert.rejects(request(port, Buffer.alloc(0), 'GET', '/healthz'), /self[- ]signed|unable to verify|certificate/i);
    const key = server.adminKey;
    assert.equal((await request(port, ca, 'POST', '/v1/indexes', key, { name: 'tls', dimension: 128, type: 'IndexFlatL2' })).status, 201);
    // 3,000 vectors of 128 floats as JSON: about 4 MB, past nginx's default client_max_body_size (1 MiB).
    const vectors = Array.from({ length: 3000 }, (_, i) => Array.from({ length: 128 }, (_, j) => (i * 7 + j) % 13));
    const added = await request(port, ca, 'POST', '/v1/indexes/tls/add', key, { vectors });
    assert.equal(added.status, 200, JSON.stringify(added.body));
    assert.equal(added.body.ntotal, 3000);
    const found = await request(port, ca, 'POST', '/v1/indexes/tls/search', key, { vectors: [vectors[42]], k: 1 });
    assert.equal(found.body.distances[0][0], 0);
    // The service's own errors come through as they are.
    const missing = await request(port, ca, 'POST', '/v1/indexes/nope/search', key, { vectors: [vectors[0]], k: 1 });
    assert.deepEqual([missing.status, missing.body.error.code], [404, 'ERR_INDEX_NOT_FOUND']);
  });
});
