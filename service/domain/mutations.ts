// Applies one logged mutation to an index. The same code runs live and when the
// log is replayed at recovery, so both produce the same index. Which ids vectors
// get and what a remove does to them is the id policy's (lib/id-policy.ts).
import type { Index } from '../../lib';
import type { Mutation } from '../storage/mutation-log';
import { rowLength, trainRows, type AnyIndex } from '../../lib/any-index';
import { addVectors, removeIds, resetIds, type IdState } from '../../lib/id-policy';

/** FAISS's ClusteringParameters::seed by default (Python's index.cp.seed). */
const FAISS_KMEANS_SEED = 1234;

export interface Applied {
  /** How many vectors an add added. */
  added: number;
  /** How many vectors a remove removed. */
  removed: number;
  /** The id of the first vector of an add without ids (the others follow it). */
  firstId: number | null;
  /** The index that holds the vectors from now on, when the mutation rebuilt it (lib/id-policy.ts removeIds). */
  replaced?: Index;
}

/** Applies `m` to `index` and its id state. */
export async function applyMutation(index: AnyIndex, ids: IdState, m: Mutation): Promise<Applied> {
  switch (m.type) {
    case 'train':
      // The record's seed, or FAISS's default: never what an earlier train left on
      // this object, which a replica or a restart (loading a snapshot, where FAISS
      // keeps no seed) would not have. An index without a k-means refuses a seed.
      if (m.kmeansSeed !== undefined || index.kmeansSeed !== undefined) index.kmeansSeed = m.kmeansSeed ?? FAISS_KMEANS_SEED;
      await trainRows(index, m.x);
      return { added: 0, removed: 0, firstId: null };
    case 'add': {
      const n = m.x.length / rowLength(m.d, m.x instanceof Uint8Array);
      return { added: n, removed: 0, firstId: await addVectors(index, ids, m.x, n, m.ids) };
    }
    case 'remove': {
      const { removed, replaced } = await removeIds(index, ids, m.ids);
      return { added: 0, removed, firstId: null, ...(replaced ? { replaced } : {}) };
    }
    case 'reset':
      await index.reset();
      resetIds(ids);
      return { added: 0, removed: 0, firstId: null };
    case 'collection':
      // Only a collection's log holds these (durable-collection.ts): an index's never does.
      throw new Error(`a collection's ${m.header.op} in an index's log`);
    case 'import':
      // Replaces the index wholesale: the durable index's (durable.ts applyReplicated), never an index's own change.
      throw new Error('an import is applied by its durable index');
  }
}
