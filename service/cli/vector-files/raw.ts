// Raw little-endian float32 (.f32): rows of `dim` values one after another, no
// header, so the dimension is given (--dim).
import * as fs from 'node:fs/promises';
import { openRows, wholeRows, type VectorReader, type VectorWriter } from './formats';

export async function openRaw(file: string, dim: number | undefined): Promise<VectorReader> {
  if (dim === undefined) throw new Error(`${file}: a raw .f32 file has no header: give its dimension with --dim`);
  return openRows(file, (_fh, size) => {
    if (size === 0) throw new Error(`${file}: empty`);
    const rowBytes = dim * 4;
    return {
      dim,
      rows: wholeRows(file, size, rowBytes, 0),
      bodyStart: 0,
      rowBytes,
      offsetOf: (row, col = 0) => row * rowBytes + col * 4,
      decode(bytes, _start, count) {
        const out = new Float32Array(count * dim);
        for (let i = 0; i < out.length; i++) out[i] = bytes.readFloatLE(i * 4);
        return out;
      },
    };
  });
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
