// What a parsed filter means for one point: the scan that answers a filter on a
// field without a payload index, and the definition payload indexes must agree
// with (test/collections/core-payload-index: index results == scan results).
//
// A path walks objects; an array met on the way is walked element by element,
// and an array at the end stands for its elements: "an array value on the path
// matches when any element does".
import { datetimeOf } from './datetime';
import type { ParsedCondition, ParsedFilter, RangeBounds } from './filter';
import type { Payload, PayloadValue } from './types';

const isRecord = (v: PayloadValue | undefined): v is { [key: string]: PayloadValue } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The values the path reaches, before arrays at its end are opened. */
export function rawValuesAt(payload: Payload | null, path: readonly string[]): PayloadValue[] {
  if (payload === null) return [];
  let at: PayloadValue[] = [payload];
  for (const segment of path) {
    const next: PayloadValue[] = [];
    for (const v of at) {
      if (Array.isArray(v)) {
        for (const e of v) if (isRecord(e) && Object.hasOwn(e, segment)) next.push(e[segment]);
      } else if (isRecord(v) && Object.hasOwn(v, segment)) {
        next.push(v[segment]);
      }
    }
    if (next.length === 0) return next;
    at = next;
  }
  return at;
}

/** The values a condition on the path is tested against: arrays at the end opened into their elements. */
export function valuesAt(payload: Payload | null, path: readonly string[]): PayloadValue[] {
  const out: PayloadValue[] = [];
  for (const v of rawValuesAt(payload, path)) {
    if (Array.isArray(v)) out.push(...v);
    else out.push(v);
  }
  return out;
}

/** Whether `v` lies within the bounds (numbers for a numeric range, ISO date-time strings for a datetime one). */
export function inRange(v: PayloadValue, r: RangeBounds): boolean {
  let x: number | undefined;
  if (r.on === 'number') x = typeof v === 'number' ? v : undefined;
  else x = typeof v === 'string' ? datetimeOf(v) : undefined;
  return x !== undefined && withinBounds(x, r);
}

export const withinBounds = (x: number, r: RangeBounds): boolean =>
  (r.gt === undefined || x > r.gt) && (r.gte === undefined || x >= r.gte) && (r.lt === undefined || x < r.lt) && (r.lte === undefined || x <= r.lte);

/** Whether the point (`id`, `payload`) passes the filter. */
export function pointMatches(f: ParsedFilter, id: string, payload: Payload | null): boolean {
  for (const c of f.must) if (!conditionHolds(c, id, payload)) return false;
  for (const c of f.mustNot) if (conditionHolds(c, id, payload)) return false;
  if (f.should.length === 0) return true;
  for (const c of f.should) if (conditionHolds(c, id, payload)) return true;
  return false;
}

// What plainValueAt answers when the path meets an array: the general walk (valuesAt) decides.
const ARRAY_MET = Symbol('array met');

/**
 * The value at the path when it meets no array on the way nor at its end (most payloads), undefined where the
 * path is missing: valuesAt's one value or none, without building its lists (the scan and the planner's
 * over-fetch test a condition on many points, bench:collections "cold" filters).
 */
function plainValueAt(payload: Payload | null, path: readonly string[]): PayloadValue | undefined | typeof ARRAY_MET {
  let v: PayloadValue | null = payload;
  for (const segment of path) {
    if (!isRecord(v)) return Array.isArray(v) ? ARRAY_MET : undefined;
    if (!Object.hasOwn(v, segment)) return undefined;
    v = v[segment];
  }
  return Array.isArray(v) ? ARRAY_MET : v;
}

export function conditionHolds(c: ParsedCondition, id: string, payload: Payload | null): boolean {
  switch (c.kind) {
    case 'match': {
      const v = plainValueAt(payload, c.path);
      if (v !== ARRAY_MET) return v === c.value;
      return valuesAt(payload, c.path).some((v) => v === c.value);
    }
    case 'any':
      return valuesAt(payload, c.path).some((v) => (typeof v === 'string' || typeof v === 'number') && c.values.has(v));
    case 'except':
      // The field has a value, and one of its values is none of the given ones.
      return valuesAt(payload, c.path).some((v) => v !== null && !((typeof v === 'string' || typeof v === 'number') && c.values.has(v)));
    case 'range': {
      const v = plainValueAt(payload, c.path);
      if (v !== ARRAY_MET) return v !== undefined && inRange(v, c.range);
      return valuesAt(payload, c.path).some((v) => inRange(v, c.range));
    }
    case 'isNull':
      return rawValuesAt(payload, c.path).some((v) => v === null);
    case 'isEmpty':
      return !valuesAt(payload, c.path).some((v) => v !== null);
    case 'hasId':
      return c.ids.has(id);
    case 'filter':
      return pointMatches(c.filter, id, payload);
  }
}
