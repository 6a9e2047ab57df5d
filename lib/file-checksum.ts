// A file's length and CRC-32, read in chunks: a snapshot can be larger than we
// want in memory twice. The service's snapshots and the embedded collections'
// both check their files with it before FAISS reads a byte of them.
import * as fs from 'node:fs';
import { crc32 } from 'node:zlib';

export async function fileChecksum(file: string): Promise<{ bytes: number; crc32: number }> {
  const handle = await fs.promises.open(file, 'r');
  try {
    // Chunks of at most 8 MiB, no larger than the file needs: most snapshots are a few KiB,
    // and an 8 MiB buffer for each would have the garbage collector run after every few
    // (external memory counts against the heap's limit).
    const chunk = Buffer.allocUnsafe(Math.min(8 << 20, Math.max((await handle.stat()).size + 1, 64 << 10)));
    let crc = 0;
    let bytes = 0;
    for (;;) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, bytes);
      if (bytesRead === 0) return { bytes, crc32: crc };
      crc = crc32(chunk.subarray(0, bytesRead), crc);
      bytes += bytesRead;
    }
  } finally {
    await handle.close();
  }
}
