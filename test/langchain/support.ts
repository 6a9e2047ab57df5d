// What the LangChain tests share: a deterministic embeddings class (LangChain's
// own FakeEmbeddings gives every text the same vector, so it cannot tell which
// chunk is nearest), a small corpus a user would split, and the nearest chunks
// computed here by brute force, as the answer a store must give.
import { Document } from '@langchain/core/documents';
import { Embeddings } from '@langchain/core/embeddings';
import { RecursiveCharacterTextSplitter } from '@langchain/textsplitters';

export const DIMENSION = 64;

/**
 * Bag of words: each word stands for a pseudo-random unit-scale vector (seeded by
 * its FNV-1a hash), a text for the normalized sum of its words' vectors. Texts
 * sharing words are near, and distances between different texts do not tie.
 */
export class HashEmbeddings extends Embeddings {
  constructor() {
    super({});
  }

  static vector(text: string): number[] {
    const v = new Array<number>(DIMENSION).fill(0);
    for (const word of text.toLowerCase().match(/[a-z0-9]+/g) ?? []) {
      let h = 0x811c9dc5;
      for (let i = 0; i < word.length; i++) h = Math.imul(h ^ word.charCodeAt(i), 0x01000193) >>> 0;
      for (let j = 0; j < DIMENSION; j++) {
        // xorshift32: the word's own sequence of coordinates.
        h ^= h << 13;
        h ^= h >>> 17;
        h ^= h << 5;
        h >>>= 0;
        v[j] += h / 2 ** 31 - 1;
      }
    }
    const norm = Math.hypot(...v);
    return norm === 0 ? v : v.map((x) => x / norm);
  }

  async embedDocuments(texts: string[]): Promise<number[][]> {
    return texts.map((t) => HashEmbeddings.vector(t));
  }

  async embedQuery(text: string): Promise<number[]> {
    return HashEmbeddings.vector(text);
  }
}

export const ARTICLES = [
  new Document({
    pageContent: [
      'Paris is the capital of France.\nThe Eiffel Tower stands in Paris.',
      'Berlin is the capital of Germany.\nThe Brandenburg Gate stands in Berlin.',
      'Rome is the capital of Italy.\nThe Colosseum stands in Rome.',
      'Madrid is the capital of Spain.\nThe Prado museum is in Madrid.',
    ].join('\n\n'),
    metadata: { source: 'wiki', year: 2021 },
  }),
  new Document({
    pageContent: [
      'I visited Paris last spring and ate croissants every day.',
      'My trip to Berlin was cold and rainy, but the museums were warm.',
      'Rome was sunny and the pasta was great.',
    ].join('\n\n'),
    metadata: { source: 'blog', year: 2024 },
  }),
];

/** The articles split as a user splits them (one chunk per paragraph here), with LangChain's loc metadata. */
export async function chunks(): Promise<Document[]> {
  const splitter = new RecursiveCharacterTextSplitter({ chunkSize: 80, chunkOverlap: 0 });
  return splitter.splitDocuments(ARTICLES);
}

const squaredL2 = (a: number[], b: number[]): number => {
  // As FAISS computes it, in float32: the vectors are stored as float32.
  const x = Float32Array.from(a);
  const y = Float32Array.from(b);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += (x[i] - y[i]) ** 2;
  return s;
};

/** The k chunks nearest to the query among those `keep` accepts, with their squared L2 distances. */
export function nearest(docs: Document[], query: string, k: number, keep: (d: Document) => boolean = () => true): { text: string; distance: number }[] {
  const q = HashEmbeddings.vector(query);
  const ranked = docs
    .filter(keep)
    .map((d) => ({ text: d.pageContent, distance: squaredL2(q, HashEmbeddings.vector(d.pageContent)) }))
    .sort((a, b) => a.distance - b.distance);
  // Two chunks at (nearly) one distance may come in either order: the fixture avoids them.
  for (let i = 0; i < Math.min(k, ranked.length - 1); i++) {
    if (ranked[i + 1].distance - ranked[i].distance < 1e-4) throw new Error(`a tie in the test data at rank ${i} for "${query}"`);
  }
  return ranked.slice(0, k);
}
