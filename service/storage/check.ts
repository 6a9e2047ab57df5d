// faiss-proxy check / repair: what is wrong with the files of each index and
// collection (a collection's snapshot also has its points file), without
// loading any (check), and the repairs that can be made without guessing
// (repair): a damaged log is cut at its last valid record, dropping what follows
// it, and says exactly what it dropped; files no index owns are removed. A
// damaged snapshot cannot be repaired (nothing else holds those vectors): the
// report says so, and the index must be imported again or deleted.
import type { IndexRecord } from './catalog';
import { LogCorruptError, MutationLog, readLog, type LogDamage } from './mutation-log';
import { findOrphans, removeOrphans } from './orphans';
import { SnapshotCorruptError, type FileSnapshotStore } from './snapshots';
import type { FileLogStore } from './storage';
import type { StorageIO } from './storage-io';

/** What check needs of a catalog row: an index's (factory: an imported one must have a snapshot), or a collection's. */
export type CheckedRecord = Pick<IndexRecord, 'tenant' | 'name' | 'id'> & ({ factory: string; kind?: undefined } | { kind: 'collection' });

export interface IndexCheck {
  /** Present for a collection. */
  kind?: 'collection';
  tenant: string;
  name: string;
  id: string;
  /** The latest snapshot (null: none) and whether its checksum was verified (false: written before checksums). */
  snapshot: { seq: number; verified: boolean } | null;
  log: { records: number; validBytes: number; damage?: LogDamage };
  /** Why the index cannot be loaded as it is (undefined: it can). */
  problem?: string;
  /** What repair did to it. */
  repaired?: string;
}

export interface StorageCheck {
  /** Every index can be loaded, and no log holds damage. */
  ok: boolean;
  indexes: IndexCheck[];
  /** Files no index owns (removed at the next start, or by repair). */
  orphans: string[];
}

export async function checkStorage(
  records: CheckedRecord[],
  snapshots: FileSnapshotStore,
  logs: FileLogStore,
  repair?: { io: StorageIO },
): Promise<StorageCheck> {
  const indexes: IndexCheck[] = [];
  for (const r of records) {
    const c: IndexCheck = { ...(r.kind && { kind: r.kind }), tenant: r.tenant, name: r.name, id: r.id, snapshot: null, log: { records: 0, validBytes: 0 } };
    try {
      c.snapshot = (await snapshots.check(r.id)) ?? null;
      // An imported index, and every collection, is created with a snapshot.
      if (!c.snapshot && (r.kind === 'collection' || r.factory.startsWith('imported '))) c.problem = 'its snapshot is missing';
    } catch (e) {
      if (!(e instanceof SnapshotCorruptError)) throw e;
      c.problem = `${e.message}: cannot be repaired; import the index again or delete it`;
    }
    const file = logs.file(r.id);
    try {
      const read = readLog(file, { dropRecordsAfterDamage: repair !== undefined });
      c.log = { records: read.records.length, validBytes: read.validBytes, damage: read.damage };
      if (repair && read.damage) {
        const log = await MutationLog.open(repair.io, file, read.validBytes, read.records.at(-1)?.seq ?? 0, true);
        await log.close();
        c.repaired =
          `cut the log at byte ${read.damage.offset} (${read.damage.why}): dropped ${read.damage.bytes} byte(s)` +
          (read.damage.recordsAfter > 0 ? ` holding ${read.damage.recordsAfter} valid record(s) after the damage` : '');
      }
    } catch (e) {
      if (!(e instanceof LogCorruptError)) throw e;
      c.problem = `${e.message}`;
    }
    indexes.push(c);
  }
  const owners = new Set(records.map((r) => r.id));
  const orphans = repair ? await removeOrphans(repair.io, snapshots.dir, owners) : findOrphans(snapshots.dir, owners);
  const ok = indexes.every((c) => c.problem === undefined && (c.log.damage === undefined || c.repaired !== undefined));
  return { ok, indexes, orphans };
}
