// The storage seen by the domain: three small interfaces (catalog, snapshots,
// logs), so another backend (a replicated log for a cluster) can replace the
// files without touching the domain or the routes.
import * as path from 'node:path';
import type { LogDamage, LogRecord, Mutation } from './mutation-log';
import { LogCorruptError, MutationLog, readLog } from './mutation-log';
import type { StorageIO } from './storage-io';

export type { Catalog } from './catalog';
export type { SnapshotStore } from './snapshots';

/** An open log of one index: appends in order, durable when `durable` resolves. */
export interface IndexLog {
  readonly lastSeq: number;
  readonly bytes: number;
  append(m: Mutation): { seq: number; durable: Promise<void> };
  drain(): Promise<void>;
  /** Drops every record (they are all in a snapshot now). */
  truncate(): Promise<void>;
  close(): Promise<void>;
}

export interface LogStore {
  /**
   * Every valid record of an index's log, then the log opened for appending
   * after them. Damage at the end (a torn record, garbage) is cut off and told in
   * `damage`; damage followed by valid records throws LogCorruptError.
   */
  open(indexId: string, atLeastSeq: number): Promise<{ records: LogRecord[]; log: IndexLog; damage?: LogDamage }>;
  /** Opens a fresh, empty log (replacing a damaged one). */
  create(indexId: string, seq: number): Promise<IndexLog>;
  remove(indexId: string): Promise<void>;
}

/** One append-only file per index, next to its snapshots. */
export class FileLogStore implements LogStore {
  constructor(
    private readonly dir: string,
    private readonly io: StorageIO,
    private readonly fsync: boolean,
    /** Hears how long each flush (write + fdatasync) took and how many records it carried. */
    private readonly onFlush: (seconds: number, records: number) => void = () => undefined,
  ) {}

  file(indexId: string): string {
    return path.join(this.dir, `${indexId}.wal`);
  }

  async open(indexId: string, atLeastSeq: number): Promise<{ records: LogRecord[]; log: IndexLog; damage?: LogDamage }> {
    let read;
    try {
      read = readLog(this.file(indexId));
    } catch (e) {
      if (e instanceof LogCorruptError) throw e;
      throw this.io.fault('log.read', this.file(indexId), e);
    }
    const { records, validBytes, damage } = read;
    const lastSeq = Math.max(atLeastSeq, records.at(-1)?.seq ?? 0);
    return { records, damage, log: await MutationLog.open(this.io, this.file(indexId), validBytes, lastSeq, this.fsync, this.onFlush) };
  }

  create(indexId: string, seq: number): Promise<IndexLog> {
    return MutationLog.open(this.io, this.file(indexId), 0, seq, this.fsync, this.onFlush);
  }

  async remove(indexId: string): Promise<void> {
    await this.io.remove(this.file(indexId), 'log.remove');
  }
}
