// A temporary directory in memory (the tmpfs at /dev/shm) where the machine has one,
// else under os.tmpdir(). For the crash-point sweeps: each of their hundreds of points
// copies, opens, snapshots and fsyncs a data directory twice, and on a disk those fsyncs
// were most of the sweep's time. What the sweeps check does not depend on the disk:
// FaultyIO simulates the crash and the power cut itself (it tracks what was fsynced), and
// a SIGKILL leaves every write of the killed process in the page cache.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const SHM = '/dev/shm';

export function memoryTempDir(prefix: string): string {
  try {
    fs.accessSync(SHM, fs.constants.W_OK);
    return fs.mkdtempSync(path.join(SHM, prefix));
  } catch {
    return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }
}
