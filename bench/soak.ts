// npm run bench:soak: the long soak. 64 clients on 8 tenants, mixed reads, writes
// (with idempotent retries), removes, index churn and bad requests
// (test/support/soak.ts), for SOAK_SECONDS (default 120) against a server that
// is SIGKILLed and restarted on its data directory at random moments, its disk
// full (every write ENOSPC) for a few seconds in between (test/support/
// soak-faults.ts), and killed once more before the final check. Reports
// requests, statuses, faults, 5xx answers, acknowledged writes lost or doubled,
// and each process's memory between its restarts, sampled every second: RSS
// (from /proc) and live memory (JS heap used plus C heap in use, from the
// service's overview); the floor of the first third of its life after warm-up
// against the last third's. The exit status is 1 if a rule was broken: a 5xx
// other than a storage 503 while the disk was full, a request unanswered outside
// a kill, an acknowledged write missing or doubled, a write never answered, or a
// live-memory floor rising by more than LIVE_GROWTH_MB (default 32) within a
// process that lived long enough to tell. RSS is reported, not judged: glibc
// keeps freed memory in fragmented arenas, so RSS rises 9-63 MB over a life
// with no leak (bench/RESULTS.md, docs/operations.md "Memory"); a leak is live
// memory, which the live floor sees.
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
const LIVE_GROWTH_MB = Number(process.env.LIVE_GROWTH_MB ?? 32);
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results', 'soak.json');

const mb = (bytes: number) => Math.round(bytes / 1e6);

/**
 * One process's memory after its warm-up: the floor (lowest sample: what stays
 * after the garbage collector ran and its finalizers freed native memory) of the
 * first and of the last third of its samples, so the collector's sawtooth is not
 * taken for growth; undefined if it did not live 15 s past its warm-up. Live
 * memory is the JS heap used plus the C heap in use, sampled together (Buffers'
 * and search results' bytes are C heap).
 */
function memoryGrowth(life: Lifetime) {
  const floors = (samples: [number, number][]) => {
    const after = samples.filter(([t]) => t >= WARMUP_MS).map(([, r]) => r);
    const third = Math.floor(after.length / 3);
    return { n: after.length, first: mb(Math.min(...after.slice(0, third))), last: mb(Math.min(...after.slice(after.length - third))), max: mb(Math.max(...after)) };
  };
  const rss = floors(life.rss);
  if (rss.n < 15) return undefined;
  const heapAt = new Map(life.heap);
  const live = floors(life.nativeHeap.filter(([t]) => heapAt.has(t)).map(([t, b]): [number, number] => [t, b + heapAt.get(t)!]));
  const heap = floors(life.heap);
  const native = floors(life.nativeHeap);
  const span = (f: typeof rss) => (f.n >= 15 ? `${f.first} -> ${f.last} MB` : 'not sampled');
  return {
    pid: life.pid,
    lifeS: Math.round(life.rss[life.rss.length - 1][0] / 1000),
    rss: `${span(rss)} (max ${rss.max} MB)`,
    heap: span(heap),
    native: span(native),
    live: span(live),
    /** undefined: too few live samples to judge */
    liveGrowthMB: live.n >= 15 ? live.last - live.first : undefined,
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
  const lives = s.lifetimes.map(memoryGrowth).filter((x) => x !== undefined);
  const grew = lives.filter((l) => l.liveGrowthMB === undefined || l.liveGrowthMB > LIVE_GROWTH_MB);

  console.log(`${CLIENTS} clients, ${TENANTS} tenants, ${SECONDS} s of load (${Math.round(seconds)} s with the final kill and check): ${report.requests} requests (${Math.round(report.requests / seconds)}/s)`);
  console.log(`faults: ${s.kills} SIGKILLs with restarts (the last one before the check), ${s.diskFullWindows} full-disk windows of ${DISK_FULL_MS / 1000} s`);
  console.log(`statuses ${JSON.stringify(report.statuses)}; writes retried ${report.retried}`);
  console.log(`5xx answers other than storage 503s during a full disk, or no answer outside a kill: ${report.serverErrors.length}`);
  console.log(`acknowledged writes lost or doubled: ${report.lost.length} (${report.checkedVectors} acknowledged vectors checked); writes never answered: ${report.unresolved.length}`);
  for (const l of lives) console.log(`  process ${l.pid} (lived ${l.lifeS} s), floors after its ${WARMUP_MS / 1000} s warm-up, first third -> last third: live ${l.live} (JS heap ${l.heap}, C heap in use ${l.native}); RSS ${l.rss}`);
  for (const e of [...report.serverErrors, ...report.lost, ...report.unresolved].slice(0, 20)) console.log(`  ${e}`);
  if (grew.length) console.log(`live memory grew by more than ${LIVE_GROWTH_MB} MB after warm-up (or was not sampled) in ${grew.length} process(es)`);

  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(RESULTS, JSON.stringify({ clients: CLIENTS, tenants: TENANTS, seconds: SECONDS, kills: s.kills, diskFullWindows: s.diskFullWindows, ...report, lifetimes: s.lifetimes }, null, 2));
  process.exitCode = report.serverErrors.length + report.lost.length + report.unresolved.length + grew.length > 0 ? 1 : 0;
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
