// faiss-proxy export and import of a .faissindex file: the index as the server
// exports it (GET /v1/indexes/{name}/export: a FAISS index file, or a sharded
// index's archive of its shards' files, docs/cluster.md), and back
// (PUT .../import: creates the index or replaces it; a sharded index's archive
// goes into the sharded index of that name). What a backup of one index is.
import * as fs from 'node:fs/promises';
import { FaissError } from '../../lib/errors';
import { client, type TargetOptions } from './remote-target';

/** Writes index `o.index`'s export to `file` (FILE.partial, renamed once complete). */
export async function exportIndexFile(file: string, o: TargetOptions): Promise<Record<string, unknown>> {
  if (o.index === undefined) throw new Error(`${file}: a .faissindex file holds an index: give --index NAME`);
  const faiss = client(o);
  const index = await faiss.openIndex(o.index).catch((e) => {
    if (e instanceof FaissError && /binary index/.test(e.message)) return faiss.openIndexBinary(o.index!);
    throw e;
  });
  const bytes = await index.serialize();
  const partial = `${file}.partial`;
  try {
    await fs.writeFile(partial, bytes);
    await fs.rename(partial, file);
  } catch (e) {
    await fs.rm(partial, { force: true });
    throw e;
  }
  return { file, index: o.index, bytes: bytes.length };
}

/** Imports `file` (as exportIndexFile wrote it, or a FAISS index file) as index `o.index`. */
export async function importIndexFile(file: string, o: TargetOptions): Promise<Record<string, unknown>> {
  if (o.index === undefined) throw new Error(`${file}: a .faissindex file holds an index: give --index NAME`);
  const bytes = await fs.readFile(file).catch((e) => {
    throw new Error(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  });
  const faiss = client(o);
  // A binary index's file starts with its type tag "IB..." (no float index's, nor an archive's, does).
  const binary = bytes.length >= 2 && bytes[0] === 0x49 && bytes[1] === 0x42;
  const index = binary ? await faiss.deserializeIndexBinary(bytes, { name: o.index }) : await faiss.deserializeIndex(bytes, { name: o.index });
  const info = await index.refresh();
  return { file, index: o.index, bytes: bytes.length, ntotal: info.ntotal };
}
