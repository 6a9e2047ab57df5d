// Reads what LangChain's FaissStore (@langchain/community, over faiss-node) saves:
//   faiss.index    faiss::write_index of its index (an IndexFlatL2 unless the user
//                  gave another), FAISS's own file format, which readIndex reads;
//   docstore.json  JSON.stringify([[...docstore entries], mapping]): the entries
//                  are [documentId, { pageContent, metadata, id? }] pairs, the
//                  mapping is { "<FAISS label>": documentId } for labels 0..ntotal-1;
// or what Python LangChain's FAISS.save_local saves (its default index_name):
//   index.faiss    faiss.write_index of its index, the same format;
//   index.pkl      a pickle of (docstore, index_to_docstore_id), read without
//                  running it (python-faiss-store.ts).
// Each label's vector is read back from the index (reconstruct), so importing
// embeds nothing again.
import { Document } from '@langchain/core/documents';
import type { CollectionMetric } from '../collections/types';
import { METRIC_INNER_PRODUCT, METRIC_L2 } from '../constants';
import { FaissError } from '../errors';
import type { Index } from '../faiss-index';
import { isObject } from '../is';
import { parsePythonDocstore } from './python-faiss-store';

export interface FaissStoreBatch {
  ids: string[];
  vectors: Float32Array[];
  documents: Document[];
}

export interface SavedFaissStore {
  dimension: number;
  metric: CollectionMetric;
  /** Vectors in the index (one per mapped document). */
  count: number;
  /** The documents in label order, batchSize at a time. */
  batches(): AsyncGenerator<FaissStoreBatch>;
  /** Frees the index read from faiss.index. */
  dispose(): void;
}

const LABEL = /^(0|[1-9][0-9]*)$/;

function invalid(file: string, what: string): FaissError {
  return new FaissError(`${file} is not a LangChain FaissStore docstore: ${what}`, 'ERR_INVALID_ARGUMENT');
}

function documentOfEntry(file: string, entry: unknown, i: number): [string, Document] {
  if (!Array.isArray(entry) || entry.length !== 2 || typeof entry[0] !== 'string') throw invalid(file, `entry ${i} is not a [documentId, document] pair`);
  const [id, doc] = entry as [string, unknown];
  if (!isObject(doc) || typeof doc.pageContent !== 'string') throw invalid(file, `document "${id}" has no string pageContent`);
  const metadata = doc.metadata ?? {};
  if (!isObject(metadata)) throw invalid(file, `the metadata of document "${id}" is not an object`);
  return [id, new Document({ pageContent: doc.pageContent, metadata, id })];
}

/** The document id of every label 0..ntotal-1, and the documents, from docstore.json's text. */
function parseDocstore(file: string, text: string, ntotal: number): { idOfLabel: string[]; documents: Map<string, Document> } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw invalid(file, `not JSON (${(e as Error).message})`);
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || !Array.isArray(parsed[0]) || !isObject(parsed[1])) {
    throw invalid(file, 'expected [[...entries], { label: documentId }]');
  }
  const documents = new Map((parsed[0] as unknown[]).map((entry, i) => documentOfEntry(file, entry, i)));
  const idOfLabel: string[] = new Array(ntotal);
  for (const [label, id] of Object.entries(parsed[1])) {
    if (!LABEL.test(label) || Number(label) >= ntotal) throw invalid(file, `the mapping names label ${JSON.stringify(label)}, not one of the index's 0..${ntotal - 1}`);
    if (typeof id !== 'string') throw invalid(file, `label ${label} maps to ${JSON.stringify(id)}, not a document id`);
    if (!documents.has(id)) throw invalid(file, `label ${label} maps to document "${id}", which the docstore does not hold`);
    idOfLabel[Number(label)] = id;
  }
  for (let label = 0; label < ntotal; label++) {
    if (idOfLabel[label] === undefined) throw invalid(file, `the index holds ${ntotal} vectors but label ${label} maps to no document`);
  }
  return { idOfLabel, documents };
}

function metricOf(index: Index, file: string): CollectionMetric {
  if (index.metricType === METRIC_L2) return 'l2';
  if (index.metricType === METRIC_INNER_PRODUCT) return 'ip';
  throw new FaissError(`${file} holds an index of metric ${index.metricType}: a collection takes "l2" or "ip"`, 'ERR_UNSUPPORTED');
}

/** The most bytes of a docstore file read (index.pkl or docstore.json): its parsed values take several times more. */
const MAX_DOCSTORE_BYTES = 1024 ** 3;

type Docstore = { idOfLabel: string[]; documents: Map<string, Document> };

/** The two layouts, LangChain.js's first: the docstore file, the index file, and how the docstore is read. */
const LAYOUTS: { docstore: string; index: string; parse: (file: string, bytes: Buffer, ntotal: number) => Docstore }[] = [
  { docstore: 'docstore.json', index: 'faiss.index', parse: (file, bytes, ntotal) => parseDocstore(file, bytes.toString('utf8'), ntotal) },
  { docstore: 'index.pkl', index: 'index.faiss', parse: parsePythonDocstore },
];

export async function readFaissStoreDirectory(directory: string, batchSize: number): Promise<SavedFaissStore> {
  // Loaded here: the langchain entry point loads the native addon only where it needs it.
  const [fs, path, { readIndex }] = await Promise.all([import('node:fs/promises'), import('node:path'), import('../io')]);
  let found: { layout: (typeof LAYOUTS)[number]; bytes: Buffer } | undefined;
  for (const layout of LAYOUTS) {
    const file = path.join(directory, layout.docstore);
    try {
      const { size } = await fs.stat(file);
      if (size > MAX_DOCSTORE_BYTES) throw new FaissError(`${file} has ${size} bytes, more than the ${MAX_DOCSTORE_BYTES} a docstore is read with`, 'ERR_RESOURCE_LIMIT');
      found = { layout, bytes: await fs.readFile(file) };
      break;
    } catch (e) {
      if (e instanceof FaissError) throw e;
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw new FaissError(`Cannot read ${file}: ${(e as Error).message}`, 'ERR_IO');
    }
  }
  if (!found) {
    const names = LAYOUTS.map((l) => path.join(directory, l.docstore)).join(' or ');
    throw new FaissError(`Cannot read ${names}: no FaissStore (LangChain.js) or FAISS (Python LangChain) store is saved in ${directory}`, 'ERR_IO');
  }
  const docstoreFile = path.join(directory, found.layout.docstore);
  const indexFile = path.join(directory, found.layout.index);
  const index = await readIndex(indexFile);
  try {
    const metric = metricOf(index, indexFile);
    const { idOfLabel, documents } = found.layout.parse(docstoreFile, found.bytes, index.ntotal);
    return {
      dimension: index.d,
      metric,
      count: idOfLabel.length,
      async *batches() {
        for (let start = 0; start < idOfLabel.length; start += batchSize) {
          const n = Math.min(batchSize, idOfLabel.length - start);
          const flat = await index.reconstructN(start, n);
          const ids = idOfLabel.slice(start, start + n);
          yield {
            ids,
            vectors: ids.map((_, i) => flat.subarray(i * index.d, (i + 1) * index.d)),
            documents: ids.map((id) => documents.get(id)!),
          };
        }
      },
      dispose: () => index.dispose(),
    };
  } catch (e) {
    index.dispose();
    throw e;
  }
}
