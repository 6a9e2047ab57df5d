// Applies one logged mutation to an index. The same code runs live and when the
// log is replayed at recovery, so both produce the same index.
import { FaissError, type Index } from '../../lib';
import type { Mutation } from '../storage/mutation-log';

/** What a LiveIndex keeps beside the FAISS object (see live-index.ts). */
export interface IndexExtras {
  /** Ids removed from an index type that cannot remove; hidden from every answer. */
  tombstones: Set<bigint>;
  /** Next id to assign on add without ids, once a rebuild has put the index under an IDMap. */
  nextId: number | null;
  /** Ids present, kept only for IDMap indexes that use tombstones (built on first need). */
  idSet: Set<bigint> | null;
}

export const isIdMapped = (index: Index): boolean => index.typeName === 'IndexIDMap' || index.typeName === 'IndexIDMap2';

async function presentIds(index: Index, extras: IndexExtras): Promise<Set<bigint>> {
  if (!extras.idSet) extras.idSet = new Set((await index.extractAll()).ids);
  return extras.idSet;
}

/** Applies `m`; returns how many vectors a remove removed (0 otherwise). */
export async function applyMutation(index: Index, extras: IndexExtras, m: Mutation): Promise<number> {
  switch (m.type) {
    case 'train':
      await index.train(m.x);
      return 0;
    case 'add': {
      const n = m.x.length / m.d;
      let ids = m.ids;
      if (!ids && extras.nextId !== null) {
        const first = extras.nextId;
        ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(first + i));
      }
      if (ids) await index.addWithIds(m.x, ids);
      else await index.add(m.x);
      if (ids && extras.nextId !== null && !m.ids) extras.nextId += n;
      if (ids && extras.idSet) for (const id of ids) extras.idSet.add(id);
      return 0;
    }
    case 'remove':
      return removeIds(index, extras, m.ids);
    case 'reset':
      await index.reset();
      extras.tombstones.clear();
      if (extras.idSet) extras.idSet.clear();
      if (extras.nextId !== null) extras.nextId = 0;
      return 0;
  }
}

async function removeIds(index: Index, extras: IndexExtras, ids: BigInt64Array): Promise<number> {
  if (extras.tombstones.size === 0) {
    try {
      return await index.removeIds(ids);
    } catch (e) {
      if (!(e instanceof FaissError) || e.code !== 'ERR_UNSUPPORTED') throw e;
    }
  }
  // The index type cannot remove (HNSW, ...): remember the ids and hide them.
  let removed = 0;
  const rawNtotal = index.ntotal;
  const present = isIdMapped(index) ? await presentIds(index, extras) : null;
  for (const id of new Set(ids)) {
    const exists = present ? present.has(id) : id >= 0n && id < BigInt(rawNtotal);
    if (exists && !extras.tombstones.has(id)) {
      extras.tombstones.add(id);
      removed++;
    }
  }
  return removed;
}
