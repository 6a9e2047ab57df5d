// Files committed under test/fixtures/ (not compiled: read from the source tree).
import * as fs from 'node:fs';
import * as path from 'node:path';

export const FIXTURES = path.resolve(__dirname, '..', '..', '..', 'test', 'fixtures');

/** Index files written by FAISS 1.15 (test/fixtures/newer-faiss/README.md). */
export const NEWER_FAISS = path.join(FIXTURES, 'newer-faiss');

export interface NewerFaissFile {
  factory?: string;
  class?: string;
  /** Files 1.7.3 reads: the class, the settings searched with, and 1.15's answer. */
  type?: string;
  tunables?: { nprobe?: number; efSearch?: number };
  labels?: number[];
  distances?: number[];
  /** Files of a type 1.7.3 does not know: its four-character code. */
  unknownType?: string;
}

export interface NewerFaissSpec {
  faiss: string;
  d: number;
  k: number;
  files: Record<string, NewerFaissFile>;
}

export function newerFaiss(): { spec: NewerFaissSpec; queries: Float32Array; file: (name: string) => string } {
  const spec = JSON.parse(fs.readFileSync(path.join(NEWER_FAISS, 'expected.json'), 'utf8')) as NewerFaissSpec;
  const b = fs.readFileSync(path.join(NEWER_FAISS, 'queries.f32'));
  const queries = new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length));
  return { spec, queries, file: (name) => path.join(NEWER_FAISS, `${name}.faissindex`) };
}
