// The cluster's tenant usage record (service/cluster/quota-ledger.ts) as pure
// changes, without NATS: each write counted once (its hold, or its object's
// usage after it), a hold another node's count includes settled by it, refusals
// worded as a single node's, expired holds and deleted objects found.
import { strict as assert } from 'node:assert';
import { applyOps, HOLD_TTL_MS, staleParts, usageOf, type Ledger, type LedgerHold, type LedgerOp } from '../../service/cluster/quota-ledger';
import type { ServiceError } from '../../service/domain/errors';

const quotas = { maxIndexes: 2, maxVectors: 100, maxBytes: 1_000_000, maxTenantMemory: null };
const hold = (id: string, vectors: number, extra: Partial<LedgerHold> = {}): LedgerOp => ({
  kind: 'hold',
  tenant: 't',
  quotas,
  hold: { id, node: 'A', at: 1_000, object: 'i1', indexes: 0, vectors, bytes: vectors * 16, ...extra },
});
const ledger = (vectors: number): Ledger => ({ objects: { i1: { vectors, bytes: vectors * 16, seq: 10, at: 1_000 } }, holds: [] });

describe('cluster quota ledger: the usage record as pure changes', () => {
  it('holds in order until the quota, then refuses with the single-node wording; nothing is changed by a refusal', () => {
    const { next, refusals, changed } = applyOps(ledger(60), [hold('a', 30), hold('b', 20), hold('c', 10)], 2_000);
    assert.equal(changed, true);
    assert.deepEqual(refusals.map((r) => r?.code), [undefined, 'ERR_QUOTA_EXCEEDED', undefined]);
    assert.match((refusals[1] as ServiceError).message, /would exceed its quota of 100 vectors \(it has 90, this adds 20\)/);
    assert.equal(usageOf(next).vectors, 100);
    const refused = applyOps(next, [hold('d', 1)], 2_000);
    assert.equal(refused.changed, false);
    assert.equal(refused.refusals[0]?.code, 'ERR_QUOTA_EXCEEDED');
  });

  it('a write is counted once: its hold, then its object at a sequence that includes it; an older count never replaces a newer one', () => {
    const held = applyOps(ledger(60), [hold('a', 30, { appendId: 'i1:x' })], 2_000).next;
    assert.equal(usageOf(held).vectors, 90);
    // Another node applied i1:x at sequence 11 and counts the object at 12: the hold goes with it.
    const applied = (id: string) => (id === 'i1:x' ? 11 : undefined);
    const settled = applyOps(held, [{ kind: 'settle', object: 'i1', count: { vectors: 95, bytes: 95 * 16, seq: 12 }, applied }], 3_000).next;
    assert.deepEqual(settled.holds, []);
    assert.equal(usageOf(settled).vectors, 95);
    // A count at a sequence before the append does not settle its hold.
    const early = applyOps(held, [{ kind: 'settle', object: 'i1', count: { vectors: 60, bytes: 60 * 16, seq: 10 }, applied: () => 11 }], 3_000).next;
    assert.equal(early.holds.length, 1);
    assert.equal(usageOf(early).vectors, 90);
    // The writing node's own settlement, later and older, changes nothing but its hold.
    const late = applyOps(settled, [{ kind: 'settle', object: 'i1', count: { vectors: 90, bytes: 90 * 16, seq: 11 }, release: 'a' }], 4_000).next;
    assert.equal(late.objects.i1.vectors, 95);
  });

  it('indexes: a create holds one until its object is counted; a forget gives it and its holds back', () => {
    const create = (id: string, object: string) => hold(id, 0, { indexes: 1, bytes: 0, object });
    const { next, refusals } = applyOps(ledger(0), [create('c1', 'i2'), create('c2', 'i3')], 2_000);
    assert.deepEqual(refusals.map((r) => r?.code), [undefined, 'ERR_QUOTA_EXCEEDED']);
    assert.match((refusals[1] as ServiceError).message, /maximum of 2 indexes/);
    const counted = applyOps(next, [{ kind: 'settle', object: 'i2', count: { vectors: 0, bytes: 0, seq: 0 }, release: 'c1' }], 2_000).next;
    assert.equal(usageOf(counted).indexes, 2);
    const forgotten = applyOps(counted, [{ kind: 'forget', object: 'i1' }], 2_000).next;
    assert.deepEqual(usageOf(forgotten), { indexes: 1, vectors: 0, bytes: 0 });
  });

  it('finds expired holds, every object of a first record, and objects the tenant no longer has', () => {
    const now = 100_000;
    const l: Ledger = {
      objects: { i1: { vectors: 1, bytes: 1, seq: 1, at: now }, gone: { vectors: 5, bytes: 5, seq: 1, at: now - HOLD_TTL_MS - 1 }, young: { vectors: 5, bytes: 5, seq: 1, at: now } },
      holds: [
        { id: 'old', node: 'dead', at: now - HOLD_TTL_MS - 1, object: 'i1', indexes: 0, vectors: 3, bytes: 3 },
        { id: 'new', node: 'A', at: now, object: 'i1', indexes: 0, vectors: 3, bytes: 3 },
        { id: 'mk', node: 'A', at: now, object: 'i9', indexes: 1, vectors: 0, bytes: 0 },
      ],
    };
    const later = staleParts(l, ['i1', 'i2', 'i9'], now, false);
    assert.deepEqual([...later.recount], [['i1', ['old']]]);
    assert.deepEqual(later.gone, ['gone']);
    const first = staleParts({ objects: {}, holds: l.holds }, ['i1', 'i2', 'i9'], now, true);
    assert.deepEqual([...first.recount.keys()].sort(), ['i1', 'i2']);
    // Counted again at the head: the expired hold goes, the object's count replaces the record's.
    const next = applyOps(l, [{ kind: 'recount', object: 'i1', count: { vectors: 4, bytes: 4, seq: 3 }, expired: ['old'] }], now).next;
    assert.deepEqual(next.holds.map((h) => h.id), ['new', 'mk']);
    assert.equal(next.objects.i1.vectors, 4);
  });
});
