// A cluster's tenant quotas, exact across nodes (docs/cluster.md "Quotas across
// nodes"): one usage record per tenant, the last message of the tenant's own
// JetStream stream (FPQ_<tenant>, R3), changed only by an append that expects the
// stream's last sequence to be the one it was read at (a compare-and-set;
// nats-server 2.9's per-subject expectation, which KV's update uses, lets two
// concurrent ones through in a clustered stream: the stream's own does not). It holds each object's usage as applied
// through a sequence of its stream (a fact any replica at that sequence agrees
// on: a newer one replaces an older one, never the reverse) and the holds of the
// writes in flight. A write's growth is checked against the sum of both and held
// before it is appended; once applied, its node replaces the hold by the
// object's usage after it. A hold whose append another node has applied is
// settled by that node's next write to the object (the append ids it applied);
// one that stays (its node died before appending, or its append failed) expires
// after HOLD_TTL_MS, and the object is counted again at the head of its stream.
// Each node sends one change of a tenant's record at a time, carrying every
// hold and settlement queued meanwhile (group commit), from the record as it
// last wrote or read it (a change that lost the race reads it again); a write's
// own settlement waits up to SETTLE_DELAY_MS for the next hold to carry it.
// A change whose acknowledgement is lost is read back by its id (stream-cas.ts):
// found landed, it is done; never is it made again on a record that has it.
// A write that adds vectors or bytes (not an index) is spent from a lease of
// this node on its object when one has room (quota-lease.ts): no change of the
// record for it, only one now and then for the lease.
// A tenant's stream is made only by a change that admits a write (a hold, a
// lease's need) while the catalog has the tenant's record; every other change
// (a settlement, a lease given back, a deleted object forgotten) needs the stream
// to be there: a deleted tenant's record is never written again, and the node
// drops what it kept of the tenant (its leases, its queue) once its catalog no
// longer has the tenant (followCatalog), or its stream is found gone.
import { headers, type NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager, JetStreamApiCodes, JetStreamApiError, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type { Quotas } from '../storage/catalog';
import type { Admission, HoldTarget, Reservation, SharedUsage, TenantObjects, UsageCount, WriteOutcome } from '../domain/quotas';
import { ServiceError } from '../domain/errors';
import { storageFault } from '../storage/storage-io';
import { APPEND_TIMEOUT_MS, transient } from './replicated-log';
import { appendAt, currentValue, wrongLastSequence } from './stream-cas';
import { CATALOG_BUCKET, tenantKey } from './kv-catalog';
import { tenantGone } from '../domain/registry';
import { randomUUID } from 'node:crypto';
import {
  fits,
  isNone,
  LEASE_IDLE_MS,
  LEASE_SETTLE_MS,
  LocalLease,
  minus,
  NONE,
  plus,
  RECLAIM_MS,
  RECLAIM_RETRY_MS,
  RECLAIM_WAIT_MS,
  sliceOf,
  atMost,
  type Amount,
  type Grant,
  type LeaseResult,
  type LeaseState,
} from './quota-lease';

/**
 * How long a hold may wait for its write's end before any node counts its object
 * again: longer than a write may take to be appended (APPEND_TIMEOUT_MS), so
 * that an append cannot land after its hold went, and than a catalog change
 * (kv-catalog.ts CATALOG_WRITE_TIMEOUT_MS, a create's).
 */
export const HOLD_TTL_MS = 30_000;
/**
 * How long a write's settlement may wait for another change to carry it: until
 * it is written its hold counts what the write added, so the record is as exact
 * meanwhile; what it saves is a round trip of its own.
 */
export const SETTLE_DELAY_MS = 50;
/** One read or change of a record; a timeout is tried again (up to APPEND_TIMEOUT_MS). */
const ATTEMPT_MS = 2_000;

export interface LedgerEntry extends UsageCount {
  /** When a node last set it (ms since the epoch, that node's clock). */
  at: number;
}

export interface LedgerHold extends Reservation {
  id: string;
  node: string;
  /** When it was taken (ms since the epoch, the holding node's clock). */
  at: number;
  object: string;
  appendId?: string;
  /** A lease (quota-lease.ts): renewed (`at`) at each change its node makes to it; it expires as a hold does. */
  lease?: true;
}

export interface Ledger {
  objects: Record<string, LedgerEntry>;
  holds: LedgerHold[];
  /** When a write was last refused only for leases (a node's clock): leases give their free parts back, writes take holds. */
  reclaim?: number;
}

export type LedgerOp =
  | { kind: 'hold'; hold: LedgerHold; quotas: Quotas; tenant: string; mayWait?: boolean }
  | { kind: 'settle'; object: string; count?: UsageCount; release?: string; applied?: (appendId: string) => number | undefined }
  | { kind: 'forget'; object: string }
  | { kind: 'recount'; object: string; count: UsageCount | undefined; expired: string[]; applied?: (appendId: string) => number | undefined }
  | { kind: 'lease'; tenant: string; quotas: Quotas; lease: LeaseState };

const empty = (): Ledger => ({ objects: {}, holds: [] });

/**
 * What the tenant uses, as the record has it: every object's usage and every
 * hold (a create's, until its object is counted), and (`leases`: what quotas are
 * checked against) every lease whole, its free part too.
 */
export function usageOf(l: Ledger, leases = true): { indexes: number; vectors: number; bytes: number } {
  let indexes = 0;
  let vectors = 0;
  let bytes = 0;
  for (const e of Object.values(l.objects)) {
    indexes++;
    vectors += e.vectors;
    bytes += e.bytes;
  }
  for (const h of l.holds) {
    if (h.lease && !leases) continue;
    if (!(h.object in l.objects)) indexes += h.indexes;
    vectors += h.vectors;
    bytes += h.bytes;
  }
  return { indexes, vectors, bytes };
}

/** The refusal of growth past a quota with the tenant using `u`, as a single node words it (domain/quotas.ts). */
function refusalAt(u: { indexes: number } & Amount, hold: Reservation, quotas: Quotas, tenant: string): ServiceError | undefined {
  if (hold.indexes > 0 && u.indexes + hold.indexes > quotas.maxIndexes) {
    return new ServiceError('ERR_QUOTA_EXCEEDED', `Tenant ${tenant} already has its maximum of ${quotas.maxIndexes} indexes (its collections count as indexes)`);
  }
  if (hold.indexes > 0 && hold.vectors === 0 && hold.bytes === 0) return undefined;
  if (u.vectors + hold.vectors > quotas.maxVectors) {
    return new ServiceError('ERR_QUOTA_EXCEEDED', `Tenant ${tenant} would exceed its quota of ${quotas.maxVectors} vectors (it has ${u.vectors}, this adds ${hold.vectors})`);
  }
  if (u.bytes + hold.bytes > quotas.maxBytes) {
    return new ServiceError('ERR_QUOTA_EXCEEDED', `Tenant ${tenant} would exceed its quota of ${quotas.maxBytes} bytes (it uses ${u.bytes}, this adds about ${hold.bytes})`);
  }
  return undefined;
}

/** What the leases in the record hold (but `except`'s). */
function leased(l: Ledger, except?: string): Amount {
  let sum = NONE;
  for (const h of l.holds) if (h.lease && h.id !== except) sum = plus(sum, h);
  return sum;
}

/** Whether the record was marked for leases to be given back within RECLAIM_MS. */
const reclaiming = (l: Ledger, now: number): boolean => l.reclaim !== undefined && now - l.reclaim < RECLAIM_MS;

/** Marks the record (again, once half of RECLAIM_MS has passed): a write waits for leases. */
function markReclaim(l: Ledger, now: number): boolean {
  if (l.reclaim !== undefined && now - l.reclaim >= 0 && now - l.reclaim < RECLAIM_MS / 2) return false;
  l.reclaim = now;
  return true;
}

/**
 * One lease's change (quota-lease.ts), applied to `next`: its counted writes
 * leave it (their object's count set), its failed ones become holds, its needs
 * are granted from it (a free part sized by sliceOf with them), as holds of
 * their own near the limit or while the record is marked `reclaim`, left to
 * wait when only other leases are in their way, or refused; it is renewed,
 * shrunk to what it covers (given back, or reclaimed), or removed when it
 * covers nothing.
 */
function applyLease(next: Ledger, op: Extract<LedgerOp, { kind: 'lease' }>, now: number): LeaseResult {
  const { lease: s, quotas, tenant } = op;
  const entry = next.holds.find((h) => h.id === s.id && h.lease);
  const vanished = s.known && !entry;
  let changed = false;
  if (s.counted) {
    setCount(next, s.object, s.counted.count, now);
    const counted = { object: s.object, count: s.counted.count, applied: s.counted.applied };
    next.holds = next.holds.filter((h) => !countsIn(counted, h));
    changed = true;
  }
  // Gone: expired (counted again at its object's head, failed writes with it) or its object deleted.
  if (!vanished) {
    for (const h of s.failed) {
      if (!next.holds.some((x) => x.id === h.id)) {
        next.holds.push(h);
        changed = true;
      }
    }
  }
  const u = usageOf(next);
  const carried = vanished ? NONE : s.charged;
  const mine = entry ? { vectors: entry.vectors, bytes: entry.bytes } : NONE;
  let used = { indexes: u.indexes, ...plus(minus(u, mine), carried) };
  const limit: Amount = { vectors: quotas.maxVectors, bytes: quotas.maxBytes };
  const others = leased(next, s.id);
  const marked = reclaiming(next, now);
  const grants: Grant[] = [];
  let spent = NONE;
  let biggest = NONE;
  let wait = false;
  for (const need of s.needs) {
    const after = plus(used, need);
    if (fits(after, limit)) {
      if (!marked && !wait && fits(need, sliceOf(minus(limit, after), need))) {
        grants.push('lease');
        spent = plus(spent, need);
        biggest = { vectors: Math.max(biggest.vectors, need.vectors), bytes: Math.max(biggest.bytes, need.bytes) };
      } else {
        grants.push('hold');
        const hold: LedgerHold = { id: need.id, node: s.node, at: need.at, object: s.object, indexes: 0, vectors: need.vectors, bytes: need.bytes };
        if (need.appendId !== undefined) hold.appendId = need.appendId;
        next.holds.push(hold);
        changed = true;
      }
      used = { ...used, ...after };
    } else if (need.mayWait && fits(minus(minus(after, others), carried), limit)) {
      // Only leases in the way: other nodes' (given back when reclaimed, or counted twice until their next change)
      // or this one's writes in flight (counted twice while another node's count of their object has them).
      grants.push('wait');
      wait = true;
    } else {
      grants.push(refusalAt(used, { indexes: 0, ...need }, quotas, tenant)!);
    }
  }
  const room = minus(limit, used);
  const roomLeft = { vectors: Math.max(0, room.vectors), bytes: Math.max(0, room.bytes) };
  const free = s.giveBack || marked || wait ? NONE : isNone(spent) ? atMost(s.free, roomLeft) : sliceOf(roomLeft, biggest);
  const covers = plus(plus(carried, spent), free);
  const present = !isNone(covers);
  if (present) {
    const h: LedgerHold = { id: s.id, node: s.node, at: now, object: s.object, indexes: 0, vectors: covers.vectors, bytes: covers.bytes, lease: true };
    if (entry) next.holds[next.holds.indexOf(entry)] = h;
    else next.holds.push(h);
    changed = true;
  } else if (entry) {
    next.holds = next.holds.filter((h) => h !== entry);
    changed = true;
  }
  if (wait && markReclaim(next, now)) changed = true;
  return { grants, free, present, vanished, at: now, changed };
}

/** An object's usage at a sequence: kept if newer than the record's (or as new: then only its time moves). */
function setCount(l: Ledger, object: string, count: UsageCount, now: number): void {
  const had = l.objects[object];
  if (!had || count.seq >= had.seq) l.objects[object] = { vectors: count.vectors, bytes: count.bytes, seq: count.seq, at: now };
}

/** Whether a hold's append is in `op`'s count: the counting node applied it at or before the count's sequence. */
function countsIn(op: { object: string; count?: UsageCount; applied?: (appendId: string) => number | undefined }, h: LedgerHold): boolean {
  if (h.object !== op.object || h.appendId === undefined || !op.count || !op.applied) return false;
  const at = op.applied(h.appendId);
  return at !== undefined && at <= op.count.seq;
}

/**
 * Applies `ops` in order to a copy of `ledger`: each hold is checked against
 * what the record holds then (its refusal, or undefined: held; `waits`: not
 * held, refused only for leases, to be checked again), each lease's change
 * gives its result (`leases`).
 */
export function applyOps(
  ledger: Ledger,
  ops: readonly LedgerOp[],
  now: number,
): { next: Ledger; refusals: (ServiceError | undefined)[]; waits: boolean[]; leases: (LeaseResult | undefined)[]; changed: boolean } {
  const next: Ledger = { objects: { ...ledger.objects }, holds: [...ledger.holds], ...(ledger.reclaim !== undefined && { reclaim: ledger.reclaim }) };
  const refusals: (ServiceError | undefined)[] = [];
  const waits: boolean[] = [];
  const leases: (LeaseResult | undefined)[] = [];
  let changed = false;
  const drop = (keep: (h: LedgerHold) => boolean) => {
    const before = next.holds.length;
    next.holds = next.holds.filter(keep);
    if (next.holds.length !== before) changed = true;
  };
  for (const op of ops) {
    waits.push(false);
    leases.push(undefined);
    if (op.kind === 'lease') {
      refusals.push(undefined);
      const result = applyLease(next, op, now);
      leases[leases.length - 1] = result;
      if (result.changed) changed = true;
      continue;
    }
    if (op.kind === 'hold') {
      const u = usageOf(next);
      const no = refusalAt(u, op.hold, op.quotas, op.tenant);
      if (no && op.mayWait && !refusalAt({ indexes: u.indexes, ...minus(u, leased(next)) }, op.hold, op.quotas, op.tenant)) {
        // Only leases in the way: they are reclaimed, and the hold is tried again.
        refusals.push(undefined);
        waits[waits.length - 1] = true;
        if (markReclaim(next, now)) changed = true;
        continue;
      }
      refusals.push(no);
      if (!no) {
        next.holds.push(op.hold);
        changed = true;
      }
      continue;
    }
    refusals.push(undefined);
    if (op.kind === 'settle') {
      if (op.count) {
        setCount(next, op.object, op.count, now);
        changed = true;
      }
      drop((h) => h.id !== op.release && !countsIn(op, h));
    } else if (op.kind === 'forget') {
      if (op.object in next.objects) {
        delete next.objects[op.object];
        changed = true;
      }
      drop((h) => h.object !== op.object);
    } else {
      if (op.count) setCount(next, op.object, op.count, now);
      else delete next.objects[op.object];
      changed = true;
      drop((h) => !op.expired.includes(h.id) && !countsIn(op, h));
    }
  }
  return { next, refusals, waits, leases, changed };
}

/**
 * What must be counted again before the record can be trusted: objects with
 * expired holds (their ids); when there is no record yet (`first`), every
 * object of the tenant (made before the cluster kept one); and objects it counts
 * that the tenant no longer has (a node died between a delete and its
 * settlement), left alone for HOLD_TTL_MS (a create another node's catalog has
 * not delivered here yet).
 */
export function staleParts(l: Ledger, objects: readonly string[], now: number, first: boolean): { recount: Map<string, string[]>; gone: string[] } {
  const recount = new Map<string, string[]>();
  const have = new Set(objects);
  for (const h of l.holds) {
    if (now - h.at > HOLD_TTL_MS) recount.set(h.object, [...(recount.get(h.object) ?? []), h.id]);
  }
  const creating = new Set(l.holds.filter((h) => h.indexes > 0 && now - h.at <= HOLD_TTL_MS).map((h) => h.object));
  if (first) for (const id of objects) if (!(id in l.objects) && !creating.has(id) && !recount.has(id)) recount.set(id, []);
  const gone = Object.entries(l.objects)
    .filter(([id, e]) => !have.has(id) && !recount.has(id) && now - e.at > HOLD_TTL_MS)
    .map(([id]) => id);
  return { recount, gone };
}

interface Pending {
  /** What it changes (a lease's change: made from the lease's state at each attempt). */
  op?: LedgerOp;
  lease?: LocalLease;
  /** The lease's state the last attempt sent. */
  sent?: LeaseState;
  queuedAt: number;
  /** A hold's: told it is held, or why not (then it is gone), or to be tried again ('wait': only leases were in its way). */
  done?: (refused?: Error | 'wait') => void;
  /** A settlement's: told once written, or the first time it could not be (it is kept). */
  told?: (failed?: Error) => void;
  /** A write's own settlement (or a lease's counted writes): it may wait `delayMs` for another change to carry it. */
  lazy?: boolean;
  /** How long a lazy one may wait: SETTLE_DELAY_MS unless said. */
  delayMs?: number;
}

/** One tenant's record as this node last wrote or read it, and what waits to be written. */
interface Book {
  queue: Pending[];
  running: boolean;
  cached?: { ledger: Ledger; revision: number };
  objects?: TenantObjects;
  /** A run waiting for lazy settlements. */
  delayed?: NodeJS.Timeout;
  /** This node's leases on the tenant's objects (quota-lease.ts). */
  leases: Map<string, LocalLease>;
  /** Gives back what leases unused for LEASE_IDLE_MS hold free. */
  idle?: NodeJS.Timeout;
  /** Its tenant is gone (closeBook): nothing more is written from it. */
  closed?: boolean;
}

const conflict = wrongLastSequence;
/** The tenant's stream is not there (deleted with its tenant, or never made). */
const streamMissing = (e: unknown): boolean => e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamNotFound;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A name as one token of a stream's name or subject (names may hold characters those may not). */
const token = (s: string): string => Buffer.from(s, 'utf8').toString('base64url');
/**
 * How many of a record's last changes its stream keeps: a change whose
 * acknowledgement is lost is read back at its own sequence (stream-cas.ts),
 * which another node's change landing right after it would otherwise drop.
 */
export const KEPT_CHANGES = 32;
/** The header that tells each change of a usage record from every other (stream-cas.ts reads it back after a lost acknowledgement). */
const CHANGE_HEADER = 'FP-Change';
/** The stream of a tenant's usage record, and its one subject. */
export const usageStream = (tenant: string): string => `FPQ_${token(tenant)}`;
export const usageSubject = (tenant: string): string => `fp.quota.${token(tenant)}`;

export class StreamUsageLedger implements SharedUsage {
  private readonly books = new Map<string, Book>();

  private constructor(
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly node: string,
    private readonly replicas: number,
  ) {}

  static async open(nc: NatsConnection, node: string, replicas: number): Promise<StreamUsageLedger> {
    // Short attempts, tried again up to APPEND_TIMEOUT_MS: a request to a stream just made (or whose server died) may go unanswered.
    return new StreamUsageLedger(jetstream(nc, { timeout: ATTEMPT_MS }), await jetstreamManager(nc, { timeout: ATTEMPT_MS }), node, replicas);
  }

  async hold(tenant: string, quotas: Quotas, growth: Reservation, target: HoldTarget, objects: TenantObjects): Promise<Admission> {
    const book = this.book(tenant);
    book.objects = objects;
    // Vectors and bytes only (adds, upserts): spent from a lease when it has room.
    if (growth.indexes === 0) return this.spend(tenant, book, quotas, growth, target);
    const id = randomUUID();
    const waitUntil = Date.now() + RECLAIM_WAIT_MS;
    for (;;) {
      const hold: LedgerHold = { id, node: this.node, at: Date.now(), object: target.object, ...growth, ...(target.appendId !== undefined && { appendId: target.appendId }) };
      const again = await new Promise<boolean>((resolve, reject) => {
        book.queue.push({
          op: { kind: 'hold', hold, quotas, tenant, mayWait: Date.now() < waitUntil },
          queuedAt: Date.now(),
          done: (refused) => (refused === 'wait' ? resolve(true) : refused ? reject(refused) : resolve(false)),
        });
        this.run(tenant, book);
      });
      if (!again) return this.holdAdmission(tenant, target.object, id);
      book.cached = undefined; // decided on the record as read again
      await sleep(RECLAIM_RETRY_MS);
    }
  }

  /** A write's growth from this node's lease on its object: no round trip when it has room; else one change that grows it (or holds the write on its own). */
  private async spend(tenant: string, book: Book, quotas: Quotas, growth: Reservation, target: HoldTarget): Promise<Admission> {
    const waitUntil = Date.now() + RECLAIM_WAIT_MS;
    for (;;) {
      const lease = this.leaseOf(tenant, book, target.object);
      const now = Date.now();
      const spent = lease.trySpend(growth, quotas, target.appendId, now);
      if (spent !== undefined) return this.leaseAdmission(tenant, book, lease, spent);
      const id = randomUUID();
      const asked = lease.ask({ id, at: now, vectors: growth.vectors, bytes: growth.bytes, ...(target.appendId !== undefined && { appendId: target.appendId }), mayWait: now < waitUntil }, quotas);
      this.syncLease(tenant, book, lease, false);
      const grant = await asked;
      if (grant === 'lease') return this.leaseAdmission(tenant, book, lease, id);
      if (grant === 'hold') return this.holdAdmission(tenant, target.object, id);
      if (grant !== 'wait') throw grant;
      book.cached = undefined; // decided on the record as read again
      await sleep(RECLAIM_RETRY_MS);
    }
  }

  /** A write held on its own: settled once it ends (not waited for: until it is written, the hold counts what the write added). */
  private holdAdmission(tenant: string, object: string, id: string): Admission {
    let ended = false;
    return {
      end: (outcome: WriteOutcome) => {
        if (ended) return;
        ended = true;
        void this.enqueue(tenant, { kind: 'settle', object, count: outcome.count, release: outcome.final ? id : undefined, applied: outcome.applied }, true).catch(() => undefined);
      },
    };
  }

  /** A write spent from a lease: it leaves the lease in a later change (LEASE_SETTLE_MS) once it ends. */
  private leaseAdmission(tenant: string, book: Book, lease: LocalLease, id: string): Admission {
    let ended = false;
    return {
      end: (outcome: WriteOutcome) => {
        if (ended) return;
        ended = true;
        if (lease.ended(id, outcome)) this.syncLease(tenant, book, lease, true);
      },
    };
  }

  private leaseOf(tenant: string, book: Book, object: string): LocalLease {
    let lease = book.leases.get(object);
    if (!lease) book.leases.set(object, (lease = new LocalLease(object, this.node)));
    if (!book.idle) {
      book.idle = setInterval(() => this.giveBackIdle(tenant, book), LEASE_IDLE_MS / 2);
      book.idle.unref();
    }
    return lease;
  }

  /** Leases unused for LEASE_IDLE_MS give their free part back; those that hold nothing are forgotten. */
  private giveBackIdle(tenant: string, book: Book): void {
    const now = Date.now();
    for (const [object, lease] of book.leases) {
      if (lease.idle()) book.leases.delete(object);
      else if (lease.known && !lease.giveBack && now - lease.lastUsed >= LEASE_IDLE_MS && !isNone(lease.free)) {
        lease.giveBack = true;
        this.syncLease(tenant, book, lease, false);
      }
    }
    if (book.leases.size === 0) {
      clearInterval(book.idle);
      book.idle = undefined;
    }
  }

  /** Queues a change of `lease` (one at a time in the queue; `lazy`: it may wait LEASE_SETTLE_MS). */
  private syncLease(tenant: string, book: Book, lease: LocalLease, lazy: boolean): void {
    const queued = book.queue.find((p) => p.lease === lease);
    if (queued) queued.lazy &&= lazy;
    else book.queue.push({ lease, queuedAt: Date.now(), lazy, delayMs: LEASE_SETTLE_MS });
    this.run(tenant, book);
  }

  settle(tenant: string, object: string, count: UsageCount, applied?: (appendId: string) => number | undefined): Promise<void> {
    return this.enqueue(tenant, { kind: 'settle', object, count, applied });
  }

  forget(tenant: string, object: string): Promise<void> {
    return this.enqueue(tenant, { kind: 'forget', object });
  }

  /** The tenant's record goes with it (a tenant made again under its name starts from none). */
  dropTenant(tenant: string): void {
    const book = this.books.get(tenant);
    if (book) this.closeBook(tenant, book);
    void this.jsm.streams.delete(usageStream(tenant)).catch(() => undefined);
  }

  /** Drops what this node keeps of each tenant its catalog no longer has (deleted through another node): its leases first. */
  followCatalog(hasTenant: (tenant: string) => boolean): void {
    for (const [tenant, book] of this.books) if (!hasTenant(tenant)) this.closeBook(tenant, book);
  }

  /**
   * A tenant gone: its writes waiting here are refused (ERR_TENANT_NOT_FOUND),
   * its settlements have nothing left to settle, its leases are dropped, and
   * nothing more is written from this book (a write that ends later finds it closed).
   */
  private closeBook(tenant: string, book: Book, carried: Pending[] = []): void {
    const e = tenantGone(tenant);
    book.closed = true;
    clearInterval(book.idle);
    clearTimeout(book.delayed);
    book.idle = book.delayed = undefined;
    book.cached = undefined;
    if (this.books.get(tenant) === book) this.books.delete(tenant);
    for (const p of [...carried, ...book.queue.splice(0)]) {
      p.done?.(e);
      p.told?.();
      p.lease?.failed(p.sent, e);
      p.sent = undefined;
    }
    for (const lease of book.leases.values()) lease.failed(undefined, e);
    book.leases.clear();
  }

  /** What the tenant uses: every object's usage and every hold; leases count only once their writes are counted (LEASE_SETTLE_MS). */
  async usage(tenant: string): Promise<{ indexes: number; vectors: number; bytes: number }> {
    try {
      return usageOf((await this.read(tenant, false))?.ledger ?? empty(), false);
    } catch (e) {
      throw storageFault('quota.read', undefined, e);
    }
  }

  private book(tenant: string): Book {
    let b = this.books.get(tenant);
    if (!b) this.books.set(tenant, (b = { queue: [], running: false, leases: new Map() }));
    return b;
  }

  /** Resolves once `op` is written; rejects when it could not be the first time (it is kept and tried again, up to HOLD_TTL_MS). */
  private enqueue(tenant: string, op: LedgerOp, lazy = false): Promise<void> {
    const book = this.book(tenant);
    return new Promise((resolve, reject) => {
      let told = false;
      const tell = (e?: Error) => {
        if (told) return;
        told = true;
        if (e) reject(e);
        else resolve();
      };
      book.queue.push({ op, queuedAt: Date.now(), told: tell, lazy });
      this.run(tenant, book);
    });
  }

  /** Writes the queue, one change at a time (each carrying all that was queued meanwhile). */
  private run(tenant: string, book: Book): void {
    if (book.closed) return this.closeBook(tenant, book);
    if (book.running || book.queue.length === 0) return;
    if (book.queue.every((p) => p.lazy)) {
      // Only settlements of this node's writes: the next hold (or the timer) carries them.
      book.delayed ??= setTimeout(
        () => {
          book.delayed = undefined;
          if (book.queue.length > 0 && book.queue.every((p) => p.lazy)) for (const p of book.queue) p.lazy = false;
          this.run(tenant, book);
        },
        Math.min(...book.queue.map((p) => p.delayMs ?? SETTLE_DELAY_MS)),
      );
      book.delayed.unref();
      return;
    }
    clearTimeout(book.delayed);
    book.delayed = undefined;
    book.running = true;
    void (async () => {
      let retrying = false;
      while (book.queue.some((p) => !p.lazy)) {
        const batch = book.queue.splice(0);
        try {
          await this.commit(tenant, book, batch);
        } catch (e) {
          if (e instanceof ServiceError && e.code === 'ERR_TENANT_NOT_FOUND') {
            this.closeBook(tenant, book, batch);
            break;
          }
          const fault = e instanceof ServiceError ? e : storageFault('quota.hold', undefined, e);
          for (const p of batch) {
            p.done?.(fault);
            p.told?.(fault);
            p.lease?.failed(p.sent, fault);
            p.sent = undefined;
          }
          // Settlements (and leases' counted writes) are kept for the next change (the holds they end would expire anyway).
          const keep = batch.filter((p) => !p.done && p.op?.kind !== 'recount' && Date.now() - p.queuedAt < HOLD_TTL_MS && (!p.lease || p.lease.pending()));
          if (keep.length > 0) {
            book.queue.unshift(...keep);
            if (book.queue.every((p) => !p.done)) {
              retrying = true;
              setTimeout(() => this.run(tenant, book), 1_000).unref();
              break;
            }
          }
        }
      }
      book.running = false;
      if (!retrying && book.queue.length > 0) this.run(tenant, book); // lazy settlements left: their timer
    })();
  }

  /**
   * The tenant's record (`exists`: there is one yet). Its stream missing: made
   * when `make` (a change that admits a write) and the catalog has the tenant,
   * else undefined.
   */
  private async read(tenant: string, make: boolean): Promise<{ ledger: Ledger; revision: number; exists: boolean } | undefined> {
    const name = usageStream(tenant);
    const last = async () => {
      const m = await this.jsm.streams.getMessage(name, { last_by_subj: usageSubject(tenant) });
      return m ? { ledger: JSON.parse(new TextDecoder().decode(m.data)) as Ledger, revision: m.seq, exists: true } : { ledger: empty(), revision: 0, exists: false };
    };
    try {
      return await last();
    } catch (e) {
      if (!streamMissing(e)) throw e;
    }
    if (!make || !(await this.hasTenant(tenant))) return undefined;
    // The same config on every node: JetStream answers another node's add with the stream.
    await this.jsm.streams.add({ name, subjects: [usageSubject(tenant)], num_replicas: this.replicas, max_msgs_per_subject: KEPT_CHANGES });
    // Its tenant deleted between the check and the add (its stream deleted before this add): this one goes too.
    if (!(await this.hasTenant(tenant))) {
      await this.jsm.streams.delete(name).catch(() => undefined);
      return undefined;
    }
    return last();
  }

  /** Whether the catalog has the tenant's record, as its stream's leader has it (not this node's mirror, which may be behind a deletion). */
  private async hasTenant(tenant: string): Promise<boolean> {
    return (await currentValue(this.jsm, CATALOG_BUCKET, tenantKey(tenant))) !== undefined;
  }

  private async commit(tenant: string, book: Book, batch: Pending[]): Promise<void> {
    const deadline = Date.now() + APPEND_TIMEOUT_MS;
    /** Objects counted again during this change (once each, whatever it reads after). */
    const recounted = new Set<string>();
    for (let wait = 20; ; wait = Math.min(wait * 2, 500)) {
      try {
        const cached = book.cached !== undefined;
        const admitting = batch.some((p) => p.op?.kind === 'hold' || (p.lease?.needs.length ?? 0) > 0);
        const cur = book.cached ? { ...book.cached, exists: true } : await this.read(tenant, admitting);
        if (!cur) {
          // No record: its tenant is gone (nothing is written for it again), or none was made yet (the first write's counts every object).
          if (!(await this.hasTenant(tenant))) throw tenantGone(tenant);
          for (const p of batch) {
            p.told?.();
            p.sent = undefined;
          }
          return;
        }
        if (book.objects) {
          const extra = await this.cleanup(cur.ledger, book.objects, !cur.exists, recounted);
          if (extra.length > 0) {
            batch.unshift(...extra.map((op) => ({ op, queuedAt: Date.now() })));
            book.cached = undefined; // counting took a while: read it again
            continue;
          }
        }
        // Each lease's change is made from its state now (what it spent since the last attempt too).
        const made = batch.map((p): LedgerOp | undefined => {
          if (!p.lease) return p.op;
          p.sent = p.lease.state();
          return p.sent && p.lease.quotas && { kind: 'lease', tenant, quotas: p.lease.quotas, lease: p.sent };
        });
        const quotasOf = (i: number) => (made[i] as Extract<LedgerOp, { kind: 'lease' }>).quotas;
        const ops = made.filter((op): op is LedgerOp => op !== undefined);
        const { next, refusals, waits, leases, changed } = applyOps(cur.ledger, ops, Date.now());
        const doubt = refusals.some((r) => r !== undefined) || waits.some((w) => w) || leases.some((r) => r?.grants.some((g) => g !== 'lease' && g !== 'hold'));
        if (cached && doubt) {
          // Refused against what this node last wrote: another node may have given quota back since. Read it again.
          book.cached = undefined;
          continue;
        }
        const at = (i: number) => ops.indexOf(made[i]!);
        batch.forEach((p, i) => {
          if (p.lease && made[i]) p.lease.sending(leases[at(i)]!);
        });
        if (changed) {
          // Its own id: the same record may be written twice, and a change whose acknowledgement is lost must be told from another's when read back.
          const h = headers();
          h.set(CHANGE_HEADER, randomUUID());
          const revision = await appendAt(this.jsm, this.js, usageStream(tenant), usageSubject(tenant), JSON.stringify(next), h, cur.revision, deadline);
          book.cached = { ledger: next, revision };
        }
        batch.forEach((p, i) => {
          if (p.lease) {
            if (made[i]) p.lease.written(p.sent!, leases[at(i)]!, quotasOf(i));
            p.sent = undefined;
            return;
          }
          p.done?.(waits[at(i)] ? 'wait' : refusals[at(i)]);
          p.told?.();
        });
        return;
      } catch (e) {
        if (e instanceof ServiceError) throw e;
        // Lost to another node's change (or the stream is gone: its tenant deleted, or deleted and made again): read it again.
        book.cached = undefined;
        if (!(conflict(e) || transient(e)) || Date.now() + wait > deadline) throw e;
        // Another node changed it first: read it again (at once); a server away: a moment later.
        if (!conflict(e)) await new Promise((r) => setTimeout(r, wait));
      }
    }
  }

  /** Counts again what staleParts names (a count that fails: that object is left for the next change). */
  private async cleanup(l: Ledger, objects: TenantObjects, first: boolean, recounted: Set<string>): Promise<LedgerOp[]> {
    const { recount, gone } = staleParts(l, objects.ids(), Date.now(), first);
    const ops: LedgerOp[] = gone.filter((object) => !recounted.has(object)).map((object) => ({ kind: 'forget', object }));
    for (const object of gone) recounted.add(object);
    const missing: string[] = [];
    for (const [object, expired] of recount) {
      if (recounted.has(object)) continue;
      recounted.add(object);
      try {
        const counted = await objects.count(object);
        ops.push({ kind: 'recount', object, count: counted?.count, expired, applied: counted?.applied });
      } catch (e) {
        if (!(object in l.objects)) missing.push(object);
      }
    }
    // An object counted nowhere cannot be left out of the check.
    if (missing.length > 0) throw storageFault('quota.count', undefined, new Error(`the usage of ${missing.length} object(s) of the tenant could not be counted`));
    return ops;
  }
}
