// NumPy's .npy format (version 1.0, 2.0 and 3.0 headers): a 2-D C-order array of
// float32, or of float16 converted to float32 on reading. Export writes version
// 1.0, float32 (or float16 when asked).
import * as fs from 'node:fs/promises';
import { halfToFloat, floatToHalf } from './float16';
import { openRows, wholeRows, type VectorReader, type VectorWriter } from './formats';

const MAGIC = Buffer.from([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]); // \x93NUMPY

interface Header {
  dtype: 'f4' | 'f2';
  littleEndian: boolean;
  rows: number;
  dim: number;
  bodyStart: number;
}

function parseHeader(file: string, head: Buffer): Header {
  const bad = (why: string) => new Error(`${file}: not a .npy file we can read: ${why}`);
  if (head.length < 10 || !head.subarray(0, 6).equals(MAGIC)) throw bad('at byte offset 0: no \\x93NUMPY magic');
  const major = head[6];
  if (major < 1 || major > 3) throw bad(`at byte offset 6: format version ${major}.${head[7]} (1 to 3 are known)`);
  const lengthBytes = major === 1 ? 2 : 4;
  if (head.length < 8 + lengthBytes) throw bad('truncated header');
  const length = major === 1 ? head.readUInt16LE(8) : head.readUInt32LE(8);
  const bodyStart = 8 + lengthBytes + length;
  if (head.length < bodyStart) throw bad(`truncated header: it says ${length} bytes from byte offset ${8 + lengthBytes}`);
  const text = head.subarray(8 + lengthBytes, bodyStart).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([<>=|])(f[248]|[a-zA-Z][0-9]*)'/.exec(text);
  const order = /'fortran_order'\s*:\s*(True|False)/.exec(text);
  const shape = /'shape'\s*:\s*\(([^)]*)\)/.exec(text);
  if (!descr || !order || !shape) throw bad(`at byte offset ${8 + lengthBytes}: header ${JSON.stringify(text.trim())} lacks descr, fortran_order or shape`);
  const dtype = descr[2];
  if (dtype !== 'f4' && dtype !== 'f2') throw bad(`dtype ${descr[1]}${dtype}: expected float32 (<f4) or float16 (<f2)`);
  if (order[1] === 'True') throw bad('fortran_order is True: expected a C-order array (numpy.ascontiguousarray)');
  const dims = shape[1].split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  if (dims.length !== 2 || !dims.every((n) => Number.isSafeInteger(n) && n >= 0)) throw bad(`shape (${shape[1]}): expected 2 dimensions (rows, dim)`);
  if (dims[1] === 0) throw bad('shape has dimension 0');
  return { dtype, littleEndian: descr[1] !== '>', rows: dims[0], dim: dims[1], bodyStart };
}

export async function openNpy(file: string): Promise<VectorReader> {
  return openRows(file, async (fh, size) => {
    const head = Buffer.alloc(Math.min(size, 65_536 + 12));
    await fh.read(head, 0, head.length, 0);
    const h = parseHeader(file, head);
    const item = h.dtype === 'f4' ? 4 : 2;
    const rowBytes = h.dim * item;
    const stored = wholeRows(file, size - h.bodyStart, rowBytes, h.bodyStart);
    if (stored < h.rows) throw new Error(`${file}: truncated: the header says ${h.rows} rows of ${rowBytes} bytes, the file holds ${stored} (it ends at byte offset ${size})`);
    if (stored > h.rows) throw new Error(`${file}: ${size - h.bodyStart - h.rows * rowBytes} bytes after the ${h.rows} rows the header says, at byte offset ${h.bodyStart + h.rows * rowBytes}`);
    return {
      dim: h.dim,
      rows: h.rows,
      bodyStart: h.bodyStart,
      rowBytes,
      offsetOf: (row, col = 0) => h.bodyStart + row * rowBytes + col * item,
      decode(bytes, _start, count) {
        const out = new Float32Array(count * h.dim);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        for (let i = 0; i < out.length; i++) out[i] = item === 4 ? view.getFloat32(i * 4, h.littleEndian) : halfToFloat(view.getUint16(i * 2, h.littleEndian));
        return out;
      },
    };
  });
}

function header(dtype: 'f4' | 'f2', rows: number, dim: number): Buffer {
  const dict = `{'descr': '<${dtype}', 'fortran_order': False, 'shape': (${rows}, ${dim}), }`;
  const total = Math.ceil((10 + dict.length + 1) / 64) * 64; // the body starts 64-byte aligned
  const text = dict.padEnd(total - 10 - 1, ' ') + '\n';
  const out = Buffer.alloc(total);
  MAGIC.copy(out, 0);
  out[6] = 1;
  out[7] = 0;
  out.writeUInt16LE(text.length, 8);
  out.write(text, 10, 'latin1');
  return out;
}

/** A .npy writer of `rows` rows, known in advance (the header holds the shape). */
export async function createNpy(file: string, dim: number, rows: number, dtype: 'f4' | 'f2' = 'f4'): Promise<VectorWriter> {
  const fh = await fs.open(file, 'w');
  await fh.write(header(dtype, rows, dim));
  let written = 0;
  return {
    async write(x) {
      written += x.length / dim;
      if (written > rows) throw new Error(`${file}: more than the ${rows} rows its header says`);
      if (dtype === 'f4') {
        await fh.write(Buffer.from(x.buffer, x.byteOffset, x.byteLength)); // little-endian machines only (x86, arm64)
      } else {
        const out = Buffer.alloc(x.length * 2);
        for (let i = 0; i < x.length; i++) out.writeUInt16LE(floatToHalf(x[i]), i * 2);
        await fh.write(out);
      }
    },
    async close() {
      await fh.close();
      if (written !== rows) throw new Error(`${file}: ${written} rows written, its header says ${rows}`);
    },
  };
}
