// npm run bench:soak: the long soak. 64 clients on 8 tenants, mixed reads, writes
// (with idempotent retries), removes, index churn and bad requests
// (test/support/soak.ts), against one server for SOAK_SECONDS (default 120), in
// slices so the server's RSS is sampled along the way. Reports requests,
// statuses, 5xx answers, writes lost, and RSS after warm-up against the end.
// Nothing asserts on time or memory; the exit status is 1 if a 5xx was answered
// or an acknowledged write is missing.
//
// SEAM (crash points, the "durability" work): random SIGKILLs and restarts go in
// `faults.inject` below (runSoak accepts it; while it runs, requests that find
// no server count as "unavailable" and 503s as expected). This script passes none.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { call, startServer } from '../test/support/server';
import { runSoak, type SoakReport } from '../test/support/soak';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const SLICE_S = 10;
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 64);
const TENANTS = 8;
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results', 'soak.json');

async function main(): Promise<void> {
  const s = await startServer({ args: ['--log-level', 'silent'] });
  const rss = async () => (await call(s.url, 'GET', '/v1/admin/overview', { key: s.adminKey })).json.process.rssBytes as number;
  const total: SoakReport = { requests: 0, statuses: {}, serverErrors: [], lost: [] };
  const samples: { atS: number; rssMB: number; requestsPerSecond: number }[] = [];
  const started = Date.now();
  try {
    const slices = Math.max(1, Math.round(SECONDS / SLICE_S));
    for (let i = 0; i < slices; i++) {
      const sliceStart = Date.now();
      // Each slice works on fresh tenants (names differ by seed), so the data grows across slices as it would in use.
      const report = await runSoak({ url: () => s.url, adminKey: s.adminKey, clients: CLIENTS, tenants: TENANTS, durationMs: SLICE_S * 1000, seed: i + 1, tenantPrefix: `soak${i}-` });
      total.requests += report.requests;
      for (const [k, v] of Object.entries(report.statuses)) total.statuses[k] = (total.statuses[k] ?? 0) + v;
      total.serverErrors.push(...report.serverErrors);
      total.lost.push(...report.lost);
      const sample = { atS: Math.round((Date.now() - started) / 1000), rssMB: Math.round((await rss()) / 1e6), requestsPerSecond: Math.round(report.requests / ((Date.now() - sliceStart) / 1000)) };
      samples.push(sample);
      console.log(`t=${sample.atS}s  ${sample.requestsPerSecond} req/s  RSS ${sample.rssMB} MB  5xx so far ${total.serverErrors.length}`);
    }
  } finally {
    await s.stop();
  }
  const warm = samples[Math.min(1, samples.length - 1)].rssMB;
  const end = samples[samples.length - 1].rssMB;
  console.log(`\n${CLIENTS} clients, ${TENANTS} tenants a slice, ${SECONDS} s: ${total.requests} requests`);
  console.log(`statuses ${JSON.stringify(total.statuses)}`);
  console.log(`5xx answers: ${total.serverErrors.length}; acknowledged writes missing: ${total.lost.length}`);
  console.log(`RSS after warm-up (slice 2) ${warm} MB, at the end ${end} MB`);
  for (const e of [...total.serverErrors, ...total.lost].slice(0, 20)) console.log(`  ${e}`);
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, JSON.stringify({ clients: CLIENTS, tenants: TENANTS, seconds: SECONDS, ...total, samples }, null, 2));
  process.exitCode = total.serverErrors.length + total.lost.length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
