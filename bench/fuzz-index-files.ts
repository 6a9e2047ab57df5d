// npm run bench:fuzz [-- SECONDS]: the index-file fuzzer, long. Round after round,
// with a new seed each, every mutation (test/support/index-file-fuzz.ts) of a valid
// file of every accepted type goes through the safe reader (deserializeIndex) and,
// when accepted, an add and a search; each type's round runs in a process of its
// own, so a crash is counted and named instead of ending the run. Prints cases
// per second and the outcomes; exits 1 on any crash, hang or uncoded error.
// The bounded version is test/native/index-file-fuzz.test.ts.
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { brokenPromise, runCase } from '../test/support/crash-case';
import { FUZZ_TYPES } from '../test/support/index-file-fuzz';

const SECONDS = Number(process.argv[2] ?? 120);
const FLIPS = 300;
const MAPPED = ['IVFFlat', 'IVFPQ', 'IVFSQ', 'IDMap(IVF)'];
const FUZZ = JSON.stringify(path.resolve(__dirname, '..', 'test', 'support', 'index-file-fuzz.js'));

async function main(): Promise<void> {
  const types = Object.keys(FUZZ_TYPES);
  const totals = new Map<string, Record<string, number>>();
  const broken: string[] = [];
  const started = performance.now();
  let cases = 0;
  // IVF types also memory-mapped from a file: that path checks the file in the
  // sandbox, then maps it in the addon.
  const runs = [...types.map((type) => ({ type, via: 'buffer' })), ...MAPPED.map((type) => ({ type, via: 'mmap' }))];
  for (let round = 0; performance.now() - started < SECONDS * 1000; round++) {
    for (const { type, via } of runs) {
      if (performance.now() - started >= SECONDS * 1000) break;
      const seed = 1000 + round;
      const label = via === 'buffer' ? type : `${type} (${via})`;
      const o = await runCase(`return require(${FUZZ}).fuzzType(${JSON.stringify(type)}, ${seed}, 1e9, ${FLIPS}, '${via}');`, {
        timeoutMs: 600_000,
        maxRssBytes: 2 * 1024 ** 3,
      });
      const why = brokenPromise(o) ?? (o.status === 'value' ? undefined : `${o.code}: ${o.message}`);
      if (why) {
        broken.push(`${label} seed ${seed}: ${why.slice(0, 300)} (last case: ${o.stderr.trim().split('\n').pop()})`);
        continue;
      }
      const counts = o.value as Record<string, number>;
      const total = totals.get(label) ?? {};
      for (const [k, v] of Object.entries(counts)) if (k !== 'available') total[k] = (total[k] ?? 0) + v;
      totals.set(label, total);
      cases += counts.cases;
    }
  }
  const seconds = (performance.now() - started) / 1000;
  console.log(`${'type'.padEnd(20)} ${'cases'.padStart(7)}  outcomes`);
  for (const [type, t] of totals) {
    const { cases: n, ...outcomes } = t;
    console.log(`${type.padEnd(20)} ${String(n).padStart(7)}  ${JSON.stringify(outcomes)}`);
  }
  console.log(`${cases} cases in ${seconds.toFixed(0)} s: ${(cases / seconds).toFixed(1)} cases/s (each: a sandboxed read, then add + search when accepted; types built and traced per round)`);
  console.log(`crashes, hangs or uncoded errors: ${broken.length}`);
  for (const b of broken) console.log(`  ${b}`);
  process.exitCode = broken.length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exitCode = 1;
});
