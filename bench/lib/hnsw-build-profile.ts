// `npm run bench:faiss -- --profile-build`: where the wall time of the addon's own
// HNSW construction goes. The addon appends one JSON line per build to the file
// FAISS_PROXY_HNSW_BUILD_PROFILE names (native/kernels/hnsw_build_profile.h); this
// reads them back and prints, per build, the serial phases and, per level of the
// graph, each thread's work, CPU time, wait at the level's end and lock waits.
import * as fs from 'node:fs';
import { formatTable } from './common';

export const PROFILE_ENV = 'FAISS_PROXY_HNSW_BUILD_PROFILE';

interface ThreadTimes {
  nodes: number;
  busyMs: number;
  cpuMs: number;
  idleAtEndMs: number;
  lockWaits: number;
  lockWaitMs: number;
  entryWaits: number;
  entryWaitMs: number;
}
interface BuildProfile {
  n: number;
  team: number;
  wallMs: number;
  phases: Record<string, { wallMs: number; cpuMs: number }>;
  levels: { level: number; nodes: number; team: number; wallMs: number; threads: ThreadTimes[] }[];
}

export function readBuildProfiles(file: string): BuildProfile[] {
  if (!fs.existsSync(file)) return [];
  return fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as BuildProfile);
}

const ms = (v: number): string => v.toFixed(v < 10 ? 1 : 0);

/** One table per side: a row per build's serial phases, then per level and thread. */
export function formatBuildProfiles(profiles: BuildProfile[]): string {
  const rows: string[][] = [];
  profiles.forEach((p, b) => {
    const serialWall = Object.values(p.phases).reduce((a, x) => a + x.wallMs, 0);
    const serialCpu = Object.values(p.phases).reduce((a, x) => a + x.cpuMs, 0);
    const phases = Object.entries(p.phases).map(([name, x]) => `${name} ${ms(x.wallMs)}/${ms(x.cpuMs)}`).join(', ');
    rows.push([`build ${b + 1}`, 'whole; serial phases', ms(p.wallMs), ms(serialWall), ms(serialCpu), '-', '-', phases]);
    for (const l of p.levels.filter((x) => x.team > 1 || x.wallMs >= 1)) {
      l.threads.forEach((t, i) => {
        const waits = `locks ${t.lockWaits} (${ms(t.lockWaitMs)} ms), entry ${t.entryWaits} (${ms(t.entryWaitMs)} ms)`;
        rows.push(['', `level ${l.level}, thread ${i}`, i === 0 ? ms(l.wallMs) : '', ms(t.busyMs), ms(t.cpuMs), ms(t.idleAtEndMs), String(t.nodes), waits]);
      });
    }
  });
  return formatTable(['build', 'part', 'wall ms', 'busy ms', 'CPU ms', 'idle at end ms', 'nodes', 'serial phases wall/CPU ms; waits'], rows, [7]);
}
