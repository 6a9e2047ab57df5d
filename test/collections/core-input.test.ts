// The validators every implementation shares (lib/collections/input.ts): each
// bad input is a FaissError with a stable code naming what is wrong, and a good
// one comes back normalised (repeated ids: the last wins; payloads copied).
import { strict as assert } from 'node:assert';
import { FaissError } from '../../lib';
import { collectionLimitsArg } from '../../lib/collections/limits';
import { idsArg, pointsInput, scrollOptionsInput, searchOptionsInput, specInput } from '../../lib/collections/input';

const limits = { maxPayloadBytes: 100 };
const point = (o: object = {}) => ({ id: 'a', vector: [1, 2], ...o });

function fails(run: () => unknown, code: string, says: RegExp): void {
  assert.throws(run, (e: unknown) => {
    assert.ok(e instanceof FaissError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, says);
    return true;
  });
}

describe('collections core: input validation', () => {
  const cycle: Record<string, unknown> = {};
  cycle.self = cycle;
  const pointsTable: [string, unknown, string, RegExp][] = [
    ['not an array', { id: 'a' }, 'ERR_INVALID_ARGUMENT', /points/],
    ['a point not an object', [5], 'ERR_INVALID_ARGUMENT', /points\[0\]/],
    ['an unknown key', [point({ score: 1 })], 'ERR_INVALID_ARGUMENT', /only the keys id, vector and payload/],
    ['an empty id', [point({ id: '' })], 'ERR_INVALID_ARGUMENT', /points\[0\]\.id: .*empty/],
    ['an id of 257 bytes', [point({ id: 'x'.repeat(257) })], 'ERR_INVALID_ARGUMENT', /257/],
    ['a number id', [point({ id: 5 })], 'ERR_INVALID_ARGUMENT', /points\[0\]\.id/],
    ['an id with a lone surrogate', [point({ id: 'a\uD800' })], 'ERR_INVALID_ARGUMENT', /lone surrogate/],
    ['a short vector', [point({ vector: [1] })], 'ERR_DIMENSION', /expected 2 values/],
    ['a long Float32Array', [point({ vector: new Float32Array(3) })], 'ERR_DIMENSION', /expected 2 values/],
    ['a NaN in the vector', [point({ vector: [1, NaN] })], 'ERR_INVALID_ARGUMENT', /vector\[1\]/],
    ['a vector of strings', [point({ vector: ['1', '2'] })], 'ERR_INVALID_ARGUMENT', /a finite number/],
    ['a payload array', [point({ payload: [1] })], 'ERR_INVALID_ARGUMENT', /a JSON object/],
    ['a payload string', [point({ payload: '{}' })], 'ERR_INVALID_ARGUMENT', /a JSON object/],
    ['a payload with a function', [point({ payload: { f: () => 1 } })], 'ERR_INVALID_ARGUMENT', /payload\.f/],
    ['a payload with undefined', [point({ payload: { u: undefined } })], 'ERR_INVALID_ARGUMENT', /payload\.u/],
    ['a payload with Infinity', [point({ payload: { n: [Infinity] } })], 'ERR_INVALID_ARGUMENT', /payload\.n\[0\]/],
    ['a payload with a Date', [point({ payload: { d: new Date(0) } })], 'ERR_INVALID_ARGUMENT', /payload\.d/],
    ['a payload with a bigint', [point({ payload: { b: 1n } })], 'ERR_INVALID_ARGUMENT', /payload\.b/],
    ['a payload over the limit', [point({ payload: { text: 'x'.repeat(100) } })], 'ERR_PAYLOAD_TOO_LARGE', /at most 100/],
    ['a payload over the limit in UTF-8 only', [point({ payload: { t: 'é'.repeat(47) } })], 'ERR_PAYLOAD_TOO_LARGE', /is 102 bytes/],
  ];
  for (const [name, points, code, says] of pointsTable) it(`points: ${name} → ${code}`, () => fails(() => pointsInput(points, 2, limits), code, says));

  it('points: a payload with a cycle, or nested past 64, is ERR_INVALID_ARGUMENT (not a stack overflow)', () => {
    fails(() => pointsInput([point({ payload: cycle })], 2, { maxPayloadBytes: 1e6 }), 'ERR_INVALID_ARGUMENT', /nested at most 64/);
    let deep: unknown = 1;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    fails(() => pointsInput([point({ payload: { deep } })], 2, { maxPayloadBytes: 1e7 }), 'ERR_INVALID_ARGUMENT', /nested at most 64/);
  });

  it('points: a getter that throws is ERR_INVALID_ARGUMENT', () => {
    const p = {
      id: 'a',
      get vector(): number[] {
        throw new Error('boom');
      },
    };
    fails(() => pointsInput([p], 2, limits), 'ERR_INVALID_ARGUMENT', /boom/);
  });

  it('points: a repeated id keeps its last occurrence, in that place; payloads are copied and sized', () => {
    const payload = { t: 'é' };
    const got = pointsInput([point({ id: 'a', payload }), point({ id: 'b', vector: [3, 4] }), point({ id: 'a', vector: [5, 6], payload })], 2, limits);
    payload.t = 'changed';
    assert.deepEqual(got.ids, ['b', 'a']);
    assert.deepEqual([...got.x], [3, 4, 5, 6]);
    assert.deepEqual(got.payloads, [null, { t: 'é' }]);
    assert.deepEqual(got.payloadBytes, [0, Buffer.byteLength('{"t":"é"}')]);
  });

  it('points: a payload of exactly the limit passes', () => {
    const text = 'x'.repeat(100 - '{"t":""}'.length);
    assert.equal(pointsInput([point({ payload: { t: text } })], 2, limits).payloadBytes[0], 100);
  });

  const specTable: [string, unknown, RegExp][] = [
    ['not an object', 'c', /spec/],
    ['no name', { dimension: 2 }, /spec\.name/],
    ['a name with a slash', { name: 'a/b', dimension: 2 }, /spec\.name/],
    ['a name of 65 characters', { name: 'a'.repeat(65), dimension: 2 }, /spec\.name/],
    ['dimension 0', { name: 'c', dimension: 0 }, /for d /],
    ['an unknown metric', { name: 'c', dimension: 2, metric: 'cosine' }, /spec\.metric/],
    ['an empty factory', { name: 'c', dimension: 2, factory: '' }, /spec\.factory/],
    ['an unknown payload index type', { name: 'c', dimension: 2, payloadIndexes: { a: 'text' } }, /payloadIndexes\["a"\]/],
    ['an empty payload index field', { name: 'c', dimension: 2, payloadIndexes: { '': 'keyword' } }, /payloadIndexes key/],
    ['an unknown key', { name: 'c', dimension: 2, replicas: 2 }, /only the keys/],
  ];
  for (const [name, spec, says] of specTable) it(`spec: ${name} → ERR_INVALID_ARGUMENT`, () => fails(() => specInput(spec), 'ERR_INVALID_ARGUMENT', says));

  it('spec: defaults filled in', () => {
    assert.deepEqual(specInput({ name: 'c', dimension: 3 }), { name: 'c', dimension: 3, factory: 'Flat', metric: 'l2', payloadIndexes: {} });
  });

  it('options: search, scroll, ids and limits', () => {
    fails(() => searchOptionsInput({ filters: {} }), 'ERR_INVALID_ARGUMENT', /only the keys/);
    fails(() => searchOptionsInput({ withPayload: 'yes' }), 'ERR_INVALID_ARGUMENT', /withPayload/);
    fails(() => searchOptionsInput({ nprobe: 0 }), 'ERR_INVALID_ARGUMENT', /nprobe/);
    fails(() => searchOptionsInput({ filter: { must: [{ key: 'a' }] } }), 'ERR_INVALID_FILTER', /^filter\.must\[0\]/);
    fails(() => scrollOptionsInput({ limit: 10_001 }), 'ERR_INVALID_ARGUMENT', /options\.limit/);
    fails(() => scrollOptionsInput({ offset: '' }), 'ERR_INVALID_ARGUMENT', /options\.offset/);
    fails(() => idsArg(['a', 3]), 'ERR_INVALID_ARGUMENT', /ids\[1\]/);
    fails(() => collectionLimitsArg({ maxPayloadBytes: 0 }), 'ERR_INVALID_ARGUMENT', /maxPayloadBytes/);
    assert.deepEqual(scrollOptionsInput(undefined), { withPayload: true, withVector: false, limit: 100, offset: null });
    assert.deepEqual(searchOptionsInput({ withVector: true, efSearch: 32 }), { withPayload: true, withVector: true, efSearch: 32 });
    assert.deepEqual(collectionLimitsArg(undefined), { maxPayloadBytes: 65_536 });
  });
});
