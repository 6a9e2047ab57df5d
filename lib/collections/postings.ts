// One value's labels in a payload index, as a typed array in increasing order:
// labels only increase, so a point's label is appended, and a filter sets their
// bits straight from the array (label-bitmap.ts), with no Set to walk and no
// sorted copy to make first (bench:collections, "cold" filters: a range reads
// the postings of 100 values). A label is removed only when its point goes
// (deleted, or replaced under a new label: labels are never reused), so a
// removal is counted, and the dead labels are dropped the next time the list is
// read. 8 bytes a label, up to twice that while the array has room to grow.
export class Postings {
  private labels = new Float64Array(4);
  private length = 0;
  private dead = 0;

  /** Labels held, less those removed. */
  get size(): number {
    return this.length - this.dead;
  }

  /** Appends `label`, larger than any held. */
  add(label: number): void {
    if (this.length === this.labels.length) {
      const grown = new Float64Array(this.labels.length * 2);
      grown.set(this.labels);
      this.labels = grown;
    }
    this.labels[this.length++] = label;
  }

  /** Counts the removal of a held label, whose point is gone (`isLive` says so from then on). */
  remove(): void {
    this.dead++;
  }

  /** The labels of live points, sorted (a view, valid until the next change). */
  read(isLive: (label: number) => boolean): Float64Array {
    if (this.dead > 0) {
      let n = 0;
      for (let i = 0; i < this.length; i++) if (isLive(this.labels[i])) this.labels[n++] = this.labels[i];
      this.length = n;
      this.dead = 0;
      if (this.labels.length > 4 * Math.max(4, n)) this.labels = this.labels.slice(0, 2 * Math.max(4, n));
    }
    return this.labels.subarray(0, this.length);
  }
}
