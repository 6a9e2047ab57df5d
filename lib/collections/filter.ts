// The filter language of collections: Qdrant's JSON shape, parsed once into a
// typed tree before anything is searched (after Qdrant's lib/segment types.rs).
// Every way a filter can be wrong is an ERR_INVALID_FILTER that names the path
// of the offending part ("filter.must[2].range.gt: ..."), so a user can find it.
import { FaissError } from '../errors';
import { isFiniteNumber, isObject } from '../is';
import { COLLECTION_LIMITS } from './limits';
import { datetimeOf } from './datetime';
import { pointIdProblem } from './point-id';

/** A payload field path: the key as given, and its segments ("meta.tags[]" → ["meta", "tags"]). */
export interface FieldPath {
  readonly key: string;
  readonly path: readonly string[];
}

/** Bounds of a range, all numbers, or all instants (ms since the epoch) of ISO 8601 date-times. */
export interface RangeBounds {
  readonly on: 'number' | 'datetime';
  readonly gt?: number;
  readonly gte?: number;
  readonly lt?: number;
  readonly lte?: number;
}

export type ParsedCondition =
  | (FieldPath & { readonly kind: 'match'; readonly value: string | number | boolean })
  | (FieldPath & { readonly kind: 'any'; readonly values: ReadonlySet<string | number> })
  | (FieldPath & { readonly kind: 'except'; readonly values: ReadonlySet<string | number> })
  | (FieldPath & { readonly kind: 'range'; readonly range: RangeBounds })
  | (FieldPath & { readonly kind: 'isNull' })
  | (FieldPath & { readonly kind: 'isEmpty' })
  | { readonly kind: 'hasId'; readonly ids: ReadonlySet<string> }
  | { readonly kind: 'filter'; readonly filter: ParsedFilter };

/** A validated filter: every `must`, at least one `should` when there are any, no `must_not`. */
export interface ParsedFilter {
  readonly must: readonly ParsedCondition[];
  readonly should: readonly ParsedCondition[];
  readonly mustNot: readonly ParsedCondition[];
  /** The filter as canonical JSON: equal texts select the same points (a cache key). */
  readonly text: string;
}

const invalid = (where: string, what: string): FaissError => new FaissError(`${where}: ${what}`, 'ERR_INVALID_FILTER');

// Counts what a filter holds as it is parsed, so that a huge one fails early.
interface Budget {
  conditions: number;
  values: number;
}

/**
 * Parses and validates a filter (Qdrant's shape, see docs/api.md "Collections").
 * `where` names the filter in error messages.
 */
export function parseFilter(value: unknown, where = 'filter'): ParsedFilter {
  const budget: Budget = { conditions: 0, values: 0 };
  try {
    return filterAt(value, where, 1, budget);
  } catch (e) {
    if (e instanceof FaissError) throw e;
    // A getter or a Proxy trap of the caller's object threw, or the stack ran out.
    throw invalid(where, `could not be read (${e instanceof Error ? e.message : String(e)})`);
  }
}

const FILTER_KEYS: Record<string, 'must' | 'should' | 'mustNot'> = { must: 'must', should: 'should', must_not: 'mustNot' };

function filterAt(value: unknown, where: string, depth: number, budget: Budget): ParsedFilter {
  if (!isObject(value)) throw invalid(where, `expected a filter object ({ must?, should?, must_not? }) but received ${kindOf(value)}`);
  if (depth > COLLECTION_LIMITS.filterDepth) throw invalid(where, `filters nest deeper than ${COLLECTION_LIMITS.filterDepth}`);
  const out = { must: [] as ParsedCondition[], should: [] as ParsedCondition[], mustNot: [] as ParsedCondition[] };
  const text: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const slot = FILTER_KEYS[key];
    if (!Object.hasOwn(FILTER_KEYS, key)) throw invalid(`${where}.${key}`, 'unknown key (a filter takes must, should and must_not)');
    const given = value[key];
    const list = Array.isArray(given) ? given : [given];
    const listWhere = (i: number) => (Array.isArray(given) ? `${where}.${key}[${i}]` : `${where}.${key}`);
    const parsed = list.map((c, i) => conditionAt(c, listWhere(i), depth, budget));
    out[slot] = parsed;
    text[key] = parsed.map(conditionText);
  }
  return { ...out, text: JSON.stringify(text) };
}

function conditionAt(value: unknown, where: string, depth: number, budget: Budget): ParsedCondition {
  if (++budget.conditions > COLLECTION_LIMITS.filterConditions) {
    throw invalid(where, `a filter holds at most ${COLLECTION_LIMITS.filterConditions} conditions`);
  }
  if (!isObject(value)) throw invalid(where, `expected a condition object but received ${kindOf(value)}`);
  const keys = Object.keys(value);
  // {} is an empty filter (it imposes nothing), as at the top.
  if (keys.length === 0 || keys.some((k) => Object.hasOwn(FILTER_KEYS, k))) return { kind: 'filter', filter: filterAt(value, where, depth + 1, budget) };
  if (Object.hasOwn(value, 'key')) return fieldCondition(value, keys, where, budget);
  if (keys.length !== 1) throw invalid(where, `unknown condition with keys ${keys.map((k) => JSON.stringify(k)).join(', ')}`);
  const [kind] = keys;
  const body = value[kind];
  switch (kind) {
    case 'is_null':
    case 'is_empty': {
      if (!isObject(body)) throw invalid(`${where}.${kind}`, `expected { "key": ... } but received ${kindOf(body)}`);
      const extra = Object.keys(body).find((k) => k !== 'key');
      if (extra !== undefined) throw invalid(`${where}.${kind}.${extra}`, `unknown key (${kind} takes only key)`);
      const field = fieldPathAt(body.key, `${where}.${kind}.key`);
      return { kind: kind === 'is_null' ? 'isNull' : 'isEmpty', ...field };
    }
    case 'has_id':
      return { kind: 'hasId', ids: new Set(valueList(body, `${where}.has_id`, budget, 'string')) as Set<string> };
    default:
      throw invalid(`${where}.${kind}`, 'unknown condition (expected key with match or range, is_null, is_empty, has_id, or a nested filter)');
  }
}

function fieldCondition(value: Record<string, unknown>, keys: string[], where: string, budget: Budget): ParsedCondition {
  const field = fieldPathAt(value.key, `${where}.key`);
  const extra = keys.find((k) => k !== 'key' && k !== 'match' && k !== 'range');
  if (extra !== undefined) throw invalid(`${where}.${extra}`, 'unknown key (a field condition takes key and one of match or range)');
  const hasMatch = Object.hasOwn(value, 'match');
  const hasRange = Object.hasOwn(value, 'range');
  if (hasMatch === hasRange) throw invalid(where, 'a field condition takes exactly one of match or range');
  return hasMatch ? { ...field, ...matchAt(value.match, `${where}.match`, budget) } : { ...field, kind: 'range', range: rangeAt(value.range, `${where}.range`) };
}

type MatchPart =
  | { kind: 'match'; value: string | number | boolean }
  | { kind: 'any'; values: ReadonlySet<string | number> }
  | { kind: 'except'; values: ReadonlySet<string | number> };

function matchAt(value: unknown, where: string, budget: Budget): MatchPart {
  if (!isObject(value)) throw invalid(where, `expected { value } , { any } or { except } but received ${kindOf(value)}`);
  const keys = Object.keys(value);
  if (keys.length !== 1) throw invalid(where, 'expected exactly one of value, any or except');
  const [kind] = keys;
  const body = value[kind];
  switch (kind) {
    case 'value':
      if (typeof body === 'string' || typeof body === 'boolean' || isFiniteNumber(body)) return { kind: 'match', value: body };
      throw invalid(`${where}.value`, `expected a string, a finite number or a boolean but received ${kindOf(body)}`);
    case 'any':
    case 'except':
      return { kind, values: new Set(valueList(body, `${where}.${kind}`, budget, 'string or number')) };
    default:
      throw invalid(`${where}.${kind}`, 'unknown match (expected value, any or except)');
  }
}

const BOUNDS = ['gt', 'gte', 'lt', 'lte'] as const;

function rangeAt(value: unknown, where: string): RangeBounds {
  if (!isObject(value)) throw invalid(where, `expected { gt?, gte?, lt?, lte? } but received ${kindOf(value)}`);
  const keys = Object.keys(value);
  const extra = keys.find((k) => !(BOUNDS as readonly string[]).includes(k));
  if (extra !== undefined) throw invalid(`${where}.${extra}`, 'unknown key (a range takes gt, gte, lt and lte)');
  if (keys.length === 0) throw invalid(where, 'expected at least one of gt, gte, lt, lte');
  let on: RangeBounds['on'] | undefined;
  const bounds: { -readonly [K in (typeof BOUNDS)[number]]?: number } = {};
  for (const bound of BOUNDS) {
    if (!Object.hasOwn(value, bound)) continue;
    const v = value[bound];
    const at = `${where}.${bound}`;
    const instant = typeof v === 'string' ? datetimeOf(v) : undefined;
    const kind = isFiniteNumber(v) ? 'number' : instant !== undefined ? 'datetime' : undefined;
    if (kind === undefined) throw invalid(at, `expected a number or an ISO 8601 date-time but received ${kindOf(v)}`);
    if (on !== undefined && on !== kind) throw invalid(at, `a range's bounds are all numbers or all date-times (this one is a ${kind === 'number' ? 'number' : 'date-time'})`);
    on = kind;
    bounds[bound] = kind === 'number' ? (v as number) : (instant as number);
  }
  return { on: on as RangeBounds['on'], ...bounds };
}

function valueList(value: unknown, where: string, budget: Budget, expected: 'string' | 'string or number'): (string | number)[] {
  if (!Array.isArray(value)) throw invalid(where, `expected an array of ${expected === 'string' ? 'point ids' : 'strings or numbers'} but received ${kindOf(value)}`);
  budget.values += value.length;
  if (budget.values > COLLECTION_LIMITS.filterValues) {
    throw invalid(where, `a filter's has_id, any and except lists hold at most ${COLLECTION_LIMITS.filterValues} values together`);
  }
  const out: (string | number)[] = [];
  for (let i = 0; i < value.length; i++) {
    const v: unknown = value[i];
    if (expected === 'string') {
      const problem = pointIdProblem(v);
      if (problem) throw invalid(`${where}[${i}]`, problem);
    } else if (typeof v !== 'string' && !isFiniteNumber(v)) {
      throw invalid(`${where}[${i}]`, `expected a string or a finite number but received ${kindOf(v)}`);
    }
    out.push(v as string | number);
  }
  return out;
}

/** A payload field's dot-separated path (a trailing "[]" on a segment, Qdrant's array mark, is allowed and implied). */
export function fieldPathAt(value: unknown, where: string): FieldPath {
  if (typeof value !== 'string') throw invalid(where, `expected a payload field path (a string) but received ${kindOf(value)}`);
  if (value.length === 0) throw invalid(where, 'the field path is empty');
  if (Buffer.byteLength(value) > COLLECTION_LIMITS.fieldBytes) throw invalid(where, `a field path is at most ${COLLECTION_LIMITS.fieldBytes} bytes`);
  const path = value.split('.').map((segment) => (segment.endsWith('[]') ? segment.slice(0, -2) : segment));
  if (path.some((segment) => segment.length === 0)) throw invalid(where, `${JSON.stringify(value)} has an empty segment`);
  return { key: value, path };
}

function conditionText(c: ParsedCondition): unknown {
  switch (c.kind) {
    case 'match':
      return { key: c.key, match: { value: c.value } };
    case 'any':
    case 'except':
      return { key: c.key, match: { [c.kind]: [...c.values] } };
    case 'range':
      return { key: c.key, range: c.range };
    case 'isNull':
      return { is_null: { key: c.key } };
    case 'isEmpty':
      return { is_empty: { key: c.key } };
    case 'hasId':
      return { has_id: [...c.ids] };
    case 'filter':
      return JSON.parse(c.filter.text);
  }
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}`;
  if (typeof v === 'number' || typeof v === 'boolean') return `${typeof v} ${String(v)}`;
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
