// /docs in a real browser (Debian's chromium, driven by playwright-core, as the
// dashboard's test): Swagger UI renders every operation of /v1/openapi.json from
// the service's own files under a strict CSP (no request leaves the origin, no
// CSP violation), and an operation expands to show its parameters.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { startServer, type ServerProcess } from '../support/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');

describe('/docs: the OpenAPI document in a real browser', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  let browser: Browser;

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.FAISS_PROXY_CI) assert.fail(`${CHROMIUM} is not installed (scripts/setup-system.sh installs it)`);
      this.skip();
    }
    s = await startServer();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('is served with a strict CSP, from the package files only', async () => {
    const page = await fetch(`${s.url}/docs/`);
    assert.equal(page.status, 200);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval|https?:/);
    assert.doesNotMatch(await page.text(), /<script>|https?:\/\//, 'an inline script or a remote URL in the page');
    assert.equal((await fetch(`${s.url}/docs/vendor/swagger-ui-bundle.js`)).status, 200);
    // the package's own index.html (a petstore) and other files are not served
    assert.equal((await fetch(`${s.url}/docs/vendor/index.html`)).status, 404);
    assert.equal((await fetch(`${s.url}/docs/vendor/swagger-initializer.js`)).status, 404);
  });

  it('renders every operation, and an operation expands', async () => {
    const doc = await (await fetch(`${s.url}/v1/openapi.json`)).json();
    const operations = Object.values(doc.paths as Record<string, object>).reduce((n, p) => n + Object.keys(p).filter((m) => ['get', 'post', 'put', 'patch', 'delete'].includes(m)).length, 0);
    assert.ok(operations > 20);

    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    const foreign: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));
    page.on('request', (r) => !r.url().startsWith(s.url) && !r.url().startsWith('data:') && foreign.push(r.url()));
    await page.goto(`${s.url}/docs`);
    await page.waitForSelector('.opblock');
    await page.waitForFunction((n) => document.querySelectorAll('.opblock').length === n, operations);
    assert.match((await page.textContent('.info .title')) ?? '', /faiss-proxy/i);

    const search = page.locator('.opblock', { has: page.locator('[data-path="/v1/indexes/{name}/search"]') }).first();
    await search.locator('.opblock-summary').first().click();
    await page.waitForSelector('.opblock.is-open .opblock-body');
    const body = (await page.locator('.opblock.is-open').first().textContent()) ?? '';
    assert.match(body, /Parameters/);
    assert.match(body, /name/);
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await search.scrollIntoViewIfNeeded();
    await page.screenshot({ path: path.join(ARTIFACTS, 'docs-page.png') });
    assert.deepEqual(problems, [], 'console errors (a CSP violation shows here)');
    assert.deepEqual(foreign, [], 'requests that left the origin');
    await page.close();
  });
});
