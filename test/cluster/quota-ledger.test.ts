// The cluster's tenant usage record (service/cluster/quota-ledger.ts) as pure
// changes, without NATS: each write counted once (its hold, or its object's
// usage after it), a hold another node's count includes settled by it, refusals
// worded as a single node's, expired holds and deleted objects found.
import { strict as assert } from 'node:assert';
import { applyOps, HOLD_TTL_MS, staleParts, usageOf, type Ledger, type LedgerHold, type LedgerOp } from '../../service/cluster/quota-ledger';
import type { ServiceError } from '../../service/domain/errors';
import { LocalLease, type LeaseState } from '../../service/cluster/quota-lease';

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

describe('cluster quota leases: a node spends a slice of the room with no change of the record each', () => {
  const lq = { maxIndexes: 10, maxVectors: 1_000, maxBytes: 1_000_000, maxTenantMemory: null };
  const state = (extra: Partial<LeaseState> = {}): LeaseState => ({
    id: 'L',
    node: 'A',
    object: 'i1',
    known: false,
    free: { vectors: 0, bytes: 0 },
    charged: { vectors: 0, bytes: 0 },
    failed: [],
    needs: [],
    giveBack: false,
    ...extra,
  });
  const need = (id: string, vectors: number, mayWait = true) => ({ id, at: 1_000, vectors, bytes: vectors * 16, appendId: `i1:${id}`, mayWait });
  const leaseOp = (s: LeaseState): LedgerOp => ({ kind: 'lease', tenant: 't', quotas: lq, lease: s });
  const entry = (l: Ledger, id = 'L') => l.holds.find((h) => h.id === id && h.lease);

  it('far from the limit a write is granted with a free part (1/8 of the room left, at most 64 writes like it), counted in the check, not in usage', () => {
    const { next, leases } = applyOps(ledger(0), [leaseOp(state({ needs: [need('w', 10)] }))], 2_000);
    const r = leases[0]!;
    assert.deepEqual(r.grants, ['lease']);
    // 1000 - 10 left: 123 of it (1/8); bytes: 64 writes of 160.
    assert.deepEqual(r.free, { vectors: 123, bytes: 64 * 160 });
    assert.equal(entry(next)?.vectors, 133);
    assert.equal(usageOf(next).vectors, 133);
    assert.equal(usageOf(next, false).vectors, 0);
    // Counted writes leave it with their object's count: nothing counted twice.
    const known = state({ known: true, free: r.free, charged: { vectors: 5, bytes: 80 } });
    const rolled = applyOps(next, [leaseOp({ ...known, counted: { ids: ['w'], count: { vectors: 10, bytes: 160, seq: 12 }, amount: { vectors: 10, bytes: 160 } } })], 3_000).next;
    assert.equal(rolled.objects.i1.vectors, 10);
    assert.equal(entry(rolled)?.vectors, 5 + 123);
    assert.equal(entry(rolled)?.at, 3_000, 'renewed');
    // Given back: only what is spent and not counted stays; nothing at all: the lease goes.
    assert.equal(entry(applyOps(rolled, [leaseOp({ ...known, giveBack: true })], 4_000).next)?.vectors, 5);
    assert.equal(entry(applyOps(rolled, [leaseOp({ ...known, charged: { vectors: 0, bytes: 0 }, giveBack: true })], 4_000).next), undefined);
  });

  it('near the limit a write takes a hold of its own; past it, it is refused as a single node words it', () => {
    const { next, leases } = applyOps(ledger(900), [leaseOp(state({ needs: [need('a', 60), need('b', 50)] }))], 2_000);
    assert.equal(leases[0]!.grants[0], 'hold');
    assert.equal(next.holds.find((h) => h.id === 'a')?.appendId, 'i1:a');
    assert.match((leases[0]!.grants[1] as ServiceError).message, /would exceed its quota of 1000 vectors \(it has 960, this adds 50\)/);
    assert.equal(leases[0]!.present, false);
    assert.equal(entry(next), undefined);
  });

  it("a write refused only for another node's lease waits and marks the record; that lease gives its free part back at its next change", () => {
    const other: LedgerHold = { id: 'M', node: 'B', at: 1_000, object: 'i1', indexes: 0, vectors: 300, bytes: 300 * 16, lease: true };
    const l: Ledger = { ...ledger(600), holds: [other] };
    const waiting = applyOps(l, [leaseOp(state({ needs: [need('w', 200)] }))], 2_000);
    assert.deepEqual(waiting.leases[0]!.grants, ['wait']);
    assert.equal(waiting.next.reclaim, 2_000);
    // Without leave to wait (RECLAIM_WAIT_MS passed): refused.
    assert.equal((applyOps(l, [leaseOp(state({ needs: [need('w', 200, false)] }))], 2_000).leases[0]!.grants[0] as ServiceError).code, 'ERR_QUOTA_EXCEEDED');
    // B's next change (its counted writes leaving) sees the mark: its free part goes.
    const b = applyOps(waiting.next, [leaseOp(state({ id: 'M', node: 'B', known: true, free: { vectors: 290, bytes: 290 * 16 }, charged: { vectors: 10, bytes: 160 } }))], 2_100);
    assert.deepEqual(b.leases[0]!.free, { vectors: 0, bytes: 0 });
    assert.equal(entry(b.next, 'M')?.vectors, 10);
    // Then the write fits, as a hold of its own while the mark lasts.
    const again = applyOps(b.next, [leaseOp(state({ needs: [need('w', 200)] }))], 2_200);
    assert.deepEqual(again.leases[0]!.grants, ['hold']);
    assert.equal(usageOf(again.next).vectors, 810);
  });

  it('a lease gone from the record (expired and counted again, or its object deleted) is started afresh', () => {
    const r = applyOps(ledger(100), [leaseOp(state({ known: true, free: { vectors: 50, bytes: 800 }, charged: { vectors: 20, bytes: 320 }, needs: [need('w', 10)] }))], 2_000).leases[0]!;
    assert.equal(r.vanished, true);
    assert.deepEqual(r.grants, ['lease']);
  });

  it('what the record holds for a lease never falls below what its node may spend plus what it spent and has not counted, whatever is spent while a change is in flight', async () => {
    const lease = new LocalLease('i1', 'A');
    let record = ledger(0);
    const open = new Set<string>();
    const covers = () => {
      const need = lease.free.vectors + open.size * 10;
      assert.ok((entry(record, lease.id)?.vectors ?? 0) >= need, `the record covers ${entry(record, lease.id)?.vectors ?? 0}, the node ${need}`);
    };
    const spend = () => {
      const id = lease.trySpend({ indexes: 0, vectors: 10, bytes: 160 }, lq, undefined, Date.now());
      if (id) open.add(id);
      return id;
    };
    const ask = (id: string) => void lease.ask({ id, at: Date.now(), vectors: 10, bytes: 160, mayWait: false }, lq).then((g) => g === 'lease' && open.add(id));
    /** One change: made, sent (writes spent while it is in flight), written. */
    const change = async () => {
      const sent = lease.state()!;
      const { next, leases } = applyOps(record, [{ kind: 'lease', tenant: 't', quotas: lq, lease: sent }], Date.now());
      lease.sending(leases[0]!);
      spend();
      covers();
      record = next;
      lease.written(sent, leases[0]!, lq);
      await Promise.resolve();
      covers();
    };
    ask('first');
    await change();
    assert.ok(open.has('first'));
    for (let round = 0; round < 30; round++) {
      // Two writes end counted (in the object's count from now), others are spent, the lease is given back or grown.
      for (const id of [...open].slice(0, 2)) {
        const vectors = (record.objects.i1?.vectors ?? 0) + 10;
        lease.ended(id, { final: true, count: { vectors, bytes: 0, seq: 2 + round } });
        open.delete(id);
      }
      if (round % 3 === 0) lease.giveBack = true;
      else ask(`n${round}`);
      await change();
      while (spend());
      covers();
    }
  });
});
