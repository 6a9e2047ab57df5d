// The vector files import reads and export writes: which format a file is, and
// what a reader and a writer of one offer. A reader reads any run of rows without
// loading the file (each format has fixed-size rows); a writer appends rows.
import type { FileHandle } from 'node:fs/promises';
import * as fs from 'node:fs/promises';
import * as path from 'node:path';

export const VECTOR_FORMATS = ['npy', 'fvecs', 'bvecs', 'ivecs', 'f32'] as const;
export type VectorFormat = (typeof VECTOR_FORMATS)[number];
export const FORMATS = [...VECTOR_FORMATS, 'jsonl', 'faissindex'] as const;
export type FileFormat = (typeof FORMATS)[number];

/** A file's format: the one given, else its extension's. */
export function formatOf(file: string, given?: string): FileFormat {
  const format = given ?? path.extname(file).slice(1).toLowerCase();
  if (!(FORMATS as readonly string[]).includes(format)) {
    throw new Error(`${file}: cannot tell its format from its name; name it .npy, .fvecs, .bvecs, .ivecs, .f32, .jsonl or .faissindex, or give --format (one of ${FORMATS.join(', ')})`);
  }
  return format as FileFormat;
}

/** Rows of float32 vectors in a file. */
export interface VectorReader {
  readonly file: string;
  readonly dim: number;
  readonly rows: number;
  /** The byte offset of row `row`'s component `col`, for messages. */
  offsetOf(row: number, col?: number): number;
  /** Rows [start, start + count) as float32, each value checked finite. */
  read(start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export interface VectorWriter {
  /** Appends rows (`dim` values each). */
  write(rows: Float32Array): Promise<void>;
  /** Writes what remains and closes; the file is complete only then. */
  close(): Promise<void>;
}

/**
 * Refuses a NaN or an infinity, as the API refuses them (ERR_INVALID_ARGUMENT):
 * naming the file, the row, the component and its byte offset.
 */
function checkFinite(reader: Pick<VectorReader, 'file' | 'dim' | 'offsetOf'>, rows: Float32Array, firstRow: number): Float32Array {
  for (let i = 0; i < rows.length; i++) {
    if (!Number.isFinite(rows[i])) {
      const row = firstRow + Math.floor(i / reader.dim);
      const col = i % reader.dim;
      throw new Error(`${reader.file}: at byte offset ${reader.offsetOf(row, col)} (row ${row}, component ${col}): ${rows[i]} is not a finite number; vectors hold finite numbers only`);
    }
  }
  return rows;
}

/** `length` bytes of `file` from byte `offset`; a file that ends sooner is named with the offset where it did. */
async function readExactly(fh: FileHandle, file: string, offset: number, length: number): Promise<Buffer> {
  const bytes = Buffer.alloc(length);
  const { bytesRead } = await fh.read(bytes, 0, length, offset);
  if (bytesRead !== length) throw new Error(`${file}: truncated while reading at byte offset ${offset + bytesRead}`);
  return bytes;
}

/** A file's length and the row length: refuses one that is not whole rows, naming where the last row starts. */
export function wholeRows(file: string, bodyBytes: number, rowBytes: number, bodyStart: number): number {
  const rows = Math.floor(bodyBytes / rowBytes);
  const rest = bodyBytes - rows * rowBytes;
  if (rest !== 0) {
    throw new Error(`${file}: truncated: the row at byte offset ${bodyStart + rows * rowBytes} (row ${rows}) has ${rest} of its ${rowBytes} bytes`);
  }
  return rows;
}

/** Where a file's rows lie and how their bytes read as float32: what each format works out from its header. */
export interface RowLayout {
  dim: number;
  rows: number;
  /** The byte offset of the first row. */
  bodyStart: number;
  rowBytes: number;
  /** The byte offset of row `row`'s component `col`, for messages. */
  offsetOf(row: number, col?: number): number;
  /** Rows [start, start + count), from their bytes. */
  decode(bytes: Buffer, start: number, count: number): Float32Array;
}

/**
 * A reader of `file`, opened once: `layout` reads what it needs of the file (of
 * `size` bytes) to say where its rows lie, or refuses it, and the file is then
 * closed. Each read takes whole rows and checks every value finite.
 */
export async function openRows(file: string, layout: (fh: FileHandle, size: number) => RowLayout | Promise<RowLayout>): Promise<VectorReader> {
  const fh = await fs.open(file, 'r');
  try {
    const rows = await layout(fh, (await fh.stat()).size);
    const reader: VectorReader = {
      file,
      dim: rows.dim,
      rows: rows.rows,
      offsetOf: rows.offsetOf,
      async read(start, count) {
        const bytes = await readExactly(fh, file, rows.bodyStart + start * rows.rowBytes, count * rows.rowBytes);
        return checkFinite(reader, rows.decode(bytes, start, count), start);
      },
      close: () => fh.close(),
    };
    return reader;
  } catch (e) {
    await fh.close();
    throw e;
  }
}
