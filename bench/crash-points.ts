// npm run bench:crash-points: the long version of test/durability/crash-points
// and sigkill-points. Every mutating operation, every fault (a simulated crash,
// ENOSPC/EIO, a short write, fsync failing, and a real SIGKILL of a child
// process), at every durable step; prints one row per operation: the steps, the
// faults injected and the time taken. Any violation (a state neither before nor
// after the operation, files that disagree with the catalog, an error other than
// ERR_STORAGE_FAILED) stops it with the assertion.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { expectedStates, sweepFault, sweepKills } from '../test/support/crash-sweep';
import { buildTemplate, scenarios } from '../test/support/durability';

async function main(): Promise<void> {
  const template = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-bench-crash-points-'));
  const work = `${template}-work`;
  await buildTemplate(template);
  const rows: string[] = [];
  let total = 0;
  try {
    for (const scenario of scenarios) {
      const started = Date.now();
      const expected = await expectedStates(template, work, scenario);
      const struck: string[] = [];
      for (const fault of ['crash', 'error', 'short-write', 'fsync'] as const) struck.push(...(await sweepFault(template, work, scenario, fault, expected)));
      const kills = await sweepKills(template, work, scenario, expected);
      total += struck.length + kills;
      rows.push(`| ${scenario.name} | ${new Set(struck).size} | ${struck.length} | ${kills} | ${((Date.now() - started) / 1000).toFixed(1)} |`);
      console.error(rows.at(-1));
    }
  } finally {
    fs.rmSync(template, { recursive: true, force: true });
    fs.rmSync(work, { recursive: true, force: true });
  }
  console.log('| operation | durable steps | in-process faults | SIGKILLs | seconds |');
  console.log('| --- | --- | --- | --- | --- |');
  for (const r of rows) console.log(r);
  console.log(`${total} faults injected, 0 violations`);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
