// A remove by filter (POST /remove with `filter`, the remote client's
// removeIds(selector)): the service logs every removal by its ids, and recovery
// replays ids, never a filter. So the filter is resolved to the ids present that
// it selects, inside the mutation queue (durable-index.ts), where no add can slip
// in between, and the index then removes those ids as any remove does.
//
// "Present" is what the embedded removeIds(sel) asks FAISS's selector about: the
// caller's ids under an IDMap (FAISS 1.7.3 translates positions to them), the
// ids an IVF index stores, or the positions 0..ntotal-1 of any other index; ids
// the service hides (removed, id-policy.ts) are not present. Membership follows
// FAISS's is_member for each selector (faiss/impl/IDSelector.cpp and the addon's
// native/selector.cc), evaluated here on the JS thread: the ids are few next to
// what a search over them costs, and no native call is needed to list them.
import { FaissError, IDSelector, type Index } from '../../lib';
import { selectorPart } from '../../lib/wire';
import { isBinaryIndex, type AnyIndex } from '../../lib/any-index';
import { isIdMapped, type IdState } from '../../lib/id-policy';

/** A remove whose ids a filter selects: resolved to a logged remove of ids (selectedIds). */
export interface RemoveSelected {
  type: 'remove-selected';
  sel: IDSelector;
  key?: string;
}

/** What the filter of a remove-selected request contributes to its idempotency fingerprint. */
export const filterBytesOf = (m: RemoveSelected): Uint8Array => selectorPart(m.sel);

/** Whether an id is selected, as FAISS's is_member of the same selector answers. */
type Member = (id: bigint) => boolean;

const UINT64 = (1n << 64n) - 1n;

function memberOf(sel: IDSelector): Member {
  const t = IDSelector.termOf(sel);
  switch (t.kind) {
    case 'batch':
    case 'array': {
      const ids = new Set(t.ids);
      return (id) => ids.has(id);
    }
    case 'range':
      return (id) => id >= t.min && id < t.max;
    case 'bitmap': {
      const { bits } = t;
      // FAISS reads the id as uint64: a negative id is past any bitmap's end.
      return (id) => {
        const i = id & UINT64;
        return i >> 3n < BigInt(bits.length) && ((bits[Number(i >> 3n)] >> Number(i & 7n)) & 1) === 1;
      };
    }
    case 'valueRange': {
      const { base } = t;
      const { values } = t.column;
      return (id) => {
        const i = Number(id) - base;
        const v = i >= 0 && i < values.length ? values[i] : NaN;
        return v > t.gt && v >= t.gte && v < t.lt && v <= t.lte;
      };
    }
    case 'not': {
      const a = memberOf(t.sel);
      return (id) => !a(id);
    }
    case 'and':
    case 'or':
    case 'xor': {
      const a = memberOf(t.a);
      const b = memberOf(t.b);
      if (t.kind === 'and') return (id) => a(id) && b(id);
      if (t.kind === 'or') return (id) => a(id) || b(id);
      return (id) => a(id) !== b(id);
    }
  }
}

/** The ids a remove could find in `index`, each once (hidden ones excluded). */
async function presentIds(index: Index): Promise<Iterable<bigint>> {
  if (isIdMapped(index) || index.nprobe !== undefined) return new Set((await index.extractAll()).ids);
  const n = index.ntotal;
  return (function* positions() {
    for (let i = 0; i < n; i++) yield BigInt(i);
  })();
}

/** The ids present in `index` that `sel` selects, in ascending order: what a remove by `sel` removes. */
export async function selectedIds(index: AnyIndex, ids: IdState, sel: IDSelector): Promise<BigInt64Array> {
  if (isBinaryIndex(index)) {
    throw new FaissError(`${index.typeName} removes by ids only (as the embedded IndexBinary.removeIds): send ids, not a filter`, 'ERR_UNSUPPORTED');
  }
  const selected = memberOf(sel);
  const out: bigint[] = [];
  for (const id of await presentIds(index)) if (!ids.deleted.has(id) && selected(id)) out.push(id);
  return BigInt64Array.from(out).sort();
}
