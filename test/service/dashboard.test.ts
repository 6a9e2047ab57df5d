// The dashboard in a real browser (Debian's chromium, driven by playwright-core):
// signing in with the operator key shows the indexes created through the API and
// a chart with data after some searches; a wrong key shows an error, not data.
// Its console, used as a person would: the operator creates a tenant with quotas
// and issues a key (shown once, copied); with that key, an index's page shows its
// settings and vectors, and a search shows the neighbours the API returns; a read
// key and a tenant's admin key see only what the API lets them do; a revoked key
// is refused. Every page keeps to the dashboard's Content-Security-Policy.
// Saves screenshots to test-artifacts/ (dashboard.png, console-*.png); with
// FAISS_PROXY_DOCS_SCREENSHOTS=1 the console's also to docs/images/.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import * as os from 'node:os';
import { defaults } from '../../service/config';
import { openServices } from '../../service/server';
import { randomVectors } from '../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');
const DOCS_IMAGES = path.resolve(__dirname, '..', '..', '..', 'docs', 'images');
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

/** A screenshot of the page's visible part, to test-artifacts/ and, when asked, docs/images/. */
async function screenshot(page: Page, name: string): Promise<void> {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  const file = path.join(ARTIFACTS, name);
  await page.screenshot({ path: file, fullPage: true });
  assert.ok(fs.statSync(file).size > 10_000, `${name} shows something`);
  if (process.env.FAISS_PROXY_DOCS_SCREENSHOTS === '1') fs.copyFileSync(file, path.join(DOCS_IMAGES, name));
}

describe('dashboard in a real browser', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  let browser: Browser;
  let context: BrowserContext;
  /** What the browser said about Content-Security-Policy violations, on every page. */
  const cspViolations: string[] = [];

  async function newPage(viewport = { width: 1200, height: 820 }): Promise<Page> {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    page.on('console', (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
    return page;
  }
  async function signIn(page: Page, key: string): Promise<void> {
    await page.goto(`${s.url}/dashboard/`);
    await page.fill('#key', key);
    await page.click('button[type=submit]');
    await page.waitForSelector('#whoami:not(:empty)');
  }
  /** Answers the console's confirmation dialog. */
  async function confirm(page: Page, expected: RegExp, ok = true): Promise<void> {
    await page.waitForSelector('#confirm[open]');
    assert.match((await page.textContent('#confirm-text')) ?? '', expected);
    await page.click(ok ? '#confirm-ok' : '#confirm button[value=cancel]');
  }
  const noticeSays = async (page: Page, expected: RegExp) => {
    await page.waitForFunction((src) => new RegExp(src).test(document.querySelector('#notice:not([hidden])')?.textContent ?? ''), expected.source);
  };

  before(async function () {
    if (!fs.existsSync(CHROMIUM)) {
      if (process.env.FAISS_PROXY_CI) assert.fail(`${CHROMIUM} is not installed (scripts/setup-system.sh installs it)`);
      this.skip();
    }
    // A collection, made through the domain before the server starts (its routes are HTTP's business, not this test's).
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-test-'));
    const seeded = openServices({ ...defaults(), dataDir });
    await seeded.indexes.open();
    await seeded.collections.open();
    seeded.tenants.create('docs-team');
    await seeded.collections.create('docs-team', { name: 'knowledge-base', dimension: 16, payloadIndexes: { source: 'keyword' } });
    await seeded.collections.upsert('docs-team', 'knowledge-base', { ids: ['faq-1', 'faq-2'], x: randomVectors(2, 16, 4), payloads: [{ source: 'faq' }, { source: 'wiki' }] });
    await seeded.collections.createAlias('docs-team', 'kb-live', 'knowledge-base');
    await seeded.indexes.close();
    seeded.catalog.close();
    s = await startServer({ dataDir });
    const api = client(s.url, (await makeTenant(s, 'acme')).write);
    for (const name of ['catalog-images', 'support-tickets']) {
      await api.post('/v1/indexes', { name, dimension: 16, type: 'IndexFlatL2' });
      await api.post(`/v1/indexes/${name}/add`, undefined, { body: bytes(randomVectors(2000, 16, name.length)) });
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    context = await browser.newContext({ permissions: ['clipboard-read', 'clipboard-write'] });
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('a wrong key shows an error and no data', async () => {
    const page = await newPage();
    await page.goto(`${s.url}/dashboard/`);
    await page.fill('#key', 'fp_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match(await page.textContent('#login-error') ?? '', /ERR_UNAUTHENTICATED/);
    assert.equal(await page.isVisible('#board'), false);
    await page.close();
  });

  it('signs in, lists the indexes, and charts live traffic', async () => {
    const page = await newPage({ width: 1400, height: 900 });
    await page.goto(`${s.url}/dashboard/`);
    await page.fill('#key', s.adminKey);
    await page.click('button[type=submit]');
    await page.waitForSelector('#board:not([hidden])');
    await page.waitForFunction(() => document.querySelectorAll('#indexes tbody tr').length >= 2);
    const tableText = await page.textContent('#indexes');
    assert.match(tableText ?? '', /catalog-images/);
    assert.match(tableText ?? '', /support-tickets/);
    assert.match(tableText ?? '', /acme/);
    await page.waitForFunction(() => document.querySelectorAll('#collections tbody tr').length >= 1);
    const collectionText = await page.textContent('#collections');
    assert.match(collectionText ?? '', /docs-team\s*knowledge-base\s*kb-live/);

    // Traffic, then wait for the throughput chart to show it.
    const api = client(s.url, s.adminKey);
    const reader = (await makeTenant(s, 'reader')).write;
    const r = client(s.url, reader);
    await r.post('/v1/indexes', { name: 'q', dimension: 16, type: 'IndexFlatL2' });
    await r.post('/v1/indexes/q/add', undefined, { body: bytes(randomVectors(500, 16, 3)) });
    // Searches spread over several 2 s samples.
    const traffic = (async () => {
      for (let i = 0; i < 120; i++) {
        await r.post('/v1/indexes/q/search?k=5', undefined, { body: bytes(randomVectors(1, 16, i)) });
        await new Promise((done) => setTimeout(done, 40));
      }
    })();
    await api.get('/v1/indexes/missing-one'); // shows up under recent errors (404)
    await traffic;
    await page.waitForFunction(
      () => {
        const charts = (window as unknown as { faissProxyCharts?: Record<string, { data: { datasets: { data: number[] }[] } }> }).faissProxyCharts;
        return !!charts && charts.throughput.data.datasets[0].data.filter((v) => v > 0).length >= 2;
      },
      undefined,
      { timeout: 30_000 },
    );
    await page.waitForFunction(() => (document.querySelector('#errors')?.textContent ?? '').includes('ERR_INDEX_NOT_FOUND'));
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, 'dashboard.png'), fullPage: true });
    assert.ok(fs.statSync(path.join(ARTIFACTS, 'dashboard.png')).size > 10_000);
    await page.close();
  });
  /** The write key the console issued for tenant shop (test "creates a tenant ..."). */
  let shopWrite = '';

  it('the operator creates a tenant with quotas and issues a key, shown once and copied; the key works', async () => {
    const page = await newPage();
    await signIn(page, s.adminKey);
    await page.click('#nav-tenants');
    await page.waitForSelector('#tenants-view:not([hidden])');
    await page.fill('#tenant-name', 'shop');
    await page.fill('#tenant-max-indexes', '5');
    await page.fill('#tenant-max-vectors', '100000');
    await page.click('#tenant-form button[type=submit]');
    await confirm(page, /Create tenant shop with quotas: maxIndexes 5, maxVectors 100,000\?/);
    await noticeSays(page, /Created tenant shop \(quotas: maxIndexes 5, maxVectors 100,000\)/);
    const tenant = (await client(s.url, s.adminKey).get('/v1/admin/tenants/shop')).json;
    assert.equal(tenant.maxIndexes, 5);
    assert.equal(tenant.maxVectors, 100_000);

    await page.waitForSelector('#tenant-detail:not([hidden])');
    assert.equal(await page.textContent('#tenant-title'), 'Tenant shop');
    await page.fill('#quota-max-bytes', '50000000');
    await page.click('#quota-form button[type=submit]');
    await confirm(page, /Set the quotas of tenant shop to maxIndexes 5, maxVectors 100,000, maxBytes 50,000,000\?/);
    await noticeSays(page, /Set the quotas of tenant shop/);
    assert.equal((await client(s.url, s.adminKey).get('/v1/admin/tenants/shop')).json.maxBytes, 50_000_000);

    await page.selectOption('#key-role', 'write');
    await page.fill('#key-label', 'ingest');
    await page.click('#key-form button[type=submit]');
    await confirm(page, /Issue a write key labelled "ingest" for tenant shop\?/);
    await noticeSays(page, /Issued write key [0-9a-f]{16} for tenant shop/);
    shopWrite = (await page.textContent('#new-key-value')) ?? '';
    assert.match(shopWrite, /^fp_[0-9a-f]{16}_[A-Za-z0-9_-]{43}$/);
    await page.click('#new-key-copy');
    await page.waitForFunction(() => document.querySelector('#new-key-copied')?.textContent === 'Copied to the clipboard.');
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), shopWrite);
    await page.waitForFunction((id) => (document.querySelector('#keys')?.textContent ?? '').includes(id), shopWrite.split('_')[1]);
    await screenshot(page, 'console-tenants.png');
    // Shown once: the list of keys never has it, and a reload does not show it again.
    assert.equal((await page.textContent('#keys'))?.includes(shopWrite), false);
    await page.reload();
    await page.waitForSelector('#tenant-detail:not([hidden])');
    assert.equal(await page.isVisible('#new-key'), false);
    await page.close();

    // The key works: an IVF index of shop's, made with it through the API.
    const w = client(s.url, shopWrite);
    assert.equal((await w.post('/v1/indexes', { name: 'products', dimension: 8, factory: 'IVF8,Flat' })).status, 201);
    const data = randomVectors(400, 8, 11);
    assert.equal((await w.post('/v1/indexes/products/train', undefined, { body: bytes(data) })).status, 200);
    assert.equal((await w.post('/v1/indexes/products/add', undefined, { body: bytes(data) })).status, 200);
    assert.equal((await w.post('/v1/indexes/products/search', { vectors: [[1, 2, 3]], k: 3 })).status, 400); // an error the index page shows
  });

  it("with that key, an index's page shows its settings and vectors, and its search the neighbours the API returns", async () => {
    const page = await newPage();
    await signIn(page, shopWrite);
    assert.match((await page.textContent('#whoami')) ?? '', /write key [0-9a-f]{16} of tenant shop/);
    await page.waitForSelector('#indexes-view:not([hidden])');
    await page.click('#index-list a:text-is("products")');
    await page.waitForSelector('#index-view:not([hidden])');
    const props = (await page.textContent('#index-props')) ?? '';
    const described = (await client(s.url, shopWrite).get('/v1/indexes/products')).json;
    for (const [name, value] of [
      ['Type', 'IndexIVFFlat'],
      ['Factory', 'IVF8,Flat'],
      ['Metric', 'L2'],
      ['Dimension', '8'],
      ['Vectors \\(ntotal\\)', '400'],
      ['Device', 'CPU'],
      ['Version', String(described.version)],
      ['nprobe', String(described.nprobe)],
    ]) {
      assert.match(props, new RegExp(`${name}${value}`), `${name} ${value}`);
    }
    assert.match(props, /Unsaved log\d/);
    await page.waitForFunction(() => (document.querySelector('#index-errors')?.textContent ?? '').includes('ERR_'));
    assert.match((await page.textContent('#index-errors')) ?? '', /POST \/v1\/indexes\/:name\/search400ERR_DIMENSION/);

    // Stored vectors by id: those of the API's reconstruct.
    await page.waitForFunction(() => document.querySelectorAll('#vectors tbody tr').length === 3);
    const stored = (await client(s.url, shopWrite).post('/v1/indexes/products/reconstruct', { ids: [0, 1, 2] })).json.vectors as number[][];
    const shown = await page.$$eval('#vectors tbody tr td:nth-child(2)', (tds) => tds.map((td) => td.textContent ?? ''));
    shown.forEach((text, i) => assert.ok(text.startsWith(`[${stored[i].slice(0, 8).map((x) => +x.toFixed(4)).join(', ')}`), text));

    // A search from a stored vector (id 7), k 5, nprobe 2: the neighbours the API returns.
    await page.fill('#search-from-id', '7');
    await page.click('#search-use-id');
    await page.waitForFunction(() => (document.querySelector('#search-vector') as HTMLTextAreaElement).value.startsWith('['));
    await page.fill('#search-k', '5');
    await page.fill('#search-nprobe', '2');
    await page.click('#search-form button[type=submit]');
    await page.waitForSelector('#neighbours:not([hidden])');
    const query = JSON.parse(await page.inputValue('#search-vector')) as number[];
    const api = (await client(s.url, shopWrite).post('/v1/indexes/products/search', { vectors: [query], k: 5, nprobe: 2 })).json;
    const table = await page.$$eval('#neighbours tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    assert.deepEqual(
      table,
      api.labels[0].map((id: number, i: number) => [String(i + 1), String(id), String(api.distances[0][i])]),
    );
    assert.equal(table[0][1], '7', 'the stored vector finds itself first');
    await screenshot(page, 'console-index.png');

    // A query of the wrong dimension: the API's error, in the form.
    await page.fill('#search-vector', '[1, 2]');
    await page.click('#search-form button[type=submit]');
    await page.waitForSelector('#search-error:not([hidden])');
    assert.match((await page.textContent('#search-error')) ?? '', /ERR_DIMENSION: Expected vectors\[0\] to have dimension 8 but it has 2/);
    // ... and, at once, among the index's errors.
    await page.waitForFunction(() => (document.querySelector('#index-errors')?.textContent ?? '').includes('but it has 2'));
    await page.close();
  });

  it('a read key sees no admin actions; a tenant admin key sees its own tenant only', async () => {
    const admin = client(s.url, s.adminKey);
    const read = (await admin.post('/v1/admin/tenants/shop/keys', { role: 'read' })).json.key as string;
    const page = await newPage();
    await signIn(page, read);
    await page.waitForSelector('#indexes-view:not([hidden])');
    for (const selector of ['#nav-tenants', '#nav-overview', '#tenants-view', '#board', 'button.revoke', '#key-form', '#tenant-form', '#quota-form']) {
      assert.equal(await page.isVisible(selector), false, `${selector} is hidden from a read key`);
    }
    await page.goto(`${s.url}/dashboard/#/tenants`); // typed by hand: the indexes, not tenants
    await page.waitForSelector('#indexes-view:not([hidden])');
    assert.equal(await page.isVisible('#tenants-view'), false);
    await page.goto(`${s.url}/dashboard/#/indexes/products`);
    await page.waitForSelector('#index-view:not([hidden])');
    assert.equal(await page.isVisible('#index-view'), true, 'a read key may look and search');
    await page.close();

    const shopAdmin = (await admin.post('/v1/admin/tenants/shop/keys', { role: 'admin' })).json.key as string;
    const adminPage = await newPage();
    await signIn(adminPage, shopAdmin);
    await adminPage.click('#nav-tenants');
    await adminPage.waitForSelector('#tenant-detail:not([hidden])');
    assert.equal(await adminPage.$$eval('#tenants tbody tr', (trs) => trs.length), 1);
    assert.equal(await adminPage.textContent('#tenant-title'), 'Tenant shop');
    for (const selector of ['#nav-overview', '#tenant-create', '#quota-form']) {
      assert.equal(await adminPage.isVisible(selector), false, `${selector} is the operator's`);
    }
    assert.equal(await adminPage.isVisible('#key-form'), true);
    assert.doesNotMatch((await adminPage.textContent('body')) ?? '', /acme|docs-team/);
    await adminPage.close();
  });

  it('revoking a key asks first, says what it did, and the key is refused from then on', async () => {
    const id = shopWrite.split('_')[1];
    const page = await newPage();
    await signIn(page, s.adminKey);
    await page.goto(`${s.url}/dashboard/#/tenants/shop`);
    await page.waitForSelector(`button.revoke[data-key-id="${id}"]`);
    await page.click(`button.revoke[data-key-id="${id}"]`);
    await confirm(page, new RegExp(`Revoke write key ${id} \\("ingest"\\) of tenant shop\\?`), false);
    assert.equal((await client(s.url, shopWrite).get('/v1/indexes')).status, 200, 'cancelled: the key still works');
    await page.click(`button.revoke[data-key-id="${id}"]`);
    await confirm(page, /Revoke write key/);
    await noticeSays(page, new RegExp(`Revoked write key ${id} of tenant shop at .*: it is refused from now on`));
    await page.waitForSelector(`button.revoke[data-key-id="${id}"]`, { state: 'detached' });
    const refused = await client(s.url, shopWrite).get('/v1/indexes');
    assert.equal(refused.status, 401);
    assert.equal(refused.json.error.code, 'ERR_UNAUTHENTICATED');
    await page.click('#sign-out');
    await page.fill('#key', shopWrite);
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match((await page.textContent('#login-error')) ?? '', /ERR_UNAUTHENTICATED/);
    await page.close();
  });

  it("a collection's page shows its points, and a filtered search the hits the API returns", async () => {
    const read = (await client(s.url, s.adminKey).post('/v1/admin/tenants/docs-team/keys', { role: 'read' })).json.key as string;
    const page = await newPage();
    await signIn(page, read);
    await page.click('#nav-collections');
    await page.waitForSelector('#collections-view:not([hidden])');
    await page.click('#collection-list a:text-is("knowledge-base")');
    await page.waitForSelector('#collection-view:not([hidden])');
    assert.match((await page.textContent('#collection-props')) ?? '', /Dimension16.*Points2.*Payload indexessource \(keyword\)/s);
    await page.waitForFunction(() => document.querySelectorAll('#points tbody tr').length === 2);
    assert.match((await page.textContent('#points')) ?? '', /faq-1\{"source":"faq"\}.*faq-2\{"source":"wiki"\}/s);
    await page.click('#points tbody tr:first-child button');
    const filter = { must: [{ key: 'source', match: { value: 'wiki' } }] };
    await page.fill('#point-search-filter', JSON.stringify(filter));
    await page.fill('#point-search-k', '5');
    await page.click('#point-search-form button[type=submit]');
    await page.waitForSelector('#hits:not([hidden])');
    const vector = JSON.parse(await page.inputValue('#point-search-vector')) as number[];
    const api = (await client(s.url, read).post('/v1/collections/knowledge-base/search', { vector, k: 5, filter, withPayload: true })).json;
    const table = await page.$$eval('#hits tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    assert.deepEqual(
      table,
      api.hits.map((h: { id: string; score: number; payload: unknown }, i: number) => [String(i + 1), h.id, String(h.score), JSON.stringify(h.payload)]),
    );
    assert.deepEqual(table.map((r) => r[1]), ['faq-2'], 'the filter keeps the wiki point only');
    await screenshot(page, 'console-collection.png');
    await page.close();
  });

  it('serves the dashboard under a strict Content-Security-Policy, which no page broke', async () => {
    const res = await fetch(`${s.url}/dashboard/`);
    const csp = res.headers.get('content-security-policy') ?? '';
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    const html = await res.text();
    assert.doesNotMatch(html, /<script>|<style|style=| on[a-z]+=/, 'no inline script, style or handler');
    assert.deepEqual(cspViolations, []);
  });
});
