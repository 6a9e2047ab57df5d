// Index files and buffers, in FAISS's own format (interchangeable with Python's
// faiss.write_index / faiss.read_index / serialize_index).
import type { DeserializeIndexOptions } from './contract';
import { Index } from './faiss-index';
import { wrapNative } from './indexes';
import { invalidParameterError } from './is';
import { optionsArg, serializedBytesArg, trustedOption } from './limits';
import { native } from './native';

function pathArg(p: unknown): string {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) throw invalidParameterError('path', 'a file path', p);
  return p;
}

/** The index as a Buffer that holds FAISS's serialized bytes (no copy is made). */
export async function serializeIndex(index: Index): Promise<Buffer> {
  return Index.nativeOf(index, 'index').serialize();
}

export type { DeserializeIndexOptions } from './contract';

/**
 * An index from FAISS's serialized bytes. Unless `trusted`, they are read, checked
 * and tried in a separate sandbox process first, so a file that would crash FAISS
 * is refused with ERR_CORRUPT_INDEX instead.
 */
export async function deserializeIndex(buffer: Uint8Array | ArrayBuffer, options: DeserializeIndexOptions = {}): Promise<Index> {
  const bytes = serializedBytesArg(buffer);
  return wrapNative(await native.deserializeIndex(bytes, optionsArg(options, trustedOption)));
}

/** Writes a new file and renames it over `path`, so an index mapped from the old file is not disturbed. */
export async function writeIndex(index: Index, path: string): Promise<void> {
  return Index.nativeOf(index, 'index').writeFile(pathArg(path));
}

export interface ReadIndexOptions extends DeserializeIndexOptions {
  /** Map IVF inverted lists from the file instead of reading them (read-only; FAISS 1.7.3 maps IVF only). */
  mmap?: boolean;
}

/** As deserializeIndex, from a file. */
export async function readIndex(path: string, options: ReadIndexOptions = {}): Promise<Index> {
  const { mmap, trusted } = optionsArg(options, (o) => ({ mmap: o.mmap === true, trusted: trustedOption(o) }));
  return wrapNative(await native.readIndex(pathArg(path), mmap, trusted));
}
