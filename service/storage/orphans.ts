// Files no index owns any more. Every multi-step change writes its new files
// first and switches the catalog last (or, for deletions, switches the catalog
// first and removes files after), so a crash between the steps leaves only
// files that nothing refers to: an import's or a creation's files whose catalog
// row was never written, a deleted index's files, an older snapshot, a state or
// points file without its snapshot, a temporary file. They are removed at start, before any
// index is used.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { StorageIO } from './storage-io';

const FILE = /^(.+?)(?:\.wal|\.(\d+)\.faissindex|\.(\d+)\.(?:state\.json|points))$/;

/** The files in `dir` no index in `owners` (their storage ids) refers to. */
export function findOrphans(dir: string, owners: ReadonlySet<string>): string[] {
  const names = fs.readdirSync(dir);
  const latest = new Map<string, number>();
  for (const name of names) {
    const m = FILE.exec(name);
    if (m?.[2] !== undefined) latest.set(m[1], Math.max(latest.get(m[1]) ?? 0, Number(m[2])));
  }
  return names.filter((name) => {
    if (name.endsWith('.tmp')) return true;
    const m = FILE.exec(name);
    if (!m) return false; // not ours: left alone
    if (!owners.has(m[1])) return true;
    const seq = m[2] ?? m[3];
    return seq !== undefined && Number(seq) !== latest.get(m[1]);
  });
}

/** Removes what no index in `owners` refers to; returns the names removed. */
export async function removeOrphans(io: StorageIO, dir: string, owners: ReadonlySet<string>): Promise<string[]> {
  const orphans = findOrphans(dir, owners);
  for (const name of orphans) await io.remove(path.join(dir, name), 'orphans.remove');
  if (orphans.length > 0) await io.sync(dir, 'orphans.sync-dir');
  return orphans;
}
