// What a filter is evaluated to: a bit per label between the oldest live point's
// label and the newest's, so that the postings of many values are unioned by
// setting bits (no merge, no sorted list in between), conditions are combined a
// 32-bit word at a time, and the answer is handed to FAISS's IDSelectorBitmap as
// it is (bench:collections, "cold" filters: a range over 100 values of a numeric
// field, 20,000 of 200,000 points, costs 0.44 ms as merged sorted labels and a
// bitmap made from them, a tenth of that as bits set straight from the postings).
// Every bitmap of one evaluation shares its frame (first label and length), so
// that the word-wise operations need no shifting.
import { FaissError } from '../errors';

/** The labels a bitmap of one evaluation covers: [base, base + 32 * words). `base` is a multiple of 32. */
export interface LabelFrame {
  readonly base: number;
  readonly words: number;
}

/** The most labels a frame spans: bit offsets stay in 32-bit arithmetic, and a bitmap within 256 MiB. */
export const MAX_FRAME_LABELS = 2 ** 31;

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The frame of labels from `first` to `last` (inclusive), or of no label when `last` < `first`. */
export function frameOf(first: number, last: number): LabelFrame {
  if (!(last >= first)) return { base: 0, words: 0 };
  const base = first - (first % 32);
  const span = last - base + 1;
  if (span > MAX_FRAME_LABELS) {
    // 2^31 upserts since the oldest point still stored: its bitmaps would pass 256 MiB each.
    throw new FaissError(`The collection's live points span ${span} labels (upserts since its oldest point), over the ${MAX_FRAME_LABELS} a filter is evaluated over`, 'ERR_RESOURCE_LIMIT');
  }
  return { base, words: Math.ceil(span / 32) };
}

export class LabelBitmap {
  /** Bit i of word w: label base + 32w + i. */
  readonly words: Uint32Array;
  /** How many bits are set, or -1 when not known (after and, or, and-not): counted as bits are set, else popcount. */
  private counted = 0;

  constructor(readonly frame: LabelFrame) {
    this.words = new Uint32Array(frame.words);
  }

  /** Sets the bit of each label (all within the frame). */
  addAll(labels: ArrayLike<number>): this {
    const { words } = this;
    const base = this.frame.base;
    let added = 0;
    for (let i = 0; i < labels.length; i++) {
      const at = labels[i] - base;
      const w = words[at >>> 5];
      const bit = 1 << (at & 31);
      if ((w & bit) === 0) {
        words[at >>> 5] = w | bit;
        added++;
      }
    }
    if (this.counted >= 0) this.counted += added;
    return this;
  }

  /** Sets the bit of each label of an iterable (a Set of labels). */
  addEach(labels: Iterable<number>): this {
    for (const label of labels) this.add(label);
    return this;
  }

  add(label: number): void {
    const at = label - this.frame.base;
    const w = this.words[at >>> 5];
    const bit = 1 << (at & 31);
    if ((w & bit) !== 0) return;
    this.words[at >>> 5] = w | bit;
    if (this.counted >= 0) this.counted++;
  }

  has(label: number): boolean {
    const at = label - this.frame.base;
    if (!(at >= 0 && at < this.words.length * 32)) return false;
    return (this.words[at >>> 5] & (1 << (at & 31))) !== 0;
  }

  /** This and `other` (of the same frame), in place. */
  and(other: LabelBitmap): this {
    const a = this.words;
    const b = other.words;
    for (let w = 0; w < a.length; w++) a[w] &= b[w];
    this.counted = -1;
    return this;
  }

  /** This or `other` (of the same frame), in place. */
  or(other: LabelBitmap): this {
    const a = this.words;
    const b = other.words;
    for (let w = 0; w < a.length; w++) a[w] |= b[w];
    this.counted = -1;
    return this;
  }

  /** This less `other` (of the same frame), in place. */
  andNot(other: LabelBitmap): this {
    const a = this.words;
    const b = other.words;
    for (let w = 0; w < a.length; w++) a[w] &= ~b[w];
    this.counted = -1;
    return this;
  }

  copy(): LabelBitmap {
    const out = new LabelBitmap(this.frame);
    out.words.set(this.words);
    out.counted = this.counted;
    return out;
  }

  /** How many labels are set. */
  get count(): number {
    if (this.counted >= 0) return this.counted;
    const { words } = this;
    let n = 0;
    for (let w = 0; w < words.length; w++) {
      let v = words[w];
      if (v === 0) continue;
      v -= (v >>> 1) & 0x55555555;
      v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
      n += (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24);
    }
    return (this.counted = n);
  }

  /** Calls `fn` with each label set, in increasing order. */
  forEach(fn: (label: number) => void): void {
    const { words } = this;
    const base = this.frame.base;
    for (let w = 0; w < words.length; w++) {
      let v = words[w];
      while (v !== 0) {
        const low = v & -v;
        fn(base + w * 32 + (31 - Math.clz32(low)));
        v ^= low;
      }
    }
  }

  /** The labels set, sorted. */
  labels(): Float64Array {
    // forEach's loop without its call per label: a 1% filter's subset search takes its 2,000 labels from here.
    const out = new Float64Array(this.count);
    const { words } = this;
    let n = 0;
    for (let w = 0, at = this.frame.base; w < words.length; w++, at += 32) {
      let v = words[w];
      while (v !== 0) {
        const low = v & -v;
        out[n++] = at + 31 - Math.clz32(low);
        v ^= low;
      }
    }
    return out;
  }

  /** The largest label set, or -1 when none is. */
  last(): number {
    const { words } = this;
    for (let w = words.length - 1; w >= 0; w--) if (words[w] !== 0) return this.frame.base + w * 32 + (31 - Math.clz32(words[w]));
    return -1;
  }

  /**
   * The labels set as FAISS's IDSelectorBitmap takes them, label 0 first: bit (l & 7) of byte l >> 3, `bytes` bytes
   * (the largest label set's byte at least). On a little-endian machine with the frame at 0, a view of the words.
   */
  bitmapBytes(bytes: number): Uint8Array {
    const base = this.frame.base;
    if (LITTLE_ENDIAN && base === 0 && bytes <= this.words.byteLength) return new Uint8Array(this.words.buffer, this.words.byteOffset, bytes);
    const out = new Uint8Array(bytes);
    if (LITTLE_ENDIAN) {
      const own = new Uint8Array(this.words.buffer, this.words.byteOffset, Math.max(0, Math.min(this.words.byteLength, bytes - base / 8)));
      if (own.length > 0) out.set(own, base / 8);
    } else {
      this.forEach((label) => {
        if (label < bytes * 8) out[Math.floor(label / 8)] |= 1 << label % 8;
      });
    }
    return out;
  }
}
