// Payload indexes (lib/collections/payload-index.ts) are a speed-up only: with
// any fields indexed, of any declared type (matching the values or not), a
// filter selects exactly what the scan selects, through upserts that replace
// payloads, deletes, and indexes declared late or dropped.
import { strict as assert } from 'node:assert';
import { FaissError } from '../../lib';
import { CollectionState } from '../../lib/collections/collection-state';
import { parseFilter } from '../../lib/collections/filter';
import type { Payload, PayloadFieldType } from '../../lib/collections/types';
import { passes, randomFilter, randomPayload, rng } from '../support/collection-data';

const fitting: Record<string, PayloadFieldType> = {
  src: 'keyword',
  n: 'integer',
  score: 'float',
  flag: 'bool',
  date: 'datetime',
  tags: 'keyword',
  'meta.lang': 'keyword',
  'meta.parts[].k': 'keyword',
  missing: 'keyword',
};
// Types that do not fit the values: the index holds few of them and the rest must still be found.
const misfitting: Record<string, PayloadFieldType> = { src: 'integer', n: 'keyword', score: 'datetime', flag: 'float', date: 'keyword', tags: 'bool' };

describe('collections core: payload indexes give the scan\'s answers', () => {
  for (const [name, schema] of [
    ['indexes fitting the values', fitting],
    ['indexes of the wrong types', misfitting],
  ] as const) {
    it(`${name}: 300 random filters, through replacing upserts, deletes and late indexes`, async () => {
      const next = rng(name.length);
      const n = 300;
      const ids = Array.from({ length: n }, (_, i) => `p${i}`);
      const payloads = new Map<string, Payload | null>(ids.map((id) => [id, randomPayload(next) as Payload | null]));
      const scanned = CollectionState.create({ name: 's', dimension: 1 });
      const indexed = CollectionState.create({ name: 'i', dimension: 1, payloadIndexes: schema });
      const both = async (op: Parameters<CollectionState['apply']>[0]) => {
        await scanned.apply(op);
        await indexed.apply(op);
      };
      await both({ type: 'upsert', ids, x: new Float32Array(n), payloads: [...payloads.values()] });
      const check = (rounds: number) => {
        for (let t = 0; t < rounds; t++) {
          const f = randomFilter(next, ids);
          const parsed = parseFilter(f);
          const expected = [...payloads.keys()].filter((id) => passes(f as never, id, payloads.get(id) as never)).sort();
          assert.deepEqual(scanned.matchingIds(parsed).sort(), expected, JSON.stringify(f));
          assert.deepEqual(indexed.matchingIds(parsed).sort(), expected, JSON.stringify(f));
        }
      };
      check(100);
      // Replace a third of the payloads, delete a tenth.
      const replaced = ids.filter(() => next() < 0.3);
      for (const id of replaced) payloads.set(id, randomPayload(next) as Payload | null);
      await both({ type: 'upsert', ids: replaced, x: new Float32Array(replaced.length), payloads: replaced.map((id) => payloads.get(id) ?? null) });
      const deleted = ids.filter(() => next() < 0.1);
      for (const id of deleted) payloads.delete(id);
      await both({ type: 'delete', ids: deleted });
      check(100);
      // An index declared after the points, one dropped.
      await indexed.apply({ type: 'createPayloadIndex', field: 'meta.parts.k', schema: 'keyword' });
      await indexed.apply({ type: 'deletePayloadIndex', field: 'src' });
      assert.equal(indexed.info().payloadIndexes.src, undefined);
      check(100);
      scanned.dispose();
      indexed.dispose();
    });
  }

  it('every condition on a field of mixed values, under each index type, selects what the scan selects', async () => {
    const values: unknown[] = ['a', 'b', 5, 7.5, -2, true, false, null, [], ['a', 7], [null], { x: 1 }, '2024-01-01', '2024-06-01T00:00:00+02:00', [5, 'b', true]];
    const payloads = [...values.map((v) => ({ v }) as Payload), {} as Payload, null];
    const ids = payloads.map((_, i) => `p${i}`);
    const conditions: unknown[] = [];
    for (const value of ['a', 'b', 5, 7, -2, true, false, '2024-01-01']) conditions.push({ key: 'v', match: { value } });
    for (const list of [[], ['a'], ['a', 'b'], [5], [5, 7.5], ['a', 5], ['2024-01-01']]) {
      conditions.push({ key: 'v', match: { any: list } }, { key: 'v', match: { except: list } });
    }
    for (const range of [{ gt: 0 }, { gte: -2, lt: 7.5 }, { lte: 5 }, { gt: '2023-12-31' }, { lt: '2024-05-31T23:00:00Z' }]) conditions.push({ key: 'v', range });
    conditions.push({ is_null: { key: 'v' } }, { is_empty: { key: 'v' } });
    const scanned = CollectionState.create({ name: 's', dimension: 1 });
    await scanned.apply({ type: 'upsert', ids, x: new Float32Array(ids.length), payloads });
    for (const type of ['keyword', 'integer', 'float', 'bool', 'datetime'] as const) {
      const indexed = CollectionState.create({ name: 'i', dimension: 1, payloadIndexes: { v: type } });
      await indexed.apply({ type: 'upsert', ids, x: new Float32Array(ids.length), payloads });
      for (const c of conditions) {
        for (const f of [{ must: [c] }, { must_not: [c] }, { should: [c, { has_id: ['p0'] }] }]) {
          const parsed = parseFilter(f);
          const expected = ids.filter((id, i) => passes(f as never, id, payloads[i] as never));
          assert.deepEqual(scanned.matchingIds(parsed), expected, `scan: ${JSON.stringify(f)}`);
          assert.deepEqual(indexed.matchingIds(parsed), expected, `${type} index: ${JSON.stringify(f)}`);
        }
      }
      indexed.dispose();
    }
    scanned.dispose();
  });

  it('a numeric index answers ranges over integers and floats alike, and keeps a value shared by several points', async () => {
    const s = CollectionState.create({ name: 'r', dimension: 1, payloadIndexes: { v: 'integer' } });
    const values = [1, 2, 2, 2.5, 3, -1, 1e9];
    await s.apply({ type: 'upsert', ids: values.map((_, i) => `p${i}`), x: new Float32Array(values.length), payloads: values.map((v) => ({ v })) });
    const ids = (range: object) => s.matchingIds(parseFilter({ must: [{ key: 'v', range }] }));
    assert.deepEqual(ids({ gt: 1, lte: 2.5 }), ['p1', 'p2', 'p3']);
    assert.deepEqual(ids({ gte: 2, lt: 2 }), []);
    assert.deepEqual(ids({ gt: 2, gte: 2.5 }), ['p3', 'p4', 'p6']);
    await s.apply({ type: 'delete', ids: ['p1'] });
    assert.deepEqual(s.matchingIds(parseFilter({ must: [{ key: 'v', match: { value: 2 } }] })), ['p2']);
    s.dispose();
  });

  it('deleting a payload index that does not exist is ERR_NOT_FOUND; declaring one again with another type rebuilds it', async () => {
    const s = CollectionState.create({ name: 'd', dimension: 1, payloadIndexes: { a: 'keyword' } });
    await assert.rejects(s.apply({ type: 'deletePayloadIndex', field: 'b' }), (e: unknown) => e instanceof FaissError && e.code === 'ERR_NOT_FOUND');
    await s.apply({ type: 'upsert', ids: ['x', 'y'], x: new Float32Array(2), payloads: [{ a: 5 }, { a: '5' }] });
    await s.apply({ type: 'createPayloadIndex', field: 'a', schema: 'integer' });
    assert.deepEqual(s.info().payloadIndexes, { a: 'integer' });
    assert.deepEqual(s.matchingIds(parseFilter({ must: [{ key: 'a', match: { value: 5 } }] })), ['x']);
    s.dispose();
  });
});
