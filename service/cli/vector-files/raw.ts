// Raw little-endian float32 (.f32): rows of `dim` values one after another, no
// header, so the dimension is given (--dim).
import * as fs from 'node:fs/promises';
import { checkFinite, readExactly, wholeRows, type VectorReader, type VectorWriter } from './formats';

export async function openRaw(file: string, dim: number | undefined): Promise<VectorReader> {
  if (dim === undefined) throw new Error(`${file}: a raw .f32 file has no header: give its dimension with --dim`);
  const fh = await fs.open(file, 'r');
  try {
    const size = (await fh.stat()).size;
    if (size === 0) throw new Error(`${file}: empty`);
    const rowBytes = dim * 4;
    const rows = wholeRows(file, size, rowBytes, 0);
    const reader: VectorReader = {
      file,
      dim,
      rows,
      offsetOf: (row, col = 0) => row * rowBytes + col * 4,
      async read(start, count) {
        const bytes = await readExactly(fh, file, start * rowBytes, count * rowBytes);
        const out = new Float32Array(count * dim);
        for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
        return checkFinite(reader, out, start);
      },
      close: () => fh.close(),
    };
    return reader;
  } catch (e) {
    await fh.close();
    throw e;
  }
}

export async function createRaw(file: string): Promise<VectorWriter> {
  const fh = await fs.open(file, 'w');
  return {
    async write(x) {
      const out = Buffer.alloc(x.length * 4);
      for (let i = 0; i < x.length; i++) out.writeFloatLE(x[i], i * 4);
      await fh.write(out);
    },
    close: () => fh.close(),
  };
}
