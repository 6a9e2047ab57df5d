// A numeric payload index's value per label (integer, float and datetime
// fields; a datetime as its instant), in memory the addon owns and FAISS's
// selector reads (native/value_column.h): a filter of one range (or one number)
// on the field is tested label by label as the search meets them, instead of
// being evaluated to a bitmap of every label first. At 10% of 200,000 points the
// evaluation sets 20,000 bits for a search whose walk asks about a few hundred
// labels (bench:collections, "10% cold"). Exact only while no live point holds
// several values in the field (payload-index.ts keeps count).
//
// A label's value is NaN where the point has none (or several); the column spans
// the labels from the lowest one with a value, with room to grow, and moves to a
// new column when a label falls outside it. The old one stays readable by the
// searches that hold it.
import { native, type NativeValueColumn } from '../native';
import { valueRangeSelector, type IDSelector } from '../selectors';
import type { RangeBounds } from './filter';
import { MAX_FRAME_LABELS } from './label-bitmap';

const FIRST_LENGTH = 1024;

const boundsOf = (r: Omit<RangeBounds, 'on'>) => ({ gt: r.gt ?? -Infinity, gte: r.gte ?? -Infinity, lt: r.lt ?? Infinity, lte: r.lte ?? Infinity });

export class ValueColumn {
  private column: NativeValueColumn | undefined;
  private base = 0;
  /**
   * Set when a larger column could not be had (its labels spread past MAX_FRAME_LABELS, which frameOf refuses too,
   * or the memory limits refused it): from then on the column answers nothing, and filters are evaluated, so that
   * an upsert never fails for it.
   */
  private incomplete = false;

  /** Whether the column holds every label's value (else filters are evaluated the other way). */
  get complete(): boolean {
    return !this.incomplete;
  }

  /** Sets the value of `label` (NaN: none). */
  set(label: number, value: number): void {
    if (this.incomplete) return;
    const at = label - this.base;
    const column = this.column && at >= 0 && at < this.column.values.length ? this.column : this.moveTo(label);
    if (column) column.values[label - this.base] = value;
  }

  /** Forgets the value of `label`, whose point is gone. */
  clear(label: number): void {
    const at = label - this.base;
    if (this.column && at >= 0 && at < this.column.values.length) this.column.values[at] = NaN;
  }

  /** The labels whose value is within `r` (no label when none has a value). */
  selector(r: Omit<RangeBounds, 'on'>): IDSelector {
    const column = this.column ?? native.newValueColumn(this.base, 1);
    return valueRangeSelector(column, this.base, boundsOf(r));
  }

  /**
   * Whether a label's value is within `r`, as the selector's is_member tests it (native/value_column.h), read here:
   * the over-fetch tests the labels its unfiltered search found, a read of this column each where the point's
   * payload costs several reads from anywhere (its map entry, the point, the payload object): about 0.7 µs a label
   * (bench:collections, "cold" filters). Valid until the next upsert.
   */
  tester(r: Omit<RangeBounds, 'on'>): (label: number) => boolean {
    const values = this.column?.values;
    if (!values) return () => false;
    const base = this.base;
    const { gt, gte, lt, lte } = boundsOf(r);
    return (label) => {
      const v = values[label - base];
      // Out of the column: undefined, and NaN (no value): every comparison false.
      return (v as number) > gt && (v as number) >= gte && (v as number) < lt && (v as number) <= lte;
    };
  }

  // A column spanning `label` and every label with a value, twice that long, the values copied.
  private moveTo(label: number): NativeValueColumn | undefined {
    const old = this.column;
    let lo = label;
    let hi = label;
    if (old) {
      const v = old.values;
      let first = 0;
      while (first < v.length && Number.isNaN(v[first])) first++;
      let last = v.length - 1;
      while (last >= first && Number.isNaN(v[last])) last--;
      if (first <= last) {
        lo = Math.min(lo, this.base + first);
        hi = Math.max(hi, this.base + last);
      }
    }
    const span = hi - lo + 1;
    let next: NativeValueColumn | undefined;
    try {
      if (span <= MAX_FRAME_LABELS) next = native.newValueColumn(lo, Math.min(MAX_FRAME_LABELS, Math.max(FIRST_LENGTH, 2 * span)));
    } catch {
      // ERR_RESOURCE_LIMIT, out of memory: below.
    }
    if (!next) {
      this.incomplete = true;
      this.column = undefined;
      return undefined;
    }
    if (old) {
      const from = Math.max(lo, this.base);
      const to = Math.min(this.base + old.values.length, lo + next.values.length);
      if (to > from) next.values.set(old.values.subarray(from - this.base, to - this.base), from - lo);
    }
    this.column = next;
    this.base = lo;
    return next;
  }
}
