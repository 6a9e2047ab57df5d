// Index snapshots: FAISS's own file format, written to a temporary file, fsynced,
// then atomically renamed over the previous snapshot, so a crash mid-write
// leaves the old snapshot intact rather than a torn file.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readIndex, writeIndex, type Index } from '../../lib';

export interface SnapshotStore {
  save(id: string, index: Index): Promise<void>;
  /** undefined when the index has never been snapshotted. */
  load(id: string): Promise<Index | undefined>;
  remove(id: string): Promise<void>;
  /** Where the snapshot of `id` lives (for streaming exports). */
  file(id: string): string;
}

async function fsyncPath(p: string): Promise<void> {
  const handle = await fs.promises.open(p, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FileSnapshotStore implements SnapshotStore {
  private readonly dir: string;

  constructor(dataDir: string) {
    this.dir = path.join(dataDir, 'indexes');
    fs.mkdirSync(this.dir, { recursive: true });
    // Temporary files left by a crash mid-snapshot are garbage.
    for (const f of fs.readdirSync(this.dir)) if (f.endsWith('.tmp')) fs.rmSync(path.join(this.dir, f), { force: true });
  }

  file(id: string): string {
    return path.join(this.dir, `${id}.faissindex`);
  }

  async save(id: string, index: Index): Promise<void> {
    const target = this.file(id);
    const tmp = `${target}.${process.pid}.${Date.now()}.tmp`;
    try {
      await writeIndex(index, tmp);
      await fsyncPath(tmp);
      await fs.promises.rename(tmp, target);
      await fsyncPath(this.dir); // make the rename itself durable
    } catch (e) {
      await fs.promises.rm(tmp, { force: true });
      throw e;
    }
  }

  async load(id: string): Promise<Index | undefined> {
    const file = this.file(id);
    if (!fs.existsSync(file)) return undefined;
    return readIndex(file);
  }

  async remove(id: string): Promise<void> {
    await fs.promises.rm(this.file(id), { force: true });
    await fsyncPath(this.dir);
  }
}
