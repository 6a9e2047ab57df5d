// Payload indexes (declared per field, after Qdrant's): for a field, which labels
// hold which value, so a filter on it does not read every payload. The filter's
// meaning is match.ts's scan; an index answers a condition only where its answer
// is exactly the scan's (a keyword index answers string matches, not numbers
// stored in the same field), and otherwise the condition is scanned, over the
// candidates the indexed conditions left. Results are label bitmaps
// (label-bitmap.ts): the postings of a condition's values set their bits, and
// conditions combine a word at a time.
import { datetimeOf } from './datetime';
import { fieldPathAt, type ParsedCondition, type ParsedFilter, type RangeBounds } from './filter';
import { LabelBitmap, frameOf, type LabelFrame } from './label-bitmap';
import { pointMatches, rawValuesAt, valuesAt, withinBounds } from './match';
import type { PointStore } from './points';
import { Postings } from './postings';
import { NO_LABELS, type Labels } from './sorted-labels';
import type { Payload, PayloadFieldType, PayloadValue } from './types';
import { ValueColumn } from './value-column';
import type { IDSelector } from '../selectors';

type Key = string | number | boolean;

/** The points a filter selects as a selector over a payload column (value-column.ts), and how many they are. */
export interface ColumnAnswer {
  /** Made when asked: a filter whose count the planner sends to the subset search needs none. */
  selector(): IDSelector;
  /** Whether a label passes, read from the column (ValueColumn.tester): valid until the next upsert. */
  readonly passes: (label: number) => boolean;
  readonly count: number;
}

/** The labels of the points whose field holds each value, for one declared field. */
export class FieldIndex {
  private readonly byValue = new Map<Key, Postings>();
  /** Labels with a non-null value this index does not hold (a number in a keyword field). */
  private readonly others = new Set<number>();
  /** Labels whose field is null (is_null). */
  private readonly nulls = new Set<number>();
  /** Labels whose field has a non-null value (not is_empty). */
  private readonly valued = new Set<number>();
  private sortedKeys: number[] | null = null;
  /** A numeric field's value per label (value-column.ts): exact while no live point holds several. */
  private readonly column: ValueColumn | undefined;
  /** Live labels holding several values in the field. */
  private multiValued = 0;

  /** `isLive`: whether a label is a stored point's (a removed label's point is gone: Postings). */
  constructor(
    readonly type: PayloadFieldType,
    readonly path: readonly string[],
    private readonly isLive: (label: number) => boolean,
  ) {
    this.column = type === 'integer' || type === 'float' || type === 'datetime' ? new ValueColumn() : undefined;
  }

  /** The value as this index holds it, or undefined when it does not hold values of that kind. */
  private keyOf(v: PayloadValue): Key | undefined {
    switch (this.type) {
      case 'keyword':
        return typeof v === 'string' ? v : undefined;
      case 'integer':
      case 'float':
        // One numeric index for both: a float in an integer field is still found by a range.
        return typeof v === 'number' ? v : undefined;
      case 'bool':
        return typeof v === 'boolean' ? v : undefined;
      case 'datetime':
        return typeof v === 'string' ? datetimeOf(v) : undefined;
    }
  }

  /** Indexes a new point's label (larger than any indexed). */
  insert(label: number, payload: Payload | null): void {
    this.visit(label, payload, true);
  }

  /** Forgets a label whose point is gone. */
  remove(label: number, payload: Payload | null): void {
    this.visit(label, payload, false);
  }

  private visit(label: number, payload: Payload | null, add: boolean): void {
    const act = (set: Set<number>) => (add ? set.add(label) : set.delete(label));
    if (rawValuesAt(payload, this.path).some((v) => v === null)) act(this.nulls);
    // Each value once per point, however often it (or another date-time of the same instant) appears.
    const keys = new Set<Key>();
    for (const v of valuesAt(payload, this.path)) {
      if (v === null) continue;
      act(this.valued);
      const key = this.keyOf(v);
      if (key === undefined) act(this.others);
      else keys.add(key);
    }
    if (keys.size > 1) this.multiValued += add ? 1 : -1;
    if (this.column) {
      if (!add) this.column.clear(label);
      else if (keys.size === 1) this.column.set(label, keys.values().next().value as number);
    }
    for (const key of keys) {
      let postings = this.byValue.get(key);
      if (!postings) {
        if (!add) continue;
        postings = new Postings();
        this.byValue.set(key, postings);
        this.sortedKeys = null;
      }
      if (add) postings.add(label);
      else postings.remove();
      if (postings.size === 0) {
        this.byValue.delete(key);
        this.sortedKeys = null;
      }
    }
  }

  private postings(key: Key): Labels {
    return this.byValue.get(key)?.read(this.isLive) ?? NO_LABELS;
  }

  private keys(): number[] {
    return (this.sortedKeys ??= ([...this.byValue.keys()] as number[]).sort((a, b) => a - b));
  }

  // Whether `v` is a value this index holds under itself (so a list of them can be looked up).
  private holds(v: string | number | boolean): boolean {
    if (this.type === 'keyword') return typeof v === 'string';
    if (this.type === 'integer' || this.type === 'float') return typeof v === 'number';
    if (this.type === 'bool') return typeof v === 'boolean';
    return false;
  }

  /**
   * The labels the condition selects, as a bitmap of `frame`, or undefined when only a scan answers it exactly.
   * `live`: every label (not to be changed).
   */
  answer(c: ParsedCondition, frame: LabelFrame, live: () => LabelBitmap): LabelBitmap | undefined {
    switch (c.kind) {
      case 'match':
        return this.holds(c.value) ? new LabelBitmap(frame).addAll(this.postings(c.value)) : undefined;
      case 'any': {
        if (![...c.values].every((v) => this.holds(v))) return undefined;
        const out = new LabelBitmap(frame);
        for (const v of c.values) out.addAll(this.postings(v));
        return out;
      }
      case 'except': {
        // A value of another kind is never one of the list's, so `others` all match.
        if (this.type === 'bool' || this.type === 'datetime' || ![...c.values].every((v) => this.holds(v))) return undefined;
        const out = new LabelBitmap(frame).addEach(this.others);
        for (const key of this.byValue.keys()) if (!c.values.has(key as string | number)) out.addAll(this.postings(key));
        return out;
      }
      case 'range': {
        const numeric = this.type === 'integer' || this.type === 'float';
        if (!(numeric && c.range.on === 'number') && !(this.type === 'datetime' && c.range.on === 'datetime')) return undefined;
        const out = new LabelBitmap(frame);
        for (const key of this.keysWithin(c.range)) out.addAll(this.postings(key));
        return out;
      }
      case 'isNull':
        return new LabelBitmap(frame).addEach(this.nulls);
      case 'isEmpty':
        return live().copy().andNot(new LabelBitmap(frame).addEach(this.valued));
      default:
        return undefined;
    }
  }

  /**
   * The labels the condition selects as a selector FAISS asks about each label its search meets (value-column.ts),
   * and how many they are; undefined where the column does not answer it exactly (a range or a number on a
   * numeric field, a range on a datetime field, while no point holds several values in it).
   */
  lazily(c: ParsedCondition): ColumnAnswer | undefined {
    if (!this.column?.complete || this.multiValued > 0) return undefined;
    const numeric = this.type === 'integer' || this.type === 'float';
    let bounds: Omit<RangeBounds, 'on'>;
    if (c.kind === 'range' && ((numeric && c.range.on === 'number') || (this.type === 'datetime' && c.range.on === 'datetime'))) bounds = c.range;
    else if (c.kind === 'match' && numeric && typeof c.value === 'number') bounds = { gte: c.value, lte: c.value };
    else return undefined;
    const column = this.column;
    return { selector: () => column.selector(bounds), passes: column.tester(bounds), count: this.count(c, 0) as number };
  }

  /**
   * How many labels the condition selects, from the postings' sizes alone (a label holding several of the
   * values counts for each: an estimate), or undefined where `answer` would not answer it.
   */
  count(c: ParsedCondition, live: number): number | undefined {
    const size = (key: Key) => this.byValue.get(key)?.size ?? 0;
    switch (c.kind) {
      case 'match':
        return this.holds(c.value) ? size(c.value) : undefined;
      case 'any':
        if (![...c.values].every((v) => this.holds(v))) return undefined;
        return sumOf([...c.values].map(size));
      case 'except': {
        if (this.type === 'bool' || this.type === 'datetime' || ![...c.values].every((v) => this.holds(v))) return undefined;
        return Math.max(0, this.valued.size - sumOf([...c.values].map(size)));
      }
      case 'range': {
        const numeric = this.type === 'integer' || this.type === 'float';
        if (!(numeric && c.range.on === 'number') && !(this.type === 'datetime' && c.range.on === 'datetime')) return undefined;
        return sumOf(this.keysWithin(c.range).map(size));
      }
      case 'isNull':
        return this.nulls.size;
      case 'isEmpty':
        return Math.max(0, live - this.valued.size);
      default:
        return undefined;
    }
  }

  private keysWithin(r: RangeBounds): number[] {
    const keys = this.keys();
    const from = r.gte !== undefined && (r.gt === undefined || r.gte > r.gt) ? r.gte : (r.gt ?? -Infinity);
    const out: number[] = [];
    for (let i = lowerBound(keys, from); i < keys.length; i++) {
      const k = keys[i];
      if ((r.lt !== undefined && k >= r.lt) || (r.lte !== undefined && k > r.lte)) break;
      if (withinBounds(k, r)) out.push(k);
    }
    return out;
  }
}

const sumOf = (counts: number[]): number => counts.reduce((sum, n) => sum + n, 0);

function lowerBound(keys: number[], x: number): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// A filter on fields without a payload index: enough samples to tell a share over the planner's OVER_FETCH_AT
// from one of a few percent (most of the time: near the threshold either choice costs about the same), at a
// microsecond or so a sample.
const SHARE_SAMPLES = 64;

/** The payload indexes of one collection, and the evaluation of filters over its points. */
export class PayloadIndexes {
  /** By the field's normalized path ("tags[]" and "tags" are one field). */
  private readonly fields = new Map<string, { field: string; index: FieldIndex }>();
  private current: Evaluation | undefined;

  constructor(private readonly points: PointStore) {}

  /** field → type, in the order declared. */
  schema(): Record<string, PayloadFieldType> {
    const out: Record<string, PayloadFieldType> = {};
    for (const { field, index } of this.fields.values()) out[field] = index.type;
    return out;
  }

  /** Builds (or rebuilds, with another type) the index of `field` from the stored points. */
  declare(field: string, type: PayloadFieldType): void {
    const { path } = fieldPathAt(field, 'field');
    const index = new FieldIndex(type, path, (label) => this.points.byLabelOf(label) !== undefined);
    for (const p of this.points.values()) index.insert(p.label, p.payload);
    const key = path.join('.');
    this.fields.delete(key); // declared again: now in the order of this declaration
    this.fields.set(key, { field, index });
  }

  /** Answers whether there was an index on `field`. */
  drop(field: string): boolean {
    return this.fields.delete(fieldPathAt(field, 'field').path.join('.'));
  }

  insert(label: number, payload: Payload | null): void {
    for (const { index } of this.fields.values()) index.insert(label, payload);
  }

  remove(label: number, payload: Payload | null): void {
    for (const { index } of this.fields.values()) index.remove(label, payload);
  }

  /** Whether the point of `label` passes `f` (the scan's meaning, one point). */
  passes(f: ParsedFilter, label: number): boolean {
    const p = this.points.byLabelOf(label);
    return p !== undefined && pointMatches(f, p.id, p.payload);
  }

  /**
   * The share of the points that pass `f`, estimated for the planner's choice, which never changes an answer,
   * only its cost: from the payload indexes' counts where they answer every condition (conditions taken as
   * independent), else from SHARE_SAMPLES points spread evenly over the labels.
   */
  estimateShare(f: ParsedFilter): number {
    const labels = this.points.labels();
    if (labels.length === 0) return 0;
    const counted = this.shareOf(f, labels.length);
    if (counted !== undefined) return Math.min(1, counted);
    const samples = Math.min(SHARE_SAMPLES, labels.length);
    let passed = 0;
    for (let i = 0; i < samples; i++) if (this.passes(f, labels[Math.floor((i * labels.length) / samples)])) passed++;
    return passed / samples;
  }

  private shareOf(f: ParsedFilter, live: number): number | undefined {
    let share = 1;
    for (const c of f.must) {
      const s = this.conditionShare(c, live);
      if (s === undefined) return undefined;
      share *= s;
    }
    for (const [list, negate] of [
      [f.should, false],
      [f.mustNot, true],
    ] as const) {
      if (list.length === 0) continue;
      let none = 1;
      for (const c of list) {
        const s = this.conditionShare(c, live);
        if (s === undefined) return undefined;
        none *= 1 - Math.min(1, s);
      }
      share *= negate ? none : 1 - none;
    }
    return share;
  }

  private conditionShare(c: ParsedCondition, live: number): number | undefined {
    if (c.kind === 'filter') return this.shareOf(c.filter, live);
    if (c.kind === 'hasId') return Math.min(1, c.ids.size / live);
    const n = this.fields.get(c.path.join('.'))?.index.count(c, live);
    return n === undefined ? undefined : Math.min(1, n / live);
  }

  /**
   * A selector of the points that pass `f`, tested label by label as a search meets them, and how many pass
   * (exact); undefined unless `f` is one condition a value column answers (FieldIndex.lazily).
   */
  lazily(f: ParsedFilter): ColumnAnswer | undefined {
    if (f.must.length !== 1 || f.should.length > 0 || f.mustNot.length > 0) return undefined;
    const c = f.must[0];
    if (c.kind === 'filter' || c.kind === 'hasId') return undefined;
    return this.fields.get(c.path.join('.'))?.index.lazily(c);
  }

  /** The labels of the points that pass `f`. */
  evaluate(f: ParsedFilter): LabelBitmap {
    const at = this.evaluation();
    const exact = this.answerFilter(f, at);
    if (exact) return exact;
    // Scan what the indexed `must` conditions leave (every point when none is indexed).
    let candidates: LabelBitmap | undefined;
    for (const c of f.must) {
      const answer = this.answerCondition(c, at);
      if (answer) candidates = candidates ? candidates.and(answer) : answer;
    }
    const out = new LabelBitmap(at.frame);
    const test = (label: number) => {
      const p = this.points.byLabelOf(label);
      if (p && pointMatches(f, p.id, p.payload)) out.add(label);
    };
    if (candidates) candidates.forEach(test);
    else for (const label of at.labels) test(label);
    return out;
  }

  // The frame of the live labels, and their bitmap (made when a filter first needs it), until the points change.
  private evaluation(): Evaluation {
    const labels = this.points.labels();
    if (this.current?.labels === labels) return this.current;
    const frame = frameOf(labels[0], labels[labels.length - 1]);
    let live: LabelBitmap | undefined;
    this.current = { labels, frame, live: () => (live ??= new LabelBitmap(frame).addAll(labels)) };
    return this.current;
  }

  // The filter's labels from indexes alone, or undefined when a part needs a scan.
  private answerFilter(f: ParsedFilter, at: Evaluation): LabelBitmap | undefined {
    let out: LabelBitmap | undefined;
    for (const c of f.must) {
      const a = this.answerCondition(c, at);
      if (!a) return undefined;
      out = out ? out.and(a) : a;
    }
    for (const [list, negate] of [
      [f.should, false],
      [f.mustNot, true],
    ] as const) {
      if (list.length === 0) continue;
      let any: LabelBitmap | undefined;
      for (const c of list) {
        const a = this.answerCondition(c, at);
        if (!a) return undefined;
        any = any ? any.or(a) : a;
      }
      const part = negate ? at.live().copy().andNot(any as LabelBitmap) : (any as LabelBitmap);
      out = out ? out.and(part) : part;
    }
    return out ?? at.live().copy();
  }

  // A new bitmap (the caller's to change), or undefined when the condition needs a scan.
  private answerCondition(c: ParsedCondition, at: Evaluation): LabelBitmap | undefined {
    if (c.kind === 'filter') return this.answerFilter(c.filter, at);
    if (c.kind === 'hasId') {
      const out = new LabelBitmap(at.frame);
      for (const id of c.ids) {
        const p = this.points.byIdOf(id);
        if (p) out.add(p.label);
      }
      return out;
    }
    return this.fields.get(c.path.join('.'))?.index.answer(c, at.frame, at.live);
  }
}

/** One state of the points, as filters are evaluated over it. */
interface Evaluation {
  /** The live labels, sorted. */
  readonly labels: Labels;
  readonly frame: LabelFrame;
  /** Every live label (shared: copied before it is changed). */
  readonly live: () => LabelBitmap;
}
