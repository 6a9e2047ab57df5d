// Selectors for the filtered-search tests, written once as JSON terms: the same
// term becomes the library's IDSelector, python3-faiss's selector
// (test/support/filtered_oracle.py) and a membership test for brute force in JS.
import * as faiss from '../../lib';

export type Term =
  | { kind: 'batch' | 'array'; ids: number[] }
  | { kind: 'range'; min: number; max: number }
  | { kind: 'bitmap'; bits: number[] }
  | { kind: 'not'; sel: Term }
  | { kind: 'and' | 'or' | 'xor'; a: Term; b: Term };

export function selectorOf(t: Term): faiss.IDSelector {
  switch (t.kind) {
    case 'batch':
      return new faiss.IDSelectorBatch(t.ids);
    case 'array':
      return new faiss.IDSelectorArray(t.ids);
    case 'range':
      return new faiss.IDSelectorRange(t.min, t.max);
    case 'bitmap':
      return new faiss.IDSelectorBitmap(Uint8Array.from(t.bits));
    case 'not':
      return new faiss.IDSelectorNot(selectorOf(t.sel));
    case 'and':
      return new faiss.IDSelectorAnd(selectorOf(t.a), selectorOf(t.b));
    case 'or':
      return new faiss.IDSelectorOr(selectorOf(t.a), selectorOf(t.b));
    case 'xor':
      return new faiss.IDSelectorXOr(selectorOf(t.a), selectorOf(t.b));
  }
}

/** Whether the term selects `id`, with FAISS's semantics (a bitmap selects nothing past its end). */
export function selects(t: Term, id: number): boolean {
  switch (t.kind) {
    case 'batch':
    case 'array':
      return t.ids.includes(id);
    case 'range':
      return id >= t.min && id < t.max;
    case 'bitmap':
      return id >= 0 && id >> 3 < t.bits.length && ((t.bits[id >> 3] >> (id & 7)) & 1) === 1;
    case 'not':
      return !selects(t.sel, id);
    case 'and':
      return selects(t.a, id) && selects(t.b, id);
    case 'or':
      return selects(t.a, id) || selects(t.b, id);
    case 'xor':
      return selects(t.a, id) !== selects(t.b, id);
  }
}

/** A bitmap term with the given ids set. */
export function bitmapOf(ids: number[], bytes: number): Term {
  const bits = new Array<number>(bytes).fill(0);
  for (const id of ids) if (id >> 3 < bytes) bits[id >> 3] |= 1 << (id & 7);
  return { kind: 'bitmap', bits };
}

/**
 * Exact k nearest among the stored vectors (xb's rows, stored under `ids`) that
 * `t` selects, in float64: L2 squared distances ascending, or inner products
 * descending; -1 padding as FAISS gives it.
 */
export function bruteForce(xb: Float32Array, ids: number[], xq: Float32Array, d: number, k: number, t: Term, metric: number): { labels: number[]; distances: number[] } {
  const labels: number[] = [];
  const distances: number[] = [];
  const ip = metric === faiss.METRIC_INNER_PRODUCT;
  for (let q = 0; q < xq.length / d; q++) {
    const scored: [number, number][] = [];
    for (let i = 0; i < ids.length; i++) {
      if (!selects(t, ids[i])) continue;
      let s = 0;
      for (let j = 0; j < d; j++) {
        const a = xq[q * d + j];
        const b = xb[i * d + j];
        s += ip ? a * b : (a - b) * (a - b);
      }
      scored.push([s, ids[i]]);
    }
    scored.sort((x, y) => (ip ? y[0] - x[0] : x[0] - y[0]));
    for (let r = 0; r < k; r++) {
      labels.push(r < scored.length ? scored[r][1] : -1);
      distances.push(r < scored.length ? scored[r][0] : ip ? -3.4028234663852886e38 : 3.4028234663852886e38);
    }
  }
  return { labels, distances };
}
