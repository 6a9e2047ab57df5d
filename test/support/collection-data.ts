// Random payloads and Qdrant filters for the collection tests (seeded, so a
// failure replays), and a brute-force evaluator of the filter language written
// from its documentation (docs/api.md "Collections"), independently of
// lib/collections/match.ts: the tests compare the library against it.
import { rng } from './data';

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

const SOURCES = ['wiki', 'web', 'news', 'blog', 'forum'];
const TAGS = ['a', 'b', 'c', 'd', 'e', 'f'];
const DATES = ['2024-01-01T00:00:00Z', '2024-03-15T12:00:00Z', '2024-06-30', '2024-06-30T23:59:59.5+02:00', '2025-01-01 00:00:00', 'not a date'];

export function randomPayload(next: () => number): { [k: string]: Json } | null {
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  if (next() < 0.05) return null;
  const p: { [k: string]: Json } = {};
  if (next() < 0.9) p.src = next() < 0.1 ? pick([3, null, ['wiki', 'web']]) : pick(SOURCES);
  if (next() < 0.9) p.n = next() < 0.1 ? pick(['7', null, [1, 50]]) : Math.floor(next() * 100);
  if (next() < 0.8) p.score = Math.round(next() * 1000) / 100;
  if (next() < 0.8) p.flag = next() < 0.05 ? 'yes' : next() < 0.5;
  if (next() < 0.7) p.date = pick(DATES);
  if (next() < 0.7) p.tags = next() < 0.1 ? [] : TAGS.filter(() => next() < 0.3);
  if (next() < 0.6) p.meta = next() < 0.1 ? null : { lang: pick(['en', 'fr', 'de']), parts: [{ k: pick(TAGS) }, { k: pick(TAGS) }] };
  return p;
}

const FIELDS = ['src', 'n', 'score', 'flag', 'date', 'tags', 'meta.lang', 'meta.parts[].k', 'missing'];

export function randomFilter(next: () => number, ids: string[], depth = 0): Json {
  const pick = <T>(xs: T[]): T => xs[Math.floor(next() * xs.length)];
  const condition = (): Json => {
    const r = next();
    if (r < 0.1 && depth < 2) return randomFilter(next, ids, depth + 1);
    if (r < 0.15) return { is_null: { key: pick(FIELDS) } };
    if (r < 0.2) return { is_empty: { key: pick(FIELDS) } };
    if (r < 0.25) return { has_id: ids.filter(() => next() < 0.1) };
    const key = pick(FIELDS);
    const value = (): string | number => (next() < 0.5 ? pick([...SOURCES, ...TAGS, 'en', 'fr', '7']) : Math.floor(next() * 100));
    const m = next();
    if (m < 0.3) return { key, match: { value: next() < 0.15 ? next() < 0.5 : value() } };
    if (m < 0.5) return { key, match: { any: Array.from({ length: 1 + Math.floor(next() * 3) }, value) } };
    if (m < 0.6) return { key, match: { except: Array.from({ length: Math.floor(next() * 3) }, value) } };
    if (next() < 0.3) {
      const range: Record<string, string> = {};
      range[pick(['gt', 'gte'])] = pick(DATES.slice(0, 3));
      if (next() < 0.5) range[pick(['lt', 'lte'])] = pick(DATES.slice(2, 5));
      return { key, range };
    }
    const range: Record<string, number> = {};
    for (const b of ['gt', 'gte', 'lt', 'lte']) if (next() < 0.4) range[b] = Math.floor(next() * 100);
    if (Object.keys(range).length === 0) range.lt = 50;
    return { key, range };
  };
  const f: { [k: string]: Json } = {};
  for (const clause of ['must', 'should', 'must_not']) {
    if (next() < 0.5) continue;
    const n = 1 + Math.floor(next() * 3);
    f[clause] = n === 1 && next() < 0.3 ? condition() : Array.from({ length: n }, condition);
  }
  return f;
}

// ---- the brute-force evaluator ----

const isObj = (v: unknown): v is { [k: string]: Json } => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every value at the dot path, arrays on the way walked, the final array not opened. */
function reach(payload: Json, key: string): Json[] {
  let at: Json[] = [payload];
  for (const raw of key.split('.')) {
    const seg = raw.replace(/\[\]$/, '');
    const next: Json[] = [];
    for (const v of at) {
      const objs = Array.isArray(v) ? v : [v];
      for (const o of objs) if (isObj(o) && Object.prototype.hasOwnProperty.call(o, seg)) next.push(o[seg]);
    }
    at = next;
  }
  return at;
}

const leaves = (payload: Json, key: string): Json[] => reach(payload, key).flatMap((v) => (Array.isArray(v) ? v : [v]));

function instant(s: string): number | undefined {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})?)?$/.exec(s);
  if (!m) return undefined;
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4] ?? '00'}:${m[5] ?? '00'}:${m[6] ?? '00'}${m[7] ?? ''}${m[8] && m[8] !== 'z' ? m[8] : 'Z'}`;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

function inRange(v: Json, r: { [k: string]: Json }): boolean {
  const dates = Object.values(r).some((b) => typeof b === 'string');
  const x = dates ? (typeof v === 'string' ? instant(v) : undefined) : typeof v === 'number' ? v : undefined;
  if (x === undefined) return false;
  const b = (name: string) => (r[name] === undefined ? undefined : dates ? (instant(r[name] as string) as number) : (r[name] as number));
  const [gt, gte, lt, lte] = ['gt', 'gte', 'lt', 'lte'].map(b);
  return (gt === undefined || x > gt) && (gte === undefined || x >= gte) && (lt === undefined || x < lt) && (lte === undefined || x <= lte);
}

function holds(c: { [k: string]: Json }, id: string, payload: Json): boolean {
  if (!('key' in c || 'has_id' in c || 'is_null' in c || 'is_empty' in c)) return passes(c, id, payload); // a nested filter ({} too)
  if ('has_id' in c) return (c.has_id as string[]).includes(id);
  if ('is_null' in c) return reach(payload, (c.is_null as { key: string }).key).some((v) => v === null);
  if ('is_empty' in c) return leaves(payload, (c.is_empty as { key: string }).key).every((v) => v === null);
  const values = leaves(payload, c.key as string);
  if (c.range) return values.some((v) => inRange(v, c.range as { [k: string]: Json }));
  const m = c.match as { [k: string]: Json };
  if ('value' in m) return values.some((v) => v === m.value);
  if ('any' in m) return values.some((v) => (m.any as Json[]).includes(v) && v !== null && typeof v !== 'boolean');
  return values.some((v) => v !== null && !(m.except as Json[]).includes(v));
}

const list = (v: Json | undefined): { [k: string]: Json }[] => (v === undefined ? [] : ((Array.isArray(v) ? v : [v]) as { [k: string]: Json }[]));

/** Whether the point passes the filter (every must, one should when there are any, no must_not). */
export function passes(f: { [k: string]: Json }, id: string, payload: Json): boolean {
  const should = list(f.should);
  return (
    list(f.must).every((c) => holds(c, id, payload)) &&
    !list(f.must_not).some((c) => holds(c, id, payload)) &&
    (should.length === 0 || should.some((c) => holds(c, id, payload)))
  );
}

export { rng };
