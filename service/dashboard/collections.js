// The console's collection pages: the signed-in key's tenant's collections; one
// collection's settings, its points page by page (with payloads), and a search,
// with an optional filter, whose hits show as a table. Read routes only
// (GET /v1/collections, GET /v1/collections/{name}, .../points/scroll, .../search).
'use strict';

/** The collection the page shows, and where its next page of points starts (null: no more). */
let shownCollection = null;
let nextPoints = null;

const collectionPath = (name) => `/v1/collections/${encodeURIComponent(name)}`;
const POINTS_PAGE = 10;
const describePayloadIndexes = (c) => Object.entries(c.payloadIndexes).map(([field, kind]) => `${field} (${kind})`).join(', ');

async function showCollections() {
  const { collections } = await api('/v1/collections');
  $('collections-title').textContent = `Collections of tenant ${me.tenant}`;
  fillTable(
    'collection-list',
    collections.map((c) =>
      row([
        link(c.name, `#/collections/${encodeURIComponent(c.name)}`),
        c.factory,
        c.metric,
        { text: c.dimension, num: true },
        { text: c.count.toLocaleString(), num: true },
        describePayloadIndexes(c),
      ]),
    ),
  );
  show('collections-view');
}

async function showCollection(name) {
  const c = await api(collectionPath(name));
  if (!shownCollection || shownCollection.name !== c.name) {
    $('point-search-vector').value = '';
    $('point-search-filter').value = '';
    $('hits').hidden = true;
    formError('point-search-error', null);
  }
  shownCollection = c;
  $('collection-title').textContent = `Collection ${c.name}`;
  fillTable(
    'collection-props',
    propRows([
      ['Factory', c.factory],
      ['Metric', c.metric],
      ['Dimension', c.dimension],
      ['Points', c.count.toLocaleString()],
      ['Trained', c.isTrained ? 'yes' : 'no'],
      ['Payload indexes', describePayloadIndexes(c) || 'none'],
    ]),
  );
  fillTable('points', []);
  nextPoints = undefined;
  await morePoints();
  show('collection-view');
}

async function morePoints() {
  const body = { limit: POINTS_PAGE, withPayload: true, withVector: true };
  if (nextPoints) body.offset = nextPoints;
  const { points, nextOffset } = await api(`${collectionPath(shownCollection.name)}/points/scroll`, { method: 'POST', json: body });
  $('points').querySelector('tbody').append(
    ...points.map((p) => {
      const use = button('Search with it', () => {
        $('point-search-vector').value = JSON.stringify(p.vector);
        $('point-search-vector').focus();
      });
      return row([p.id, JSON.stringify(p.payload), shortVector(p.vector), use]);
    }),
  );
  nextPoints = nextOffset;
  $('points-next').hidden = nextOffset === null;
}

async function searchPoints() {
  formError('point-search-error', null);
  try {
    let vector;
    let filter;
    try {
      vector = JSON.parse($('point-search-vector').value);
    } catch {
      throw new Error('The query vector is not JSON');
    }
    try {
      filter = $('point-search-filter').value.trim() ? JSON.parse($('point-search-filter').value) : undefined;
    } catch {
      throw new Error('The filter is not JSON');
    }
    const body = { vector, k: Number($('point-search-k').value), withPayload: true };
    if (filter !== undefined) body.filter = filter;
    const { hits } = await api(`${collectionPath(shownCollection.name)}/search`, { method: 'POST', json: body });
    fillTable('hits', hits.map((h, i) => row([{ text: i + 1, num: true }, h.id, { text: String(h.score), num: true }, JSON.stringify(h.payload)])));
    $('hits').hidden = false;
  } catch (e) {
    $('hits').hidden = true;
    formError('point-search-error', e);
  }
}

$('points-next').addEventListener('click', () => morePoints().catch((e) => notify(e.message, true)));
onSubmit('point-search-form', searchPoints);
