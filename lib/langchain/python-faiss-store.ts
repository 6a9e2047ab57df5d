// The docstore of a store Python LangChain's FAISS.save_local wrote: index.pkl is
// `pickle.dump((docstore, index_to_docstore_id))`, where docstore is an
// InMemoryDocstore (its state: { _dict: { documentId: Document } }), each
// Document a pydantic model (its state: { __dict__: { id, metadata,
// page_content, type }, ... }; pydantic 1's the same under __dict__), and
// index_to_docstore_id a dict { label: documentId }. pickle.ts reads the file
// without running anything; this checks its shape and converts it, metadata to
// JSON values. Values the pickle shares or nests are converted within a budget
// (a pickle can repeat one part many times over, or refer to itself).
import { Document } from '@langchain/core/documents';
import { FaissError } from '../errors';
import { PickleGlobal, PickleObject, PickleSet, PickleTuple, readPickle, type PickleKey, type PickleValue } from './pickle';

/** The classes such a file holds, by the module paths LangChain has had them under. */
const DOCSTORES = ['langchain_community.docstore.in_memory.InMemoryDocstore', 'langchain.docstore.in_memory.InMemoryDocstore'];
const DOCUMENTS = ['langchain_core.documents.base.Document', 'langchain.schema.document.Document'];
const GLOBALS: ReadonlySet<string> = new Set([...DOCSTORES, ...DOCUMENTS]);

/** Metadata nested deeper than this is refused (a collection's payload is JSON of bounded depth). */
const MAX_DEPTH = 64;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export function parsePythonDocstore(file: string, bytes: Uint8Array, ntotal: number): { idOfLabel: string[]; documents: Map<string, Document> } {
  const invalid = (what: string) => new FaissError(`${file} is not a Python LangChain FAISS docstore: ${what}`, 'ERR_INVALID_ARGUMENT');
  const root = readPickle(bytes, { file, globals: GLOBALS });
  // Each value converted costs one from the budget: a file cannot make more of them than a few per byte.
  let budget = 4 * bytes.length + 1024;
  const converting = new Set<object>();

  const json = (v: PickleValue, where: string, depth: number): Json => {
    if (--budget < 0) throw invalid(`${where}: more values than the file holds (parts repeated over and over)`);
    if (depth > MAX_DEPTH) throw invalid(`${where}: nested deeper than ${MAX_DEPTH}`);
    if (v === null || typeof v === 'string' || typeof v === 'boolean') return v;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw invalid(`${where}: ${v}, which JSON does not hold`);
      return v;
    }
    if (Array.isArray(v) || v instanceof PickleTuple || v instanceof Map) {
      if (converting.has(v)) throw invalid(`${where}: a value that contains itself`);
      converting.add(v);
      try {
        if (v instanceof Map) {
          const out: { [key: string]: Json } = {};
          for (const [k, item] of v) {
            if (typeof k !== 'string') throw invalid(`${where}: a key ${JSON.stringify(k)} that is not a string`);
            out[k] = json(item, `${where}.${k}`, depth + 1);
          }
          return out;
        }
        const items = Array.isArray(v) ? v : v.items;
        return items.map((item, i) => json(item, `${where}[${i}]`, depth + 1));
      } finally {
        converting.delete(v);
      }
    }
    const kind = v instanceof PickleSet ? 'a set' : v instanceof PickleGlobal ? `the class ${v.qualifiedName}` : `an object of ${v.cls.qualifiedName}`;
    throw invalid(`${where}: ${kind}, not a JSON value`);
  };

  const objectOf = (v: PickleValue | undefined, classes: string[], what: string): Map<PickleKey, PickleValue> => {
    if (!(v instanceof PickleObject) || !classes.includes(v.cls.qualifiedName)) throw invalid(`${what} is not a ${classes[0]}`);
    if (v.args.length !== 0 || !(v.state instanceof Map)) throw invalid(`${what} is not a ${classes[0]} as pickle saves one`);
    return v.state;
  };

  const documentOf = (id: string, v: PickleValue | undefined): Document => {
    const where = `document "${id}"`;
    const state = objectOf(v, DOCUMENTS, where);
    // pydantic keeps a model's fields under __dict__ (2: beside __pydantic_extra__ ...; 1: beside __fields_set__).
    const fields = state.get('__dict__');
    if (!(fields instanceof Map)) throw invalid(`${where} has no fields`);
    const pageContent = fields.get('page_content');
    if (typeof pageContent !== 'string') throw invalid(`${where} has no string page_content`);
    const raw = fields.get('metadata') ?? new Map();
    if (!(raw instanceof Map)) throw invalid(`the metadata of ${where} is not a dict`);
    const metadata = json(raw, `the metadata of ${where}`, 0) as Record<string, Json>;
    return new Document({ pageContent, metadata, id });
  };

  if (!(root instanceof PickleTuple) || root.items.length !== 2) throw invalid('expected a tuple (docstore, index_to_docstore_id)');
  const [docstore, mapping] = root.items;
  const stored = objectOf(docstore, DOCSTORES, 'the docstore').get('_dict');
  if (!(stored instanceof Map)) throw invalid('the docstore holds no _dict');
  const documents = new Map<string, Document>();
  for (const [id, doc] of stored) {
    if (typeof id !== 'string') throw invalid(`a document id ${JSON.stringify(id)} that is not a string`);
    documents.set(id, documentOf(id, doc));
  }
  if (!(mapping instanceof Map)) throw invalid('index_to_docstore_id is not a dict');
  const idOfLabel: string[] = new Array(ntotal);
  for (const [label, id] of mapping) {
    if (typeof label !== 'number' || !Number.isInteger(label) || label < 0 || label >= ntotal) {
      throw invalid(`index_to_docstore_id names label ${JSON.stringify(label)}, not one of the index's 0..${ntotal - 1}`);
    }
    if (typeof id !== 'string') throw invalid(`label ${label} maps to a value that is not a document id`);
    if (!documents.has(id)) throw invalid(`label ${label} maps to document "${id}", which the docstore does not hold`);
    idOfLabel[label] = id;
  }
  for (let label = 0; label < ntotal; label++) {
    if (idOfLabel[label] === undefined) throw invalid(`the index holds ${ntotal} vectors but label ${label} maps to no document`);
  }
  return { idOfLabel, documents };
}
