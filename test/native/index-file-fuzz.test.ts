// The file fuzzer against the safe reader, bounded: a valid file of each accepted
// type, mutated (fields set to 0, 1, -1, 2^31-1 and random values, cut at field
// boundaries, bit-flipped; test/support/index-file-fuzz.ts), read with
// deserializeIndex and, when accepted, added to and searched. Each type runs in
// a process of its own, so a crash is reported as one, with the case it died on.
// `npm run bench:fuzz` runs every mutation of several seeds.
import { strict as assert } from 'node:assert';
import * as path from 'node:path';
import { brokenPromise, runCase } from '../support/crash-case';
import { FUZZ_TYPES } from '../support/index-file-fuzz';

const FUZZ = JSON.stringify(path.resolve(__dirname, '..', 'support', 'index-file-fuzz.js'));
const CASES_PER_TYPE = 40;
const FLIPS = 60;
const SEED = 24;

describe('index-file fuzzer: the safe reader gives a code or a usable index, never a crash', function () {
  this.timeout(120_000);
  for (const type of Object.keys(FUZZ_TYPES)) {
    it(`${type}: ${CASES_PER_TYPE} mutated files`, async () => {
      const o = await runCase(`return require(${FUZZ}).fuzzType(${JSON.stringify(type)}, ${SEED}, ${CASES_PER_TYPE}, ${FLIPS});`, {
        timeoutMs: 90_000,
        maxRssBytes: 1.5 * 1024 ** 3,
      });
      assert.equal(brokenPromise(o), undefined, `last cases: ${o.stderr.split('\n').slice(-3).join(' | ')}`);
      assert.equal(o.status, 'value', `${o.code}: ${o.message}`);
      const counts = o.value as Record<string, number>;
      assert.equal(counts.cases, Math.min(CASES_PER_TYPE, counts.available));
      assert.ok((counts.ERR_CORRUPT_INDEX ?? 0) > 0, JSON.stringify(counts));
      const unexpected = Object.keys(counts).filter((k) => !['cases', 'available', 'accepted', 'ERR_CORRUPT_INDEX', 'ERR_UNSUPPORTED'].includes(k));
      assert.deepEqual(unexpected, [], JSON.stringify(counts));
    });
  }

  // Memory-mapped reads take another path (the sandbox checks the file, then the
  // addon maps the same open file and checks its lists' extents again).
  for (const type of ['IVFFlat', 'IVFPQ', 'IVFPQFastScan', 'IDMap(IVF)']) {
    it(`${type}, memory-mapped from a file: ${CASES_PER_TYPE} mutated files`, async () => {
      const o = await runCase(`return require(${FUZZ}).fuzzType(${JSON.stringify(type)}, ${SEED + 1}, ${CASES_PER_TYPE}, ${FLIPS}, 'mmap');`, {
        timeoutMs: 90_000,
        maxRssBytes: 1.5 * 1024 ** 3,
      });
      assert.equal(brokenPromise(o), undefined, `last cases: ${o.stderr.split('\n').slice(-3).join(' | ')}`);
      assert.equal(o.status, 'value', `${o.code}: ${o.message}`);
      const counts = o.value as Record<string, number>;
      assert.ok((counts.ERR_CORRUPT_INDEX ?? 0) > 0, JSON.stringify(counts));
    });
  }
});
