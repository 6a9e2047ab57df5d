// bench:faiss's recall verdict (bench/lib/paired-recall.ts): the mean paired
// difference against its standard error, "not lower" from -2 standard errors up.
import { strict as assert } from 'node:assert';
import { pairedRecall } from '../../bench/lib/paired-recall';

describe('bench:faiss paired recall verdict', () => {
  it('mean, paired difference, standard error', () => {
    const p = pairedRecall([0.9, 0.92, 0.94], [0.91, 0.92, 0.92]);
    assert.equal(p.n, 3);
    assert.ok(Math.abs(p.meanOurs - 0.92) < 1e-12 && Math.abs(p.meanTheirs - 0.9166666666666666) < 1e-12);
    // differences -0.01, 0, +0.02: mean 0.00333, sd 0.015275, SE 0.008819
    assert.ok(Math.abs(p.meanDiff - 0.01 / 3) < 1e-12);
    assert.ok(Math.abs(p.seDiff - 0.015275252316519466 / Math.sqrt(3)) < 1e-12);
    assert.equal(p.verdict, 'not lower');
  });

  it('lower where the mean difference is below -2 standard errors; not lower within them', () => {
    assert.equal(pairedRecall([0.90, 0.91, 0.92], [0.91, 0.92, 0.93]).verdict, 'lower', 'always 0.01 lower: SE 0');
    assert.equal(pairedRecall([0.89, 0.93, 0.90, 0.94], [0.90, 0.92, 0.91, 0.93]).verdict, 'not lower', 'differences -0.01, +0.01, -0.01, +0.01');
    assert.equal(pairedRecall([0.88, 0.90, 0.89, 0.90], [0.90, 0.91, 0.90, 0.905]).verdict, 'lower', 'differences -0.02, -0.01, -0.01, -0.005: mean -0.01125, SE 0.0031');
    assert.equal(pairedRecall([0.95, 0.95], [0.95, 0.95]).verdict, 'not lower', 'equal builds');
  });

  it('pairs by round, skips rounds one side lacks; fewer than 2 pairs: too few', () => {
    const p = pairedRecall([0.9, NaN, 0.92], [0.91, 0.9, NaN]);
    assert.equal(p.n, 1);
    assert.equal(p.verdict, 'too few');
    assert.ok(Number.isNaN(p.seDiff));
    assert.equal(pairedRecall([], []).verdict, 'too few');
  });
});
