// The TEXMEX formats (corpus-texmex.irisa.fr, the SIFT/GIST benchmark files):
// each row is its dimension as a little-endian int32, then its components:
// float32 (.fvecs), uint8 (.bvecs) or int32 (.ivecs). Read as float32: bvecs and
// ivecs components convert exactly (int32 up to 2^24 in magnitude; beyond, refused).
import * as fs from 'node:fs/promises';
import { openRows, wholeRows, type VectorReader, type VectorWriter } from './formats';

export type VecsFormat = 'fvecs' | 'bvecs' | 'ivecs';

const ITEM: Record<VecsFormat, number> = { fvecs: 4, bvecs: 1, ivecs: 4 };
/** Integers float32 holds exactly. */
const EXACT = 2 ** 24;

export async function openVecs(file: string, format: VecsFormat): Promise<VectorReader> {
  return openRows(file, async (fh, size) => {
    if (size < 4) throw new Error(`${file}: ${size === 0 ? 'empty' : `truncated: ${size} bytes, not even the first row's dimension`}`);
    const first = Buffer.alloc(4);
    await fh.read(first, 0, 4, 0);
    const dim = first.readInt32LE(0);
    if (dim < 1 || dim > 1_000_000) throw new Error(`${file}: at byte offset 0: a row's dimension of ${dim} (a .${format} row starts with its dimension, 1 to 1000000)`);
    const item = ITEM[format];
    const rowBytes = 4 + dim * item;
    return {
      dim,
      rows: wholeRows(file, size, rowBytes, 0),
      bodyStart: 0,
      rowBytes,
      offsetOf: (row, col) => row * rowBytes + (col === undefined ? 0 : 4 + col * item),
      decode(bytes, start, count) {
        const out = new Float32Array(count * dim);
        for (let r = 0; r < count; r++) {
          const at = r * rowBytes;
          const d = bytes.readInt32LE(at);
          if (d !== dim) throw new Error(`${file}: at byte offset ${(start + r) * rowBytes} (row ${start + r}): a row of dimension ${d}, the first row's is ${dim}; every row of a .${format} file has the same`);
          for (let c = 0; c < dim; c++) {
            const p = at + 4 + c * item;
            if (format === 'fvecs') out[r * dim + c] = bytes.readFloatLE(p);
            else if (format === 'bvecs') out[r * dim + c] = bytes[p];
            else {
              const v = bytes.readInt32LE(p);
              if (Math.abs(v) > EXACT) throw new Error(`${file}: at byte offset ${(start + r) * rowBytes + 4 + c * 4} (row ${start + r}, component ${c}): ${v} has no exact float32 (beyond ±2^24)`);
              out[r * dim + c] = v;
            }
          }
        }
        return out;
      },
    };
  });
}

/** Writes rows; bvecs and ivecs only take the integers they can hold (else an error naming the row). */
export async function createVecs(file: string, format: VecsFormat, dim: number): Promise<VectorWriter> {
  const fh = await fs.open(file, 'w');
  const item = ITEM[format];
  let row = 0;
  return {
    async write(x) {
      const n = x.length / dim;
      const out = Buffer.alloc(n * (4 + dim * item));
      for (let r = 0; r < n; r++, row++) {
        const at = r * (4 + dim * item);
        out.writeInt32LE(dim, at);
        for (let c = 0; c < dim; c++) {
          const v = x[r * dim + c];
          const p = at + 4 + c * item;
          if (format === 'fvecs') {
            out.writeFloatLE(v, p);
            continue;
          }
          const [min, max] = format === 'bvecs' ? [0, 255] : [-(2 ** 31), 2 ** 31 - 1];
          if (!Number.isInteger(v) || v < min || v > max) {
            throw new Error(`${file}: row ${row}, component ${c} is ${v}: a .${format} file holds integers ${min} to ${max}; export to .fvecs or .npy instead`);
          }
          if (format === 'bvecs') out[p] = v;
          else out.writeInt32LE(v, p);
        }
      }
      await fh.write(out);
    },
    close: () => fh.close(),
  };
}
