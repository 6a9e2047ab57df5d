// Filters are evaluated to label bitmaps (lib/collections/label-bitmap.ts): the
// bitmap's operations against a Set of labels, over frames that start anywhere
// (an old collection's oldest live point has a label far from 0); the selector
// made from one (IDSelectorBitmap from label 0, or IDSelectorBatch when sparse);
// and the evaluation of random filters over points whose labels have gaps and a
// frame past 0, against the brute-force evaluator of test/support, with payload
// indexes and without.
import { strict as assert } from 'node:assert';
import { FaissError, IDSelector } from '../../lib';
import { CollectionState } from '../../lib/collections/collection-state';
import { parseFilter } from '../../lib/collections/filter';
import { LabelBitmap, MAX_FRAME_LABELS, frameOf } from '../../lib/collections/label-bitmap';
import { selectorOf } from '../../lib/collections/planner';
import type { Payload, PayloadFieldType } from '../../lib/collections/types';
import { passes, randomFilter, randomPayload, rng } from '../support/collection-data';

const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);

describe('collections: label bitmaps', () => {
  it('and, or, and-not, count, has, labels and last agree with sets of labels, over frames starting anywhere', () => {
    const next = rng(7);
    for (let t = 0; t < 120; t++) {
      const first = [0, 1, 31, 32, 1000, 2 ** 32 + 5, 2 ** 40 + 3][t % 7];
      const span = 1 + Math.floor(next() * (t % 2 === 0 ? 70 : 5000));
      const frame = frameOf(first, first + span - 1);
      assert.equal(frame.base % 32, 0);
      assert.ok(frame.base <= first && frame.base + 32 * frame.words >= first + span);
      const randomSet = () => {
        const density = [0, 0.01, 0.3, 1][Math.floor(next() * 4)];
        const s = new Set<number>();
        for (let i = 0; i < span; i++) if (next() < density) s.add(first + i);
        return s;
      };
      const a = randomSet();
      const b = randomSet();
      const bitmap = (s: Set<number>) => (next() < 0.5 ? new LabelBitmap(frame).addAll(Float64Array.from(s)) : new LabelBitmap(frame).addEach(s));
      const check = (got: LabelBitmap, want: Set<number>, what: string) => {
        const labels = sorted(want);
        assert.deepEqual([...got.labels()], labels, `${what}, case ${t}`);
        assert.equal(got.count, want.size, `${what} count, case ${t}`);
        assert.equal(got.last(), labels.length === 0 ? -1 : labels[labels.length - 1], `${what} last, case ${t}`);
        const seen: number[] = [];
        got.forEach((l) => seen.push(l));
        assert.deepEqual(seen, labels);
        for (const probe of [first - 1, first, first + span - 1, first + span, frame.base + 32 * frame.words, labels[0] ?? first]) {
          assert.equal(got.has(probe), want.has(probe), `${what} has ${probe}, case ${t}`);
        }
      };
      check(bitmap(a), a, 'a');
      check(bitmap(a).and(bitmap(b)), new Set([...a].filter((l) => b.has(l))), 'a and b');
      check(bitmap(a).or(bitmap(b)), new Set([...a, ...b]), 'a or b');
      check(bitmap(a).andNot(bitmap(b)), new Set([...a].filter((l) => !b.has(l))), 'a and not b');
      const kept = bitmap(a);
      const copy = kept.copy().or(bitmap(b));
      check(kept, a, 'a after a copy of it changed');
      check(copy, new Set([...a, ...b]), 'the copy');
    }
  });

  it('FAISS\'s bitmap from label 0: bit (l & 7) of byte l >> 3, from frames at 0 and past it', () => {
    for (const first of [0, 64, 1000, 4096]) {
      const labels = [first, first + 3, first + 31, first + 32, first + 77, first + 200];
      const bm = new LabelBitmap(frameOf(first, first + 250)).addAll(labels);
      const bytes = Math.floor((first + 200) / 8) + 1;
      const bits = bm.bitmapBytes(bytes);
      assert.equal(bits.length, bytes);
      const set: number[] = [];
      for (let l = 0; l < bytes * 8; l++) if (bits[l >> 3] & (1 << (l & 7))) set.push(l);
      assert.deepEqual(set, labels);
    }
  });

  it('a frame wider than MAX_FRAME_LABELS is ERR_RESOURCE_LIMIT; an empty one holds nothing', () => {
    assert.throws(() => frameOf(5, 5 + MAX_FRAME_LABELS), (e: unknown) => e instanceof FaissError && e.code === 'ERR_RESOURCE_LIMIT');
    assert.deepEqual(frameOf(0, MAX_FRAME_LABELS - 1), { base: 0, words: MAX_FRAME_LABELS / 32 });
    const none = new LabelBitmap(frameOf(0, -1));
    assert.equal(none.count, 0);
    assert.equal(none.has(0), false);
    assert.equal(none.last(), -1);
  });

  it('the selector of a bitmap selects its labels: a bitmap from label 0 when dense, a batch of ids when sparse', () => {
    // 375 bytes of bitmap against 64 bytes an id in a batch.
    const chosen = [96, 100, 101, 700, 1200, 1500, 2000, 2500, 2998, 2999];
    const dense = new LabelBitmap(frameOf(96, 3000)).addAll(chosen);
    const term = IDSelector.termOf(selectorOf(dense));
    assert.equal(term.kind, 'bitmap');
    const bits = (term as { bits: Uint8Array }).bits;
    assert.equal(bits.length, Math.floor(2999 / 8) + 1);
    const set: number[] = [];
    for (let l = 0; l < bits.length * 8; l++) if (bits[l >> 3] & (1 << (l & 7))) set.push(l);
    assert.deepEqual(set, chosen);
    // One label near 2^40: a bitmap from 0 would be 128 GiB.
    const sparse = new LabelBitmap(frameOf(2 ** 40, 2 ** 40 + 100)).addAll([2 ** 40 + 7, 2 ** 40 + 99]);
    const batch = IDSelector.termOf(selectorOf(sparse));
    assert.equal(batch.kind, 'batch');
    assert.deepEqual([...(batch as { ids: BigInt64Array }).ids], [2n ** 40n + 7n, 2n ** 40n + 99n]);
  });
});

describe('collections: filters evaluated to bitmaps select what the brute-force evaluator selects', () => {
  const schema: Record<string, PayloadFieldType> = { src: 'keyword', n: 'integer', score: 'float', flag: 'bool', date: 'datetime', tags: 'keyword', 'meta.lang': 'keyword' };
  it('1,500 points replaced and deleted until the oldest live label is past 0 and labels have gaps: 100 random filters, indexed and scanned', async () => {
    const next = rng(18);
    const n = 1500;
    const ids = Array.from({ length: n }, (_, i) => `p${i}`);
    const payloads = new Map<string, Payload | null>();
    const scanned = CollectionState.create({ name: 's', dimension: 1 });
    const indexed = CollectionState.create({ name: 'i', dimension: 1, payloadIndexes: schema });
    const upsert = async (some: string[]) => {
      for (const id of some) payloads.set(id, randomPayload(next) as Payload | null);
      const op = { type: 'upsert' as const, ids: some, x: new Float32Array(some.length), payloads: some.map((id) => payloads.get(id) ?? null) };
      await scanned.apply(op);
      await indexed.apply(op);
    };
    await upsert(ids);
    // The first 100 points replaced (their labels now past 2,000), a random third replaced, a tenth deleted.
    await upsert(ids.slice(0, 100));
    await upsert(ids.filter(() => next() < 0.3));
    const deleted = ids.filter(() => next() < 0.1);
    for (const id of deleted) payloads.delete(id);
    await scanned.apply({ type: 'delete', ids: deleted });
    await indexed.apply({ type: 'delete', ids: deleted });
    const live = [...payloads.keys()];
    for (let t = 0; t < 100; t++) {
      const f = randomFilter(next, live);
      const parsed = parseFilter(f);
      const expected = live.filter((id) => passes(f as never, id, payloads.get(id) as never)).sort();
      for (const [state, name] of [
        [scanned, 'scanned'],
        [indexed, 'indexed'],
      ] as const) {
        assert.deepEqual(state.matchingIds(parsed).sort(), expected, `${name}: ${JSON.stringify(f)}`);
        assert.equal(state.count(parsed), expected.length, `${name} count: ${JSON.stringify(f)}`);
      }
    }
    scanned.dispose();
    indexed.dispose();
  });
});
