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

export interface DeserializeIndexOptions {
  /**
   * Skip the sandbox: FAISS reads the bytes in this process, as they are. Only for
   * bytes this program wrote itself: FAISS trusts every size in a file, and a
   * damaged or crafted one can crash the process. Default false.
   */
  trusted?: boolean;
}

function trustedOption(options: unknown): boolean {
  return readArgument('options', () => {
    if (!isObject(options)) throw invalidParameterError('options', 'an object', options);
    const { trusted } = options;
    if (trusted !== undefined && typeof trusted !== 'boolean') {
      throw invalidParameterError('options.trusted', 'a boolean', trusted);
    }
    return trusted === true;
  });
}

/**
 * An index from FAISS's serialized bytes. Unless `trusted`, they are read, checked
 * and tried in a separate sandbox process first, so a file that would crash FAISS
 * is refused with ERR_CORRUPT_INDEX instead.
 */
export async function deserializeIndex(buffer: Uint8Array | ArrayBuffer, options: DeserializeIndexOptions = {}): Promise<Index> {
  if (!types.isUint8Array(buffer) && !types.isArrayBuffer(buffer)) {
    throw invalidParameterError('buffer', 'a Buffer, Uint8Array or ArrayBuffer', buffer);
  }
  return wrapNative(await native.deserializeIndex(buffer, trustedOption(options)));
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
  const { mmap, trusted } = readArgument('options', () => {
    if (!isObject(options)) throw invalidParameterError('options', 'an object', options);
    return { mmap: options.mmap === true, trusted: trustedOption(options) };
  });
  return wrapNative(await native.readIndex(pathArg(path), mmap, trusted));
}
