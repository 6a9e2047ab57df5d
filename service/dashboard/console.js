// The console's index pages: the signed-in key's tenant's indexes; one index's
// settings, unsaved log and latest errors; a few of its stored vectors by id; and a
// search whose neighbours show as a table. Read routes only (GET /v1/indexes,
// GET /v1/indexes/{name}, .../errors, .../reconstruct, .../search): any key may use them.
'use strict';

/** The index the index page shows (GET /v1/indexes/{name}). */
let shownIndex = null;

const indexPath = (name) => `/v1/indexes/${encodeURIComponent(name)}`;
const isBinaryIndex = (index) => index.metric === 'Hamming';
/** Ids typed as "0, 1, 2" (or spaces): JSON numbers where safe, else strings (the API takes both). */
const parseIds = (text) =>
  text
    .split(/[\s,]+/)
    .filter(Boolean)
    .map((t) => (/^-?\d+$/.test(t) && Number.isSafeInteger(Number(t)) ? Number(t) : t));

async function showIndexes() {
  const { indexes } = await api('/v1/indexes');
  $('indexes-title').textContent = `Indexes of tenant ${me.tenant}`;
  fillTable(
    'index-list',
    indexes.map((i) =>
      row([
        link(i.name, `#/indexes/${encodeURIComponent(i.name)}`),
        i.type,
        i.factory,
        i.metric,
        { text: i.dimension, num: true },
        { text: i.ntotal.toLocaleString(), num: true },
        { text: fmtBytes(i.bytes), num: true },
        { text: fmtBytes(i.logBytes), num: true },
      ]),
    ),
  );
  show('indexes-view');
}

function props(index) {
  const rows = [
    ['Type', index.type],
    ['Factory', index.factory],
    ['Metric', index.metric],
    ['Dimension', index.dimension],
    ['Vectors (ntotal)', index.ntotal.toLocaleString()],
    ['Trained', index.isTrained ? 'yes' : 'no'],
    ['Memory', `${fmtBytes(index.bytes)} (its size in FAISS's file format)${index.memoryMapped ? ', memory-mapped' : ''}`],
    // "cpu" or "gpu:<n>": where the index lives when loaded (docs/gpu.md).
    ['Device', index.device],
    ['Version', index.version],
    ['Unsaved log', `${fmtBytes(index.logBytes)} (replayed on restart until the next snapshot)`],
    ['Created', new Date(index.createdAt).toLocaleString()],
  ];
  if (index.nprobe !== undefined) rows.push(['nprobe', index.nprobe]);
  if (index.efSearch !== undefined) rows.push(['efSearch', index.efSearch]);
  if (index.efConstruction !== undefined) rows.push(['efConstruction', index.efConstruction]);
  return propRows(rows);
}

async function showIndex(name) {
  const index = await api(indexPath(name));
  const changed = !shownIndex || shownIndex.name !== index.name;
  shownIndex = index;
  $('index-title').textContent = `Index ${index.name}`;
  fillTable('index-props', props(index));
  await showErrors();
  $('search-nprobe-field').hidden = index.nprobe === undefined;
  $('search-efsearch-field').hidden = index.efSearch === undefined;
  if (changed) {
    $('search-nprobe').value = index.nprobe ?? '';
    $('search-efsearch').value = index.efSearch ?? '';
    $('search-vector').value = '';
    $('search-from-id').value = '';
    $('neighbours').hidden = true;
    formError('search-error', null);
    formError('vectors-error', null);
    $('vector-ids').value = Array.from({ length: Math.min(3, index.ntotal) }, (_, i) => i).join(', ');
    fillTable('vectors', []);
    if (index.ntotal > 0) await showVectors().catch(() => {}); // ids 0.. need not exist (IDMap indexes): the form says why
  }
  show('index-view');
}

async function showErrors() {
  const { errors } = await api(`${indexPath(shownIndex.name)}/errors`);
  fillTable('index-errors', errors.map((e) => row([new Date(e.at).toLocaleTimeString(), `${e.method} ${e.route}`, e.status, e.code, e.message ?? '', e.requestId])));
}

/** The stored rows of the given ids: float vectors, or a binary index's codes (base64). */
async function reconstruct(ids) {
  const out = await api(`${indexPath(shownIndex.name)}/reconstruct`, { method: 'POST', json: { ids } });
  return out.vectors ?? out.codes;
}

const shortVector = (v) => (typeof v === 'string' ? v : `[${v.slice(0, 8).map((x) => +x.toFixed(4)).join(', ')}${v.length > 8 ? `, … ${v.length - 8} more` : ''}]`);

async function showVectors() {
  const ids = parseIds($('vector-ids').value);
  formError('vectors-error', null);
  try {
    const rows = await reconstruct(ids);
    fillTable(
      'vectors',
      rows.map((v, i) => {
        const use = button('Search with it', () => {
          $('search-vector').value = JSON.stringify(v);
          $('search-from-id').value = String(ids[i]);
          $('search-vector').focus();
        });
        return row([String(ids[i]), shortVector(v), use]);
      }),
    );
  } catch (e) {
    formError('vectors-error', e);
    throw e;
  }
}

async function useStoredVector() {
  formError('search-error', null);
  try {
    const [v] = await reconstruct(parseIds($('search-from-id').value).slice(0, 1));
    $('search-vector').value = JSON.stringify(v);
  } catch (e) {
    formError('search-error', e);
  }
}

/** The search body of the form, or an Error that says what is wrong with it. */
function searchBody() {
  let query;
  try {
    query = JSON.parse($('search-vector').value);
  } catch {
    throw new Error('The query vector is not JSON');
  }
  const body = { k: Number($('search-k').value) };
  if (isBinaryIndex(shownIndex)) {
    if (typeof query !== 'string') throw new Error('A binary index takes a base64 code, as a JSON string');
    body.codes = [query];
  } else {
    if (!Array.isArray(query) || !query.every((x) => typeof x === 'number')) throw new Error('The query vector must be a JSON array of numbers');
    body.vectors = [query];
  }
  if (!$('search-nprobe-field').hidden && $('search-nprobe').value !== '') body.nprobe = Number($('search-nprobe').value);
  if (!$('search-efsearch-field').hidden && $('search-efsearch').value !== '') body.efSearch = Number($('search-efsearch').value);
  return body;
}

async function search() {
  formError('search-error', null);
  try {
    const { distances, labels } = await api(`${indexPath(shownIndex.name)}/search`, { method: 'POST', json: searchBody() });
    const found = labels[0].map((id, i) => ({ id, distance: distances[0][i] })).filter((n) => n.id !== -1);
    fillTable('neighbours', found.map((n, i) => row([{ text: i + 1, num: true }, { text: String(n.id), num: true }, { text: String(n.distance), num: true }])));
    $('neighbours').hidden = false;
  } catch (e) {
    $('neighbours').hidden = true;
    formError('search-error', e);
    await showErrors().catch(() => {});
  }
}

onSubmit('vectors-form', () => showVectors().catch(() => {}));
$('search-use-id').addEventListener('click', useStoredVector);
onSubmit('search-form', search);
