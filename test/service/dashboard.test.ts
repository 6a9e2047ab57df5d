// The dashboard in a real browser (Debian's chromium, driven by playwright-core):
// signing in with the operator key shows the indexes created through the API and
// a chart with data after some searches; a wrong key shows an error, not data.
// Saves a screenshot to test-artifacts/dashboard.png.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import * as os from 'node:os';
import { defaults } from '../../service/config';
import { openServices } from '../../service/server';
import { randomVectors } from '../support/data';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve(__dirname, '..', '..', '..', 'test-artifacts');
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('dashboard in a real browser', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  let browser: Browser;

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
  });

  after(async () => {
    await browser?.close();
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('a wrong key shows an error and no data', async () => {
    const page = await browser.newPage();
    await page.goto(`${s.url}/dashboard/`);
    await page.fill('#key', 'fp_0000000000000000_wrongwrongwrongwrongwrongwrongwrongwrongwro');
    await page.click('button[type=submit]');
    await page.waitForSelector('#login-error:not([hidden])');
    assert.match(await page.textContent('#login-error') ?? '', /ERR_UNAUTHENTICATED/);
    assert.equal(await page.isVisible('#board'), false);
    await page.close();
  });

  it('signs in, lists the indexes, and charts live traffic', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
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
});
