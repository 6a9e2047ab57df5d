// The filter language (lib/collections/filter.ts, match.ts): every way a filter
// can be wrong is ERR_INVALID_FILTER naming the offending path, and the points a
// valid filter selects are those a brute-force evaluator written from the
// documentation selects, over random payloads (seeded, bounded).
import { strict as assert } from 'node:assert';
import { FaissError } from '../../lib';
import { parseFilter } from '../../lib/collections/filter';
import { CollectionState } from '../../lib/collections/collection-state';
import { datetimeOf } from '../../lib/collections/datetime';
import { passes, randomFilter, randomPayload, rng } from '../support/collection-data';

function rejects(filter: unknown, path: string, says: RegExp): void {
  assert.throws(
    () => parseFilter(filter),
    (e: unknown) => {
      assert.ok(e instanceof FaissError, String(e));
      assert.equal(e.code, 'ERR_INVALID_FILTER', e.message);
      assert.ok(e.message.startsWith(`${path}:`), `${e.message} should name ${path}`);
      assert.match(e.message, says);
      return true;
    },
  );
}

describe('collections core: filter parsing', () => {
  const deep = (n: number): unknown => (n === 0 ? { key: 'a', match: { value: 1 } } : { must: [deep(n - 1)] });
  const table: [string, unknown, string, RegExp][] = [
    ['not an object', 'x', 'filter', /expected a filter object/],
    ['an array', [], 'filter', /expected a filter object/],
    ['null', null, 'filter', /expected a filter object/],
    ['unknown top-level key', { must: [], filter: [] }, 'filter.filter', /unknown key/],
    ['min_should (not supported)', { min_should: {} }, 'filter.min_should', /unknown key/],
    ['condition not an object', { must: [1] }, 'filter.must[0]', /expected a condition object/],
    ['unknown condition', { should: { nested: {} } }, 'filter.should.nested', /unknown condition/],
    ['two conditions in one object', { must: [{ is_null: { key: 'a' }, has_id: [] }] }, 'filter.must[0]', /unknown condition with keys/],
    ['key not a string', { must: [{ key: 5, match: { value: 1 } }] }, 'filter.must[0].key', /expected a payload field path/],
    ['empty key', { must: [{ key: '', match: { value: 1 } }] }, 'filter.must[0].key', /empty/],
    ['empty key segment', { must: [{ key: 'a..b', match: { value: 1 } }] }, 'filter.must[0].key', /empty segment/],
    ['key too long', { must: [{ key: 'a'.repeat(257), match: { value: 1 } }] }, 'filter.must[0].key', /at most 256 bytes/],
    ['match and range', { must: [{ key: 'a', match: { value: 1 }, range: { gt: 1 } }] }, 'filter.must[0]', /exactly one of match or range/],
    ['neither match nor range', { must: [{ key: 'a' }] }, 'filter.must[0]', /exactly one of match or range/],
    ['unknown field-condition key (geo)', { must: [{ key: 'a', geo_radius: {} }] }, 'filter.must[0].geo_radius', /unknown key/],
    ['unknown match', { must: [{ key: 'a', match: { text: 'x' } }] }, 'filter.must[0].match.text', /unknown match/],
    ['match with two operators', { must: [{ key: 'a', match: { value: 1, any: [1] } }] }, 'filter.must[0].match', /exactly one/],
    ['match.value an object', { must: [{ key: 'a', match: { value: {} } }] }, 'filter.must[0].match.value', /a string, a finite number or a boolean/],
    ['match.value null', { must: [{ key: 'a', match: { value: null } }] }, 'filter.must[0].match.value', /a string, a finite number or a boolean/],
    ['match.value NaN', { must: [{ key: 'a', match: { value: NaN } }] }, 'filter.must[0].match.value', /finite/],
    ['match.any not an array', { must: [{ key: 'a', match: { any: 'x' } }] }, 'filter.must[0].match.any', /expected an array/],
    ['match.any of a boolean', { must: [{ key: 'a', match: { any: ['x', true] } }] }, 'filter.must[0].match.any[1]', /string or a finite number/],
    ['match.except of null', { must: [{ key: 'a', match: { except: [null] } }] }, 'filter.must[0].match.except[0]', /string or a finite number/],
    ['range not an object', { must: [{ key: 'a', range: 5 }] }, 'filter.must[0].range', /expected \{ gt/],
    ['empty range', { must: [{ key: 'a', range: {} }] }, 'filter.must[0].range', /at least one/],
    ['unknown range bound', { must: [{ key: 'a', range: { gt: 1, eq: 2 } }] }, 'filter.must[0].range.eq', /unknown key/],
    ['range bound a word', { must: [{ key: 'a', range: { gt: 'soon' } }] }, 'filter.must[0].range.gt', /a number or an ISO 8601 date-time/],
    ['range bound an impossible date', { must: [{ key: 'a', range: { gt: '2024-02-30' } }] }, 'filter.must[0].range.gt', /ISO 8601/],
    ['range bound a boolean', { must: [{ key: 'a', range: { lt: true } }] }, 'filter.must[0].range.lt', /ISO 8601/],
    ['range mixing numbers and dates', { must: [{ key: 'a', range: { gt: 1, lt: '2024-01-01' } }] }, 'filter.must[0].range.lt', /all numbers or all date-times/],
    ['is_null without key', { must: [{ is_null: {} }] }, 'filter.must[0].is_null.key', /expected a payload field path/],
    ['is_null with another key', { must: [{ is_null: { key: 'a', x: 1 } }] }, 'filter.must[0].is_null.x', /unknown key/],
    ['is_empty not an object', { must: [{ is_empty: 'a' }] }, 'filter.must[0].is_empty', /expected \{ "key"/],
    ['has_id not an array', { must: [{ has_id: 'p1' }] }, 'filter.must[0].has_id', /expected an array/],
    ['has_id of a number', { must: [{ has_id: ['p1', 2] }] }, 'filter.must[0].has_id[1]', /point id/],
    ['has_id of an empty id', { must: [{ has_id: [''] }] }, 'filter.must[0].has_id[0]', /empty/],
    ['has_id of a 257-byte id', { must: [{ has_id: ['é'.repeat(129)] }] }, 'filter.must[0].has_id[0]', /258/],
    ['nested error path', { should: [{ must_not: [{ key: 'a', range: { gt: 'x' } }] }] }, 'filter.should[0].must_not[0].range.gt', /ISO 8601/],
    ['nested filter with an extra key', { must: [{ must: [], key: 'a' }] }, 'filter.must[0].key', /unknown key/],
    ['too deep', deep(33), 'filter' + '.must[0]'.repeat(32), /deeper than 32/],
    ['too many conditions', { must: Array.from({ length: 1001 }, () => ({ is_null: { key: 'a' } })) }, 'filter.must[1000]', /at most 1000 conditions/],
    ['too many values', { must: [{ has_id: Array(60_000).fill('x') }, { key: 'a', match: { any: Array(40_001).fill(1) } }] }, 'filter.must[1].match.any', /at most 100000 values/],
  ];
  for (const [name, filter, path, says] of table) it(`${name}: ERR_INVALID_FILTER at ${path}`, () => rejects(filter, path, says));

  it('a getter that throws is ERR_INVALID_FILTER, not a crash', () => {
    const evil = {
      get must(): unknown {
        throw new Error('boom');
      },
    };
    rejects(evil, 'filter', /could not be read \(boom\)/);
  });

  it('names the filter as the caller says (where)', () => {
    assert.throws(() => parseFilter({ must: 1 }, 'body.filter'), /^FaissError: body\.filter\.must: /);
  });

  it('accepts the limits themselves (32 deep, 1000 conditions, 100000 values)', () => {
    parseFilter(deep(32));
    parseFilter({ must: Array.from({ length: 1000 }, () => ({ is_null: { key: 'a' } })) });
    parseFilter({ must: [{ has_id: Array(100_000).fill('x') }] });
  });

  it('reads ISO 8601 date-times as instants (zones, fractions, date only; UTC without a zone)', () => {
    assert.equal(datetimeOf('2024-01-01'), Date.UTC(2024, 0, 1));
    assert.equal(datetimeOf('2024-01-01T01:00:00+01:00'), Date.UTC(2024, 0, 1));
    assert.equal(datetimeOf('2024-01-01 00:00:00.250Z'), Date.UTC(2024, 0, 1) + 250);
    assert.equal(datetimeOf('0099-01-01'), Date.parse('0099-01-01T00:00:00Z'));
    assert.equal(datetimeOf('2023-02-29'), undefined);
    assert.equal(datetimeOf('2024-02-29'), Date.UTC(2024, 1, 29));
    assert.equal(datetimeOf('2024-01-01T24:00:00Z'), undefined);
    assert.equal(datetimeOf('Mon, 01 Jan 2024'), undefined);
  });
});

describe('collections core: filter semantics against a brute-force evaluator', () => {
  const next = rng(18);
  const n = 400;
  const ids = Array.from({ length: n }, (_, i) => `p${i}`);
  const payloads = ids.map(() => randomPayload(next));
  let state: CollectionState;

  before(async () => {
    state = CollectionState.create({ name: 'f', dimension: 2 });
    await state.apply({ type: 'upsert', ids, x: new Float32Array(n * 2), payloads: payloads as never });
  });
  after(() => state.dispose());

  it('400 random filters select what the evaluator selects (scan, no payload index)', () => {
    let nonTrivial = 0;
    for (let t = 0; t < 400; t++) {
      const f = randomFilter(next, ids);
      const expected = ids.filter((id, i) => passes(f as never, id, payloads[i]));
      const got = state.matchingIds(parseFilter(f));
      assert.deepEqual([...got].sort(), [...expected].sort(), JSON.stringify(f));
      assert.equal(state.count(parseFilter(f)), expected.length);
      if (expected.length > 0 && expected.length < n) nonTrivial++;
    }
    assert.ok(nonTrivial > 80, `only ${nonTrivial} filters selected some but not all points`);
  });

  const at = (i: number) => ({ id: ids[i], payload: payloads[i] });
  const cases: [string, unknown, (p: { id: string; payload: unknown }) => boolean][] = [
    ['match.value on an array field matches any element', { must: [{ key: 'tags', match: { value: 'a' } }] }, (p) => ((p.payload as { tags?: unknown })?.tags as string[] | undefined)?.includes?.('a') === true],
    ['an empty filter selects every point', {}, () => true],
    ['an empty nested filter imposes nothing', { must: [{}, { should: [{}] }] }, () => true],
    ['should: [] imposes nothing', { should: [] }, () => true],
    ['nested arrays of objects: meta.parts[].k', { must: [{ key: 'meta.parts[].k', match: { value: 'c' } }] }, (p) => ((p.payload as { meta?: { parts?: { k: string }[] } })?.meta?.parts ?? []).some((x) => x.k === 'c')],
  ];
  for (const [name, filter, expect] of cases) {
    it(name, () => {
      const expected = ids.filter((_, i) => expect(at(i)));
      assert.deepEqual([...state.matchingIds(parseFilter(filter))].sort(), expected.sort());
      assert.ok(expected.length > 0);
    });
  }

  it('has_id selects the existing ids among those given; unknown ids select nothing', () => {
    assert.deepEqual(state.matchingIds(parseFilter({ must: [{ has_id: ['p3', 'nope', 'p1'] }] })), ['p1', 'p3']);
  });

  it('a range on numbers skips strings, a date range skips numbers and non-dates', async () => {
    const s = CollectionState.create({ name: 'r', dimension: 1 });
    const points = { a: { v: 5 }, b: { v: '5' }, c: { v: '2024-05-01T00:00:00Z' }, d: { v: 'May 1st' }, e: { v: [1, '2024-07-01'] } };
    await s.apply({ type: 'upsert', ids: Object.keys(points), x: new Float32Array(5), payloads: Object.values(points) });
    assert.deepEqual(s.matchingIds(parseFilter({ must: [{ key: 'v', range: { gte: 1, lte: 5 } }] })), ['a', 'e']);
    assert.deepEqual(s.matchingIds(parseFilter({ must: [{ key: 'v', range: { gt: '2024-01-01' } }] })), ['c', 'e']);
    assert.deepEqual(s.matchingIds(parseFilter({ must: [{ key: 'v', range: { lt: '2024-06-01T00:00:00+02:00' } }] })), ['c']);
    s.dispose();
  });

  it('is_null: present and null; is_empty: missing, null or []; except: a value other than these', async () => {
    const s = CollectionState.create({ name: 'n', dimension: 1 });
    const points: Record<string, unknown> = { missing: {}, null: { v: null }, empty: { v: [] }, one: { v: 'x' }, two: { v: ['x', 'y'] }, none: null };
    await s.apply({ type: 'upsert', ids: Object.keys(points), x: new Float32Array(6), payloads: Object.values(points) as never });
    const ids = (f: unknown) => s.matchingIds(parseFilter(f)).sort();
    assert.deepEqual(ids({ must: [{ is_null: { key: 'v' } }] }), ['null']);
    assert.deepEqual(ids({ must: [{ is_empty: { key: 'v' } }] }), ['empty', 'missing', 'none', 'null']);
    assert.deepEqual(ids({ must: [{ key: 'v', match: { except: ['x'] } }] }), ['two']);
    assert.deepEqual(ids({ must_not: [{ key: 'v', match: { value: 'x' } }] }), ['empty', 'missing', 'none', 'null']);
    s.dispose();
  });
});
