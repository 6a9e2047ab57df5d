// Where the durable embedded collections keep what is not in a snapshot file:
// one SQLite database (better-sqlite3, WAL, synchronous FULL, so a committed
// transaction survives a crash or a power cut) holding the collection specs,
// the aliases, the op log of each collection since its snapshot, and the
// recent idempotency keys. An op and its key are one transaction: acknowledged
// means both are on disk. Each op row carries a CRC-32 of its bytes, checked
// at replay, so a damaged row is reported instead of replayed as other data.
//
// The database is opened with an exclusive lock for the life of the
// connection: a second process (or a second openCollections in this one) on
// the same directory is refused with ERR_BUSY instead of diverging from it.
import Database from 'better-sqlite3';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FaissError } from '../errors';
import type { CollectionOp } from './collection-state';
import { corruptLog, decodeOp, type EncodedOp } from './embedded-log-rows';
import { ioError, snapshotFiles } from './embedded-snapshot';
import type { AliasInfo, CollectionSpec } from './types';

export interface StoredCollection {
  /** Never reused: a collection dropped and created again is another one. */
  uid: number;
  name: string;
  spec: CollectionSpec;
  /** The op log position its snapshot includes (0: no snapshot). */
  snapshotSeq: number;
  snapshotFile: string | null;
}

export interface LoggedOp {
  seq: number;
  op: CollectionOp;
  /** Its row's size (header and vectors), for the snapshot threshold. */
  bytes: number;
}

export interface StoredKey {
  key: string;
  fingerprint: string;
  answer: unknown;
}

/** A key remembered with the op it answered (the op's seq orders them). */
export interface KeyRecord extends StoredKey {
  seq: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS collections (
  uid INTEGER PRIMARY KEY AUTOINCREMENT,
  name TEXT NOT NULL UNIQUE,
  spec TEXT NOT NULL,
  snapshot_seq INTEGER NOT NULL DEFAULT 0,
  snapshot_file TEXT
);
CREATE TABLE IF NOT EXISTS aliases (
  alias TEXT PRIMARY KEY,
  collection TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS ops (
  uid INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  header TEXT NOT NULL,
  data BLOB,
  crc INTEGER NOT NULL,
  PRIMARY KEY (uid, seq)
);
CREATE TABLE IF NOT EXISTS idempotency_keys (
  uid INTEGER NOT NULL,
  key TEXT NOT NULL,
  fingerprint TEXT NOT NULL,
  answer TEXT NOT NULL,
  seq INTEGER NOT NULL,
  PRIMARY KEY (uid, key)
);
CREATE INDEX IF NOT EXISTS idempotency_keys_by_seq ON idempotency_keys (uid, seq);
`;

const DATABASE = 'collections.sqlite';
const SNAPSHOTS = 'snapshots';

/** better-sqlite3's errors as the embedded API reports them. */
function storeError(what: string, e: unknown): FaissError {
  if (e instanceof FaissError) return e;
  const code = (e as { code?: string })?.code ?? '';
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    return new FaissError(`${what} failed: the collections directory is open elsewhere (another openCollections or process holds it)`, 'ERR_BUSY');
  }
  if (code === 'SQLITE_TOOBIG') {
    return new FaissError(`${what} failed: the op is larger than SQLite takes in one row (about 1 GB); send it in smaller batches`, 'ERR_RESOURCE_LIMIT');
  }
  if (code === 'SQLITE_CORRUPT' || code === 'SQLITE_NOTADB') {
    return new FaissError(`${what} failed: the collections database is damaged (${(e as Error).message})`, 'ERR_CORRUPT_INDEX');
  }
  return ioError(what, e);
}

export class CollectionStore {
  readonly snapshotDir: string;
  private readonly db: Database.Database;
  private readonly statements: ReturnType<CollectionStore['prepare']>;

  private constructor(readonly dir: string) {
    this.snapshotDir = path.join(dir, SNAPSHOTS);
    const db = new Database(path.join(dir, DATABASE), { timeout: 0 }); // held by another opener: fail now, not in 5 s
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.exec(SCHEMA);
      this.statements = this.prepare(db);
    } catch (e) {
      db.close();
      throw e;
    }
    this.db = db;
  }

  /** Opens (creating it if missing) the store in `dir`. */
  static open(dir: string): CollectionStore {
    try {
      fs.mkdirSync(path.join(dir, SNAPSHOTS), { recursive: true });
      return new CollectionStore(dir);
    } catch (e) {
      throw storeError(`Opening the collections in ${dir}`, e);
    }
  }

  private prepare(db: Database.Database) {
    return {
      collections: db.prepare('SELECT uid, name, spec, snapshot_seq, snapshot_file FROM collections ORDER BY name'),
      insertCollection: db.prepare('INSERT INTO collections (name, spec) VALUES (?, ?)'),
      deleteCollection: db.prepare('DELETE FROM collections WHERE uid = ?'),
      deleteOps: db.prepare('DELETE FROM ops WHERE uid = ?'),
      deleteKeys: db.prepare('DELETE FROM idempotency_keys WHERE uid = ?'),
      aliases: db.prepare('SELECT alias, collection FROM aliases ORDER BY alias'),
      putAlias: db.prepare('INSERT OR REPLACE INTO aliases (alias, collection) VALUES (?, ?)'),
      deleteAlias: db.prepare('DELETE FROM aliases WHERE alias = ?'),
      ops: db.prepare('SELECT seq, header, data, crc FROM ops WHERE uid = ? AND seq > ? ORDER BY seq'),
      appendOp: db.prepare('INSERT INTO ops (uid, seq, header, data, crc) VALUES (?, ?, ?, ?, ?)'),
      putKey: db.prepare('INSERT OR REPLACE INTO idempotency_keys (uid, key, fingerprint, answer, seq) VALUES (?, ?, ?, ?, ?)'),
      trimKeys: db.prepare(
        'DELETE FROM idempotency_keys WHERE uid = ? AND seq < (SELECT seq FROM idempotency_keys WHERE uid = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)',
      ),
      keys: db.prepare('SELECT key, fingerprint, answer, seq FROM idempotency_keys WHERE uid = ? ORDER BY seq'),
      setSnapshot: db.prepare('UPDATE collections SET snapshot_seq = ?, snapshot_file = ? WHERE uid = ?'),
      truncateOps: db.prepare('DELETE FROM ops WHERE uid = ? AND seq <= ?'),
    };
  }

  private run<T>(what: string, body: () => T): T {
    try {
      return body();
    } catch (e) {
      throw storeError(what, e);
    }
  }

  collections(): StoredCollection[] {
    return this.run('Reading the collection catalog', () =>
      (this.statements.collections.all() as { uid: number; name: string; spec: string; snapshot_seq: number; snapshot_file: string | null }[]).map(
        (r) => ({ uid: r.uid, name: r.name, spec: JSON.parse(r.spec) as CollectionSpec, snapshotSeq: r.snapshot_seq, snapshotFile: r.snapshot_file }),
      ),
    );
  }

  aliases(): AliasInfo[] {
    return this.run('Reading the aliases', () => this.statements.aliases.all() as AliasInfo[]);
  }

  /** The ops of collection `uid` after `seq`, in order, each checked against its checksum. */
  ops(uid: number, seq: number): LoggedOp[] {
    return this.run(`Reading the op log of collection #${uid}`, () => {
      const rows = this.statements.ops.all(uid, seq) as { seq: number; header: string; data: Buffer | null; crc: number }[];
      return rows.map((r, i) => {
        if (r.seq !== seq + i + 1) throw corruptLog(uid, seq + i + 1, `op ${r.seq} follows op ${seq + i}`);
        return { seq: r.seq, op: decodeOp(uid, r.seq, r.header, r.data, r.crc), bytes: r.header.length + (r.data?.byteLength ?? 0) };
      });
    });
  }

  keys(uid: number): KeyRecord[] {
    return this.run(`Reading the idempotency keys of collection #${uid}`, () =>
      (this.statements.keys.all(uid) as { key: string; fingerprint: string; answer: string; seq: number }[]).map((r) => ({
        key: r.key,
        fingerprint: r.fingerprint,
        answer: JSON.parse(r.answer) as unknown,
        seq: r.seq,
      })),
    );
  }

  createCollection(spec: CollectionSpec): number {
    return this.run(`Creating collection ${spec.name}`, () => Number(this.statements.insertCollection.run(spec.name, JSON.stringify(spec)).lastInsertRowid));
  }

  /** Removes the collection's rows (its snapshot file is the caller's). */
  deleteCollection(uid: number): void {
    this.run(`Deleting collection #${uid}`, () =>
      this.db.transaction(() => {
        this.statements.deleteCollection.run(uid);
        this.statements.deleteOps.run(uid);
        this.statements.deleteKeys.run(uid);
      })(),
    );
  }

  putAlias(alias: string, collection: string): void {
    this.run(`Saving alias ${alias}`, () => this.statements.putAlias.run(alias, collection));
  }

  deleteAlias(alias: string): void {
    this.run(`Deleting alias ${alias}`, () => this.statements.deleteAlias.run(alias));
  }

  /** Logs op `seq` of collection `uid` (encodeOp), with its idempotency key when it has one, in one transaction. */
  appendOp(uid: number, seq: number, row: EncodedOp, key: StoredKey | undefined, keepKeys: number): void {
    this.run(`Logging an op of collection #${uid}`, () =>
      this.db.transaction(() => {
        this.statements.appendOp.run(uid, seq, row.header, row.data, row.crc);
        if (key) {
          this.statements.putKey.run(uid, key.key, key.fingerprint, JSON.stringify(key.answer), seq);
          this.statements.trimKeys.run(uid, uid, keepKeys - 1);
        }
      })(),
    );
  }

  /** Records that the snapshot `name` holds collection `uid` up to op `seq`, and drops the ops it holds. */
  setSnapshot(uid: number, seq: number, name: string): void {
    this.run(`Recording the snapshot of collection #${uid}`, () =>
      this.db.transaction(() => {
        this.statements.setSnapshot.run(seq, name, uid);
        this.statements.truncateOps.run(uid, seq);
      })(),
    );
  }

  /** Where the snapshot files named `name` (snapshotFiles) are. */
  snapshotPath(name: string): string {
    return path.join(this.snapshotDir, name);
  }

  /** Removes snapshot files no collection refers to (leftovers of a crash mid-snapshot or mid-delete). */
  removeOrphans(): void {
    const owned = new Set(
      this.collections()
        .map((c) => c.snapshotFile)
        .filter((f): f is string => f !== null)
        .flatMap((base) => Object.values(snapshotFiles(base))),
    );
    for (const name of fs.readdirSync(this.snapshotDir)) {
      if (!owned.has(name)) fs.rmSync(path.join(this.snapshotDir, name), { force: true });
    }
  }

  close(): void {
    this.db.close();
  }
}
