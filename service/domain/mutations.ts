// Applies one logged mutation to an index. The same code runs live and when the
// log is replayed at recovery, so both produce the same index.
import { FaissError, type Index } from '../../lib';
import type { Mutation } from '../storage/mutation-log';

/** What a LiveIndex keeps beside the FAISS object (see live-index.ts). */
export interface IndexExtras {
  /** Ids removed from an index type that cannot remove; hidden from every answer. */
  tombstones: Set<bigint>;
  /**
   * Next id to assign on add without ids, once ids can no longer be positions:
   * after a rebuild put the index under an IDMap, or after an IVF index lost
   * vectors (FAISS would start the next add at ntotal and reuse ids).
   */
  nextId: number | null;
  /** Ids present, kept only for IDMap indexes that use tombstones (built on first need). */
  idSet: Set<bigint> | null;
}

export const isIdMapped = (index: Index): boolean => index.typeName === 'IndexIDMap' || index.typeName === 'IndexIDMap2';

async function presentIds(index: Index, extras: IndexExtras): Promise<Set<bigint>> {
  if (!extras.idSet) extras.idSet = new Set((await index.extractAll()).ids);
  return extras.idSet;
}

/** IVF indexes store ids with the vectors: removing there never renumbers. */
const storesIds = (index: Index): boolean => isIdMapped(index) || index.nprobe !== undefined;

export interface Applied {
  /** How many vectors an add added. */
  added: number;
  /** How many vectors a remove removed. */
  removed: number;
  /** The id of the first vector of an add without ids (the others follow it). */
  firstId: number | null;
}

/** Applies `m` to `index`. */
export async function applyMutation(index: Index, extras: IndexExtras, m: Mutation): Promise<Applied> {
  switch (m.type) {
    case 'train':
      await index.train(m.x);
      return { added: 0, removed: 0, firstId: null };
    case 'add': {
      const n = m.x.length / m.d;
      if (m.ids) {
        await index.addWithIds(m.x, m.ids);
        if (extras.idSet) for (const id of m.ids) extras.idSet.add(id);
        return { added: n, removed: 0, firstId: null };
      }
      if (extras.nextId === null) {
        // FAISS refuses add() on an IDMap ("use add_with_ids"): a capability error (422), as ids on a flat index are.
        if (isIdMapped(index)) throw new FaissError(`${index.typeName} maps caller-chosen ids: add the vectors with ids`, 'ERR_UNSUPPORTED');
        const firstId = index.ntotal; // FAISS numbers by position
        await index.add(m.x);
        return { added: n, removed: 0, firstId };
      }
      const firstId = extras.nextId;
      const ids = BigInt64Array.from({ length: n }, (_, i) => BigInt(firstId + i));
      await index.addWithIds(m.x, ids);
      extras.nextId += n;
      if (extras.idSet) for (const id of ids) extras.idSet.add(id);
      return { added: n, removed: 0, firstId };
    }
    case 'remove':
      return { added: 0, removed: await removeIds(index, extras, m.ids), firstId: null };
    case 'reset':
      await index.reset();
      extras.tombstones.clear();
      if (extras.idSet) extras.idSet.clear();
      if (extras.nextId !== null) extras.nextId = 0;
      return { added: 0, removed: 0, firstId: null };
  }
}

/**
 * Ids never change in the service: FAISS's own remove is used only where it
 * keeps ids (IDMap, IVF); positional indexes (flat, PQ, SQ, HNSW) hide removed
 * ids instead and are rebuilt under an IDMap later (live-index.ts).
 */
async function removeIds(index: Index, extras: IndexExtras, ids: BigInt64Array): Promise<number> {
  if (extras.tombstones.size === 0 && storesIds(index)) {
    if (!isIdMapped(index)) extras.nextId ??= index.ntotal;
    try {
      return await index.removeIds(ids);
    } catch (e) {
      if (!(e instanceof FaissError) || e.code !== 'ERR_UNSUPPORTED') throw e;
    }
  }
  // Remember the ids and hide them from every answer.
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
