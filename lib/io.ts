// Index files and buffers, in FAISS's own format (interchangeable with Python's
// faiss.write_index / faiss.read_index / serialize_index).
import { types } from 'node:util';
import { Index } from './faiss-index';
import { wrapNative } from './indexes';
import { invalidParameterError, isObject, readArgument } from './is';
import { native } from './native';

function pathArg(p: unknown): string {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) throw invalidParameterError('path', 'a file path', p);
  return p;
}

/** The index as a Buffer that holds FAISS's serialized bytes (no copy is made). */
export async function serializeIndex(index: Index): Promise<Buffer> {
  return Index.nativeOf(index, 'index').serialize();
}

export async function deserializeIndex(buffer: Uint8Array | ArrayBuffer): Promise<Index> {
  if (!types.isUint8Array(buffer) && !types.isArrayBuffer(buffer)) {
    throw invalidParameterError('buffer', 'a Buffer, Uint8Array or ArrayBuffer', buffer);
  }
  return wrapNative(await native.deserializeIndex(buffer));
}

export async function writeIndex(index: Index, path: string): Promise<void> {
  return Index.nativeOf(index, 'index').writeFile(pathArg(path));
}

export interface ReadIndexOptions {
  /** Map IVF inverted lists from the file instead of reading them (read-only; FAISS 1.7.3 maps IVF only). */
  mmap?: boolean;
}

export async function readIndex(path: string, options: ReadIndexOptions = {}): Promise<Index> {
  const mmap = readArgument('options', () => {
    if (!isObject(options)) throw invalidParameterError('options', 'an object', options);
    return options.mmap === true;
  });
  return wrapNative(await native.readIndex(pathArg(path), mmap));
}
