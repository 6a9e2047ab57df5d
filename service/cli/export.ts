// faiss-proxy export: an index's vectors (reconstructed, ids 0 .. ntotal-1) into
// a vector file, or a collection's points (scrolled) into a .jsonl file, in
// chunks. Written to FILE.partial and renamed at the end: a file of that name
// is complete.
import * as fs from 'node:fs/promises';
import { FaissError } from '../../lib/errors';
import { client, type TargetOptions } from './remote-target';
import { exportIndexFile } from './index-files';
import { progress, progressMode } from './progress';
import { createJsonl, createVectors, formatOf } from './vector-files';

export interface ExportOptions extends TargetOptions {
  format?: string;
  dtype: string;
  chunkRows?: number;
  progress: string;
}

/** reconstruct and scroll answer at most 10,000 rows a request (docs/http-api.md, limits). */
const CHUNK_ROWS = 10_000;

export async function runExport(file: string, o: ExportOptions): Promise<Record<string, unknown>> {
  if ((o.index === undefined) === (o.collection === undefined)) throw new Error('Give either --index NAME (to a vector file) or --collection NAME (to .jsonl points)');
  if (o.dtype !== 'float32' && o.dtype !== 'float16') throw new Error(`--dtype ${o.dtype}: expected float32 or float16 (.npy only)`);
  const format = formatOf(file, o.format);
  if (format === 'faissindex') return exportIndexFile(file, o);
  const faiss = client(o);
  const mode = progressMode(o.progress);
  const partial = `${file}.partial`;
  const perChunk = Math.min(o.chunkRows ?? CHUNK_ROWS, CHUNK_ROWS);
  let summary: Record<string, unknown>;
  try {
    if (format === 'jsonl') {
      if (o.collection === undefined) throw new Error(`${file}: .jsonl holds a collection's points: give --collection NAME (an index exports to .npy, .fvecs, .bvecs, .ivecs or .f32)`);
      const collection = faiss.collection(o.collection);
      const total = (await collection.info()).count;
      const writer = await createJsonl(partial);
      const bar = progress(mode, `export ${file}`, total, 'points');
      let offset: string | null | undefined;
      let points = 0;
      try {
        do {
          const page = await collection.scroll({ limit: perChunk, withVector: true, withPayload: true, ...(offset ? { offset } : {}) });
          await writer.write(page.points);
          points += page.points.length;
          bar.update(points, points);
          offset = page.nextOffset;
        } while (offset);
      } finally {
        await writer.close();
      }
      bar.finish(points);
      summary = { file, collection: o.collection, points };
    } else {
      if (o.index === undefined) throw new Error(`${file}: a .${format} file holds an index's vectors: give --index NAME (a collection exports to .jsonl)`);
      if (o.dtype === 'float16' && format !== 'npy') throw new Error(`--dtype float16: only .npy files hold float16`);
      const index = await faiss.openIndex(o.index);
      const { ntotal, dimension } = await index.refresh();
      const writer = await createVectors(partial, format, dimension, ntotal, o.dtype === 'float16' ? 'f2' : 'f4');
      const bar = progress(mode, `export ${file}`, ntotal, 'vectors');
      try {
        for (let start = 0; start < ntotal; start += perChunk) {
          const count = Math.min(perChunk, ntotal - start);
          const rows = await index.reconstructN(start, count).catch((e) => {
            if (e instanceof FaissError && e.code === 'ERR_NOT_FOUND') {
              throw new Error(`Index ${o.index}: no vector of id in ${start} .. ${start + count - 1}; export reads ids 0 .. ntotal-1, which an index given its own ids (IDMap) or with removed vectors does not hold`);
            }
            throw e;
          });
          await writer.write(rows);
          bar.update(start + count, start + count);
        }
      } finally {
        await writer.close();
      }
      bar.finish(ntotal);
      summary = { file, index: o.index, vectors: ntotal, dimension };
    }
  } catch (e) {
    await fs.rm(partial, { force: true });
    throw e;
  }
  await fs.rename(partial, file);
  return summary;
}
