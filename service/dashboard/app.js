// The dashboard's shell and its overview: signs in with an API key (kept in this
// tab only), asks the service what the key is (GET /v1/key), and offers the pages
// that key may use: the overview (the operator's: polled every 2 s and redrawn),
// the indexes (console.js), the collections (collections.js) and tenants and keys
// (tenants.js). Every page calls the
// same HTTP API as any client, with the key: nothing here can do what the API
// would refuse that key. Plain JS, Chart.js from the service itself: no build step
// and no CDN.
'use strict';

const REFRESH_MS = 2000;
let key = sessionStorage.getItem('faiss-proxy-key') || '';
/** The signed-in key: { id, tenant, role, operator } (GET /v1/key). */
let me = null;
let timer;
const charts = {};
const VIEWS = ['board', 'indexes-view', 'index-view', 'collections-view', 'collection-view', 'tenants-view'];

const $ = (id) => document.getElementById(id);
const mb = (bytes) => (bytes / 1048576).toFixed(2);
const fmtBytes = (b) => (b >= 1073741824 ? `${(b / 1073741824).toFixed(2)} GB` : b >= 1048576 ? `${mb(b)} MB` : `${(b / 1024).toFixed(1)} KB`);

/** One call of the HTTP API with the key; its JSON answer (null for 204), or an Error "CODE: message". */
async function api(path, { method = 'GET', json } = {}) {
  const headers = { 'X-API-Key': key };
  if (json !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: json === undefined ? undefined : JSON.stringify(json) });
  const body = res.status === 204 ? null : await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body && body.error ? `${body.error.code}: ${body.error.message}` : `HTTP ${res.status}`);
  return body;
}

/** Says what an action did (or why it failed) at the top of the page. */
function notify(text, isError = false) {
  $('notice').textContent = text;
  $('notice').className = isError ? 'error' : 'done';
  $('notice').hidden = false;
}

/** Asks before an action; resolves true when confirmed. */
function confirmAction(text) {
  const dialog = $('confirm');
  $('confirm-text').textContent = text;
  dialog.returnValue = '';
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener('close', () => resolve(dialog.returnValue === 'ok'), { once: true }));
}

/** A link cell: { text, href }. */
const link = (text, href) => ({ text, href });

function lineChart(id, datasets) {
  return new Chart($(id), {
    type: 'line',
    data: { labels: [], datasets: datasets.map((d) => ({ label: d.label, data: [], borderColor: d.color, backgroundColor: d.color, pointRadius: 2, tension: 0.2 })) },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } }, plugins: { legend: { display: datasets.length > 1 } } },
  });
}

function makeCharts() {
  charts.throughput = lineChart('chart-throughput', [{ label: 'requests/s', color: '#2563eb' }]);
  charts.latency = lineChart('chart-latency', [
    { label: 'p50', color: '#16a34a' },
    { label: 'p99', color: '#dc2626' },
  ]);
  charts.memory = new Chart($('chart-memory'), {
    type: 'bar',
    data: { labels: [], datasets: [{ label: 'MB', data: [], backgroundColor: '#7c3aed' }] },
    options: { animation: false, maintainAspectRatio: false, indexAxis: 'y', plugins: { legend: { display: false } } },
  });
  window.faissProxyCharts = charts; // lets the browser test read what is drawn
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const c of cells) {
    const td = document.createElement('td');
    if (c instanceof Node) td.appendChild(c);
    else if (c.href) {
      const a = document.createElement('a');
      a.href = c.href;
      a.textContent = c.text;
      td.appendChild(a);
    } else td.textContent = c.text ?? c;
    if (c.num) td.className = 'num';
    tr.appendChild(td);
  }
  return tr;
}

/** Puts `rows` in the body of table `id`, in place of what it showed. */
const fillTable = (id, rows) => $(id).querySelector('tbody').replaceChildren(...rows);

/** A button that runs `onClick` (a cell's action: "Search with it", "Revoke"). */
function button(text, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.addEventListener('click', onClick);
  return b;
}

/** Shows what went wrong in a form's error line `id`; with no error, hides the line. */
function formError(id, error) {
  $(id).textContent = error ? error.message : '';
  $(id).hidden = !error;
}

/** Runs `action` when form `id` is submitted, in place of the browser's submit. */
function onSubmit(id, action) {
  $(id).addEventListener('submit', (ev) => {
    ev.preventDefault();
    action();
  });
}

/** Rows of a name / value table (an index's or a collection's settings). */
function propRows(pairs) {
  return pairs.map(([name, value]) => {
    const tr = document.createElement('tr');
    const th = document.createElement('th');
    th.textContent = name;
    const td = document.createElement('td');
    td.textContent = String(value);
    tr.append(th, td);
    return tr;
  });
}

/** What the last load found wrong with an index's files: why it is offline, or what was cut off its log. */
function storageOf(i) {
  const s = i.storage;
  if (!s) return 'ok';
  if (s.error) return `OFFLINE ${s.error.code}: ${s.error.message}`;
  const d = s.logDamage;
  return `log cut at byte ${d.offset}: ${fmtBytes(d.bytes)} dropped (${d.why})${d.recordsAfter ? `, ${d.recordsAfter} records LOST` : ''}`;
}

function render(overview, activity) {
  const samples = activity.samples;
  const last = samples[samples.length - 1];
  $('tile-rps').textContent = last ? last.requestsPerSecond.toFixed(1) : '–';
  $('tile-p99').textContent = last ? `${last.p99Ms.toFixed(1)} ms` : '–';
  $('tile-resident').textContent = `${overview.cache.resident} / ${overview.indexes.length + overview.collections.length}`;
  const lookups = overview.cache.hits + overview.cache.misses;
  $('tile-hits').textContent = lookups ? `${((100 * overview.cache.hits) / lookups).toFixed(1)} %` : '–';
  $('tile-log').textContent = fmtBytes(overview.storage.logBytes);
  $('tile-rss').textContent = fmtBytes(overview.process.rssBytes);
  const storage = overview.storage;
  $('tile-storage').textContent = storage.fault ? `FAILING: ${storage.fault.point}` : storage.logDamage.repairs ? `ok; ${storage.logDamage.repairs} log tail(s) cut` : 'ok';
  $('tile-storage').title = storage.fault ? storage.fault.message : '';

  const labels = samples.map((s) => new Date(s.at).toLocaleTimeString());
  charts.throughput.data.labels = labels;
  charts.throughput.data.datasets[0].data = samples.map((s) => s.requestsPerSecond);
  charts.latency.data.labels = labels;
  charts.latency.data.datasets[0].data = samples.map((s) => s.p50Ms);
  charts.latency.data.datasets[1].data = samples.map((s) => s.p99Ms);
  const byMemory = [...overview.indexes].sort((a, b) => b.bytes - a.bytes).slice(0, 12);
  charts.memory.data.labels = byMemory.map((i) => `${i.tenant}/${i.name}`);
  charts.memory.data.datasets[0].data = byMemory.map((i) => Number(mb(i.bytes)));
  for (const c of Object.values(charts)) c.update();

  fillTable(
    'indexes',
    overview.indexes.map((i) =>
      row([i.tenant, i.name, i.type, i.device, { text: i.dimension, num: true }, { text: i.ntotal.toLocaleString(), num: true }, { text: fmtBytes(i.bytes), num: true }, i.loaded ? 'in memory' : 'on disk', { text: fmtBytes(i.logBytes), num: true }, storageOf(i)]),
    ),
  );
  fillTable(
    'collections',
    overview.collections.map((c) =>
      row([c.tenant, c.name, c.aliases.join(', '), c.type, { text: c.dimension, num: true }, { text: c.points.toLocaleString(), num: true }, { text: fmtBytes(c.payloadBytes), num: true }, { text: fmtBytes(c.bytes), num: true }, c.loaded ? 'in memory' : 'on disk', { text: fmtBytes(c.logBytes), num: true }, storageOf(c)]),
    ),
  );
  // A cluster's node (serve --cluster): every node it hears of, with its replicas' lag (docs/cluster.md).
  $('cluster').hidden = !overview.cluster;
  if (overview.cluster) {
    $('cluster-self').textContent = `(this is ${overview.cluster.node})`;
    fillTable(
      'cluster-nodes',
      overview.cluster.nodes.map((n) =>
        row([n.node, new Date(n.startedAt).toLocaleString(), `${n.heartbeatAgeSeconds.toFixed(1)} s ago`, { text: n.lag.toLocaleString(), num: true }, shardsOwnedBy([...(overview.cluster.shards ?? []), ...(overview.cluster.collectionShards ?? []).map((s) => ({ ...s, index: `${s.collection} (collection)` }))], n.node)]),
      ),
    );
  }
  fillTable('errors', activity.errors.map((e) => row([new Date(e.at).toLocaleTimeString(), `${e.method} ${e.route}`, e.status, e.code, e.tenant, e.requestId])));
}

/** The shards a node owns, by index or collection: "tenant/index #0 #2; ..." (a sharded index's placement: docs/cluster.md). */
function shardsOwnedBy(shards, node) {
  const byIndex = new Map();
  for (const s of shards) {
    if (s.node !== node) continue;
    const key = `${s.tenant}/${s.index}`;
    byIndex.set(key, [...(byIndex.get(key) ?? []), `#${s.shard}`]);
  }
  return [...byIndex].map(([index, list]) => `${index} ${list.join(' ')}`).join('; ') || '—';
}

async function refresh() {
  try {
    const [overview, activity] = await Promise.all([api('/v1/admin/overview'), api('/v1/admin/activity')]);
    render(overview, activity);
    $('status').textContent = `updated ${new Date().toLocaleTimeString()}`;
  } catch (e) {
    $('status').textContent = `error: ${e.message}`;
  }
}

async function showOverview() {
  show('board');
  if (!charts.throughput) makeCharts();
  await refresh();
  clearInterval(timer);
  timer = setInterval(refresh, REFRESH_MS);
}

/** Shows one page; the overview's polling runs only while it shows. */
function show(view) {
  for (const v of VIEWS) $(v).hidden = v !== view;
  if (view !== 'board') clearInterval(timer);
}

/** The page of the location's hash, among those the key may use. */
async function route() {
  if (!me) return;
  $('notice').hidden = true;
  const [, page, name] = location.hash.split('/').map(decodeURIComponent);
  try {
    if (page === 'indexes' && name) await showIndex(name);
    else if (page === 'indexes') await showIndexes();
    else if (page === 'collections' && name) await showCollection(name);
    else if (page === 'collections') await showCollections();
    else if (page === 'tenants' && me.role === 'admin') await showTenants(name);
    else if (me.operator) await showOverview();
    else await showIndexes();
  } catch (e) {
    notify(e.message, true);
  }
}

async function signIn(candidate) {
  key = candidate;
  try {
    me = await api('/v1/key');
  } catch (e) {
    me = null;
    sessionStorage.removeItem('faiss-proxy-key');
    $('login-error').textContent = `Sign-in failed: ${e.message}`;
    $('login-error').hidden = false;
    for (const v of VIEWS) $(v).hidden = true;
    return;
  }
  sessionStorage.setItem('faiss-proxy-key', key);
  $('login-error').hidden = true;
  $('login').hidden = true;
  $('nav').hidden = false;
  $('nav-overview').hidden = !me.operator;
  $('nav-tenants').hidden = me.role !== 'admin';
  $('whoami').textContent = `${me.role} key ${me.id} of tenant ${me.tenant}${me.operator ? ' (operator)' : ''}`;
  $('sign-out').hidden = false;
  $('status').textContent = '';
  await route();
}

function signOut() {
  sessionStorage.removeItem('faiss-proxy-key');
  key = '';
  me = null;
  clearInterval(timer);
  for (const v of VIEWS) $(v).hidden = true;
  $('nav').hidden = true;
  $('sign-out').hidden = true;
  $('notice').hidden = true;
  $('whoami').textContent = '';
  $('status').textContent = 'not signed in';
  $('key').value = '';
  $('login').hidden = false;
  history.replaceState(null, '', location.pathname);
}

onSubmit('login-form', () => signIn($('key').value.trim()));
$('sign-out').addEventListener('click', signOut);
window.addEventListener('hashchange', route);
// After every script of the page has run (console.js and tenants.js define the other pages).
window.addEventListener('DOMContentLoaded', () => {
  if (key) signIn(key);
});
