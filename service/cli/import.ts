// faiss-proxy import: a vector file into an index, or a .jsonl file of points
// into a collection, in chunks through the remote client, never the whole file
// in memory. Resumable: each chunk's Idempotency-Key is derived from the file's
// identity and the chunk's position, so running the same import again after an
// interruption sends the chunks again and the server applies only those it has
// not (domain/idempotency.ts; the index remembers its last 10,000 keys:
// IMPORT_MAX_CHUNKS).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import { FaissError } from '../../lib/errors';
import { IDEMPOTENCY_KEY } from '../../lib/wire';
import type { PointInput } from '../../lib/collections/types';
import { client, importCollection, importIndex, type TargetOptions } from './remote-target';
import { importIndexFile } from './index-files';
import { progress, progressMode } from './progress';
import { formatOf, openVectors, readJsonl, type FileFormat } from './vector-files';

/**
 * The most chunks an import is cut into: the idempotency keys an index keeps
 * (service/domain/durable.ts keeps its last 10,000), so that every chunk of an
 * interrupted import is still remembered when it is run again.
 */
export const IMPORT_MAX_CHUNKS = 10_000;
/** A chunk's bytes of float32 rows unless --chunk-rows says: well under the default body limit (64 MiB). */
const CHUNK_BYTES = 4 * 1024 * 1024;
const JSONL_CHUNK_POINTS = 1000;

export interface ImportOptions extends TargetOptions {
  format?: string;
  dim?: number;
  chunkRows?: number;
  importId?: string;
  progress: string;
}

/**
 * A short digest of which file this is: its name (not its directory: a run from
 * elsewhere is the same import), size, format and dimension. Not its contents:
 * a file fixed in place (a NaN replaced) keeps its keys, so running the import
 * again adds only what is missing; another file under the same name and size
 * meets its chunks' fingerprints on the server (ERR_IDEMPOTENCY_MISMATCH).
 */
async function fileIdentity(file: string, format: FileFormat, dim: number | undefined): Promise<string> {
  const { size } = await fs.stat(file);
  return createHash('sha256').update(JSON.stringify([path.basename(file), size, format, dim ?? null])).digest('hex').slice(0, 24);
}

function importIdOf(given: string | undefined): string | undefined {
  if (given !== undefined && (!/^[\x21-\x7e]{1,64}$/.test(given))) throw new Error(`--import-id ${JSON.stringify(given)}: expected 1 to 64 printable ASCII characters without spaces`);
  return given;
}

/** Says what a refused chunk means for the import. */
function chunkError(e: unknown, file: string, where: string): Error {
  if (e instanceof FaissError && e.code === 'ERR_IDEMPOTENCY_MISMATCH') {
    return new Error(`${file}: the chunk at ${where} was imported before with other contents (the file changed since?); give --import-id to import it as a new import`);
  }
  if (e instanceof Error) e.message = `${file}: the chunk at ${where}: ${e.message}`;
  return e as Error;
}

export async function runImport(file: string, o: ImportOptions): Promise<Record<string, unknown>> {
  if ((o.index === undefined) === (o.collection === undefined)) throw new Error('Give either --index NAME (vector files) or --collection NAME (.jsonl points)');
  const format = formatOf(file, o.format);
  if (format === 'faissindex') return importIndexFile(file, o);
  const importId = importIdOf(o.importId) ?? (await fileIdentity(file, format, o.dim).catch((e) => {
    throw new Error(`${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }));
  const mode = progressMode(o.progress);
  const faiss = client(o);
  if (format === 'jsonl') {
    if (o.collection === undefined) throw new Error(`${file}: a .jsonl file holds points (id, vector, payload) for a collection: give --collection NAME`);
    return importPoints(file, importId, o, faiss, mode);
  }
  if (o.index === undefined) throw new Error(`${file}: a .${format} file holds vectors for an index: give --index NAME (a collection takes .jsonl points)`);
  const reader = await openVectors(file, format, o.dim);
  try {
    const index = await importIndex(faiss, o, reader.dim, file);
    // A cluster's sharded index places each vector by its id and numbers none itself: each row
    // gets its row number in the file as its id, as an empty whole index numbers them.
    const sharded = ((await index.refresh()) as { shards?: number }).shards !== undefined;
    const byBytes = Math.max(1, Math.floor(CHUNK_BYTES / (4 * reader.dim)));
    const rowsPerChunk = Math.max(o.chunkRows ?? byBytes, Math.ceil(reader.rows / IMPORT_MAX_CHUNKS));
    const bar = progress(mode, `import ${file}`, reader.rows, 'vectors');
    for (let start = 0; start < reader.rows; start += rowsPerChunk) {
      const count = Math.min(rowsPerChunk, reader.rows - start);
      const rows = await reader.read(start, count);
      const key = `import-${importId}-${start}-${count}`;
      if (!IDEMPOTENCY_KEY.test(key)) throw new Error(`internal: idempotency key ${key}`);
      const added = sharded
        ? index.addWithIds(rows, BigInt64Array.from({ length: count }, (_, i) => BigInt(start + i)), { idempotencyKey: key })
        : index.add(rows, { idempotencyKey: key });
      await added.catch((e) => {
        throw chunkError(e, file, `row ${start} (byte offset ${reader.offsetOf(start)})`);
      });
      bar.update(start + count, start + count);
    }
    bar.finish(reader.rows);
    const info = await index.refresh();
    return { file, index: index.name, vectors: reader.rows, chunks: Math.ceil(reader.rows / rowsPerChunk), ntotal: info.ntotal };
  } finally {
    await reader.close();
  }
}

async function importPoints(file: string, importId: string, o: ImportOptions, faiss: ReturnType<typeof client>, mode: ReturnType<typeof progressMode>) {
  const size = (await fs.stat(file)).size;
  const perChunk = o.chunkRows ?? JSONL_CHUNK_POINTS;
  const bar = progress(mode, `import ${file}`, size, 'points');
  let collection: Awaited<ReturnType<typeof importCollection>> | undefined;
  let chunk: PointInput[] = [];
  let chunkLine = 0;
  let chunkOffset = 0;
  let points = 0;
  let chunks = 0;
  const send = async (through: number) => {
    if (chunk.length === 0) return;
    const key = `import-${importId}-${chunkLine}-${chunk.length}`;
    await collection!.upsert(chunk, { idempotencyKey: key }).catch((e) => {
      throw chunkError(e, file, `line ${chunkLine} (byte offset ${chunkOffset})`);
    });
    points += chunk.length;
    chunks++;
    chunk = [];
    bar.update(through, points);
  };
  for await (const p of readJsonl(file)) {
    collection ??= await importCollection(faiss, o, p.point.vector.length, file);
    if (chunk.length === 0) {
      chunkLine = p.line;
      chunkOffset = p.offset;
    }
    chunk.push(p.point);
    if (chunk.length === perChunk) await send(p.offset);
  }
  if (collection === undefined) throw new Error(`${file}: no points in it`);
  await send(size);
  bar.finish(points);
  return { file, collection: o.collection, points, chunks, count: (await collection.info()).count };
}
