// Opens a vector file for reading or writing by its format.
import type { VectorFormat, VectorReader, VectorWriter } from './formats';
import { createNpy, openNpy } from './npy';
import { createRaw, openRaw } from './raw';
import { createVecs, openVecs } from './vecs';

export { FORMATS, VECTOR_FORMATS, formatOf, type FileFormat, type VectorFormat, type VectorReader, type VectorWriter } from './formats';
export { createJsonl, readJsonl } from './jsonl';

export async function openVectors(file: string, format: VectorFormat, dim?: number): Promise<VectorReader> {
  let reader: VectorReader;
  try {
    reader = format === 'npy' ? await openNpy(file) : format === 'f32' ? await openRaw(file, dim) : await openVecs(file, format);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw new Error(`${file}: cannot read it (${code})`);
    throw e;
  }
  if (dim !== undefined && reader.dim !== dim) {
    await reader.close();
    throw new Error(`${file}: vectors of dimension ${reader.dim}, but --dim says ${dim}`);
  }
  return reader;
}

export function createVectors(file: string, format: VectorFormat, dim: number, rows: number, dtype?: 'f4' | 'f2'): Promise<VectorWriter> {
  if (format === 'npy') return createNpy(file, dim, rows, dtype);
  if (format === 'f32') return createRaw(file);
  return createVecs(file, format, dim);
}
