// Binary index files and buffers, in FAISS's binary-index format (Python's
// faiss.serialize_index_binary / deserialize_index_binary / write_index_binary /
// read_index_binary). Untrusted bytes are read in the sandbox first, as lib/io.ts.
import type { DeserializeIndexOptions } from './contract';
import { IndexBinary } from './binary-index';
import { wrapNativeBinary } from './binary-indexes';
import { invalidParameterError } from './is';
import { optionsArg, serializedBytesArg, trustedOption } from './limits';
import { native } from './native';

function pathArg(p: unknown): string {
  if (typeof p !== 'string' || p.length === 0 || p.includes('\0')) throw invalidParameterError('path', 'a file path', p);
  return p;
}

/** The binary index as a Buffer over the bytes FAISS wrote (no copy). */
export async function serializeIndexBinary(index: IndexBinary): Promise<Buffer> {
  return IndexBinary.nativeOf(index, 'index').serialize();
}

/** A binary index from FAISS's serialized bytes, checked in the sandbox unless `trusted`. */
export async function deserializeIndexBinary(
  buffer: Uint8Array | ArrayBuffer,
  options: DeserializeIndexOptions = {},
): Promise<IndexBinary> {
  const bytes = serializedBytesArg(buffer);
  return wrapNativeBinary(await native.deserializeIndexBinary(bytes, optionsArg(options, trustedOption)));
}

/** Writes a new file and renames it over `path`. */
export async function writeIndexBinary(index: IndexBinary, path: string): Promise<void> {
  return IndexBinary.nativeOf(index, 'index').writeFile(pathArg(path));
}

/** As deserializeIndexBinary, from a file. */
export async function readIndexBinary(path: string, options: DeserializeIndexOptions = {}): Promise<IndexBinary> {
  const trusted = optionsArg(options, trustedOption);
  return wrapNativeBinary(await native.readIndexBinary(pathArg(path), trusted));
}
