// Sets of labels as sorted Float64Arrays (unique, ascending): a filter's answer
// is built from these with merges, and becomes an IDSelector in one pass.
export type Labels = Float64Array;

export const NO_LABELS: Labels = new Float64Array(0);

/** The labels of a Set whose labels were inserted in increasing order (postings, the live points). */
export const fromOrderedSet = (s: ReadonlySet<number>): Labels => Float64Array.from(s);

export function intersect(a: Labels, b: Labels): Labels {
  const out = new Float64Array(Math.min(a.length, b.length));
  let i = 0;
  let j = 0;
  let n = 0;
  while (i < a.length && j < b.length) {
    if (a[i] < b[j]) i++;
    else if (a[i] > b[j]) j++;
    else {
      out[n++] = a[i];
      i++;
      j++;
    }
  }
  return out.subarray(0, n);
}

/** `a` less the labels of `b`. */
export function difference(a: Labels, b: Labels): Labels {
  const out = new Float64Array(a.length);
  let j = 0;
  let n = 0;
  for (let i = 0; i < a.length; i++) {
    while (j < b.length && b[j] < a[i]) j++;
    if (j < b.length && b[j] === a[i]) continue;
    out[n++] = a[i];
  }
  return out.subarray(0, n);
}

/** The union of any number of label sets. */
export function union(lists: readonly Labels[]): Labels {
  if (lists.length === 0) return NO_LABELS;
  if (lists.length === 1) return lists[0];
  let total = 0;
  let min = Infinity;
  let max = -Infinity;
  for (const l of lists) {
    if (l.length === 0) continue;
    total += l.length;
    min = Math.min(min, l[0]);
    max = Math.max(max, l[l.length - 1]);
  }
  if (total === 0) return NO_LABELS;
  // Many labels in a narrow span (a range over a numeric field's many values): a mark per label, read back in order.
  if (max - min < 32 * total) {
    const marks = new Uint8Array(max - min + 1);
    for (const l of lists) for (let i = 0; i < l.length; i++) marks[l[i] - min] = 1;
    const out = new Float64Array(total);
    let n = 0;
    for (let i = 0; i < marks.length; i++) if (marks[i] === 1) out[n++] = min + i;
    return out.subarray(0, n);
  }
  const all = new Float64Array(total);
  let at = 0;
  for (const l of lists) {
    all.set(l, at);
    at += l.length;
  }
  all.sort();
  let n = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[n++] = all[i];
  return all.subarray(0, n);
}

/** Whether `label` is in `l` (binary search). */
export function hasLabel(l: Labels, label: number): boolean {
  let lo = 0;
  let hi = l.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (l[mid] < label) lo = mid + 1;
    else hi = mid;
  }
  return lo < l.length && l[lo] === label;
}
