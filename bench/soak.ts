// npm run bench:soak: the long soak. 64 clients on 8 tenants, mixed reads, writes
// (with idempotent retries), removes, index churn and bad requests
// (test/support/soak.ts), for SOAK_SECONDS (default 120) against a server that
// is SIGKILLed and restarted on its data directory at random moments, its disk
// full (every write ENOSPC) for a few seconds in between (test/support/
// soak-faults.ts), and killed once more before the final check. Reports
// requests, statuses, faults, 5xx answers, acknowledged writes lost or doubled,
// and each process's RSS (sampled from /proc every second) between its restarts:
// the floor of the first third of its life after warm-up against the last
// third's. The exit status is 1 if a rule was broken: a 5xx other than a storage
// 503 while the disk was full, a request unanswered outside a kill, an
// acknowledged write missing or doubled, a write never answered, or an RSS floor
// rising by more than RSS_GROWTH_MB (default 32) within a process that lived
// long enough to tell.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { runSoak } from '../test/support/soak';
import { KillableServer, type Lifetime } from '../test/support/soak-faults';

const SECONDS = Number(process.env.SOAK_SECONDS ?? 120);
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? 64);
const TENANTS = 8;
/** Faults a random 10 to 30 s apart (SOAK_FAULT_EVERY_S=min-max); a full disk lasts 3 s. */
const FAULT_EVERY_MS = (process.env.SOAK_FAULT_EVERY_S ?? '10-30').split('-').map((x) => Number(x) * 1000) as [number, number];
const DISK_FULL_MS = 3_000;
/** A process's first seconds (loading indexes, JIT, allocator arenas) are its warm-up. */
const WARMUP_MS = 10_000;
const RSS_GROWTH_MB = Number(process.env.RSS_GROWTH_MB ?? 32);
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results', 'soak.json');

const mb = (bytes: number) => Math.round(bytes / 1e6);

/**
 * One process's RSS after its warm-up: the floor (lowest sample: what stays
 * after the garbage collector ran) of the first and of the last third of its
 * samples, so the collector's sawtooth is not taken for growth; undefined if it
 * did not live 15 s past its warm-up.
 */
function rssGrowth(life: Lifetime): { pid: number; lifeS: number; firstFloorMB: number; lastFloorMB: number; maxMB: number; heap: string } | undefined {
  const floors = (samples: [number, number][]) => {
    const after = samples.filter(([t]) => t >= WARMUP_MS).map(([, r]) => r);
    const third = Math.floor(after.length / 3);
    return { n: after.length, first: mb(Math.min(...after.slice(0, third))), last: mb(Math.min(...after.slice(after.length - third))), max: mb(Math.max(...after)) };
  };
  const rss = floors(life.rss);
  if (rss.n < 15) return undefined;
  const heap = floors(life.heap);
  return {
    pid: life.pid,
    lifeS: Math.round(life.rss[life.rss.length - 1][0] / 1000),
    firstFloorMB: rss.first,
    lastFloorMB: rss.last,
    maxMB: rss.max,
    heap: heap.n >= 15 ? `${heap.first} MB -> ${heap.last} MB` : 'not sampled',
  };
}

async function main(): Promise<void> {
  const s = await KillableServer.start();
  const sampler = setInterval(() => void s.sampleMemory(), 1000);
  const started = Date.now();
  let report;
  try {
    report = await runSoak({
      url: () => s.url,
      adminKey: s.adminKey,
      clients: CLIENTS,
      tenants: TENANTS,
      durationMs: SECONDS * 1000,
      faults: { everyMs: FAULT_EVERY_MS, kinds: { kill: () => s.killAndRestart(), storage: () => s.fillDisk(DISK_FULL_MS) } },
      beforeCheck: () => s.killAndRestart(),
    });
  } finally {
    clearInterval(sampler);
    await s.stop();
  }
  const seconds = (Date.now() - started) / 1000;
  const lives = s.lifetimes.map(rssGrowth).filter((x) => x !== undefined);
  const grew = lives.filter((l) => l.lastFloorMB - l.firstFloorMB > RSS_GROWTH_MB);

  console.log(`${CLIENTS} clients, ${TENANTS} tenants, ${SECONDS} s of load (${Math.round(seconds)} s with the final kill and check): ${report.requests} requests (${Math.round(report.requests / seconds)}/s)`);
  console.log(`faults: ${s.kills} SIGKILLs with restarts (the last one before the check), ${s.diskFullWindows} full-disk windows of ${DISK_FULL_MS / 1000} s`);
  console.log(`statuses ${JSON.stringify(report.statuses)}; writes retried ${report.retried}`);
  console.log(`5xx answers other than storage 503s during a full disk, or no answer outside a kill: ${report.serverErrors.length}`);
  console.log(`acknowledged writes lost or doubled: ${report.lost.length} (${report.checkedVectors} acknowledged vectors checked); writes never answered: ${report.unresolved.length}`);
  for (const l of lives) console.log(`  process ${l.pid} (lived ${l.lifeS} s): RSS floor after its ${WARMUP_MS / 1000} s warm-up, first third ${l.firstFloorMB} MB, last third ${l.lastFloorMB} MB (max ${l.maxMB} MB); JS heap floors ${l.heap}`);
  for (const e of [...report.serverErrors, ...report.lost, ...report.unresolved].slice(0, 20)) console.log(`  ${e}`);
  if (grew.length) console.log(`RSS grew by more than ${RSS_GROWTH_MB} MB after warm-up in ${grew.length} process(es)`);

  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, JSON.stringify({ clients: CLIENTS, tenants: TENANTS, seconds: SECONDS, kills: s.kills, diskFullWindows: s.diskFullWindows, ...report, lifetimes: s.lifetimes }, null, 2));
  process.exitCode = report.serverErrors.length + report.lost.length + report.unresolved.length + grew.length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
