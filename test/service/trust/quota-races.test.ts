// Quotas hold under concurrency: a request's share of a quota is reserved in the
// same step as the check, so simultaneous creates, imports and adds cannot all
// pass it; a failed request gives its share back.
import { strict as assert } from 'node:assert';
import { indexFactory, serializeIndex } from '../../../lib';
import { randomVectors } from '../../support/data';
import { openTestServices, type TestServices } from '../../support/services';

const d = 4;
const flat = (name: string) => ({ name, dimension: d, type: 'IndexFlatL2' as const });

function tally(outcomes: PromiseSettledResult<unknown>[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) {
    const k = o.status === 'fulfilled' ? 'ok' : ((o.reason as { code?: string }).code ?? String(o.reason));
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

describe('service: quotas under concurrent requests', function () {
  this.timeout(60_000);
  let s: TestServices;
  beforeEach(async () => {
    s = await openTestServices({ fsync: false });
  });
  afterEach(async () => {
    await s.cleanup();
  });

  it('40 simultaneous creates with maxIndexes 5: 5 created, 35 refused', async () => {
    s.tenants.create('q', { maxIndexes: 5 });
    const outcomes = await Promise.allSettled(Array.from({ length: 40 }, (_, i) => s.indexes.create('q', flat(`i${i}`))));
    assert.deepEqual(tally(outcomes), { ok: 5, ERR_QUOTA_EXCEEDED: 35 });
    assert.equal((await s.indexes.usage('q')).indexes, 5);
  });

  it('simultaneous creates of one name: one index, the others ERR_INDEX_EXISTS', async () => {
    const outcomes = await Promise.allSettled(Array.from({ length: 10 }, () => s.indexes.create('t', flat('same'))));
    assert.deepEqual(tally(outcomes), { ok: 1, ERR_INDEX_EXISTS: 9 });
  });

  it('8 simultaneous imports of 900 vectors with maxVectors 1000: one lands, usage stays within the quota', async () => {
    const ix = indexFactory(d, 'Flat');
    await ix.add(randomVectors(900, d));
    const bytes = await serializeIndex(ix);
    ix.dispose();
    s.tenants.create('v', { maxVectors: 1000 });
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => s.indexes.importIndex('v', `imp${i}`, bytes)));
    assert.deepEqual(tally(outcomes), { ok: 1, ERR_QUOTA_EXCEEDED: 7 });
    assert.equal((await s.indexes.usage('v')).vectors, 900);
  });

  it('simultaneous adds and an import share the vector quota; refused ones give their share back', async () => {
    s.tenants.create('w', { maxVectors: 1000 });
    await s.indexes.create('w', flat('a'));
    const ix = indexFactory(d, 'Flat');
    await ix.add(randomVectors(600, d));
    const bytes = await serializeIndex(ix);
    ix.dispose();
    const outcomes = await Promise.allSettled([
      ...Array.from({ length: 6 }, (_, i) => s.indexes.add('w', 'a', randomVectors(300, d, i))),
      s.indexes.importIndex('w', 'b', bytes),
    ]);
    assert.ok((await s.indexes.usage('w')).vectors <= 1000, `usage ${(await s.indexes.usage('w')).vectors}`);
    assert.ok(tally(outcomes).ok >= 1);
    // Nothing stays reserved: the room left can be used.
    const left = 1000 - (await s.indexes.usage('w')).vectors;
    if (left > 0) await s.indexes.add('w', 'a', randomVectors(left, d));
    assert.equal((await s.indexes.usage('w')).vectors, 1000);
  });
});
