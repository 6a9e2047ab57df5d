// Summarises a V8 .cpuprofile (node --cpu-prof) over a time window: where the
// server's main thread spent its samples, by function (self time) and by package
// or module (inclusive: a sample counts once for every package on its stack).
import * as fs from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  sampledMs: number;
  samples: number;
  selfTop: { name: string; ms: number; share: number }[];
  inclusiveByArea: { area: string; ms: number; share: number }[];
}

/** Which part of the stack a frame belongs to: a package, a service/lib module, or a V8 pseudo-frame. */
function areaOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native/builtin)';
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return nm[1];
  if (url.startsWith('node:')) return url;
  const own = /dist\/((?:service|lib)\/.*?)\.js$/.exec(url);
  if (own) return own[1];
  return url.replace(/^file:\/\//, '');
}

/** Samples whose timestamps (µs, CLOCK_MONOTONIC as process.hrtime) fall in [fromUs, toUs]. */
export function summarise(file: string, fromUs: number, toUs: number, top = 15): ProfileSummary {
  const p = JSON.parse(fs.readFileSync(file, 'utf8')) as Profile;
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = p.startTime;
  let total = 0;
  let count = 0;
  for (let i = 0; i < p.samples.length; i++) {
    t += p.timeDeltas[i];
    if (t < fromUs || t > toUs) continue;
    // A sample stands for the time until the next one.
    const dt = (i + 1 < p.timeDeltas.length ? p.timeDeltas[i + 1] : 0) / 1e3;
    const node = byId.get(p.samples[i])!;
    total += dt;
    count++;
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${areaOf(f.url, f.functionName)}${f.url ? `:${f.lineNumber + 1}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const cf = byId.get(id)!.callFrame;
      if (cf.functionName === '(root)') continue;
      const a = areaOf(cf.url, cf.functionName);
      if (!seen.has(a)) {
        seen.add(a);
        inclusive.set(a, (inclusive.get(a) ?? 0) + dt);
      }
    }
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([name, ms]) => ({ name, ms, share: total ? ms / total : 0 }));
  return {
    sampledMs: total,
    samples: count,
    selfTop: rank(self),
    inclusiveByArea: rank(inclusive).map(({ name, ms, share }) => ({ area: name, ms, share })),
  };
}
