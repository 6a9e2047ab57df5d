// FAISS's selectors behind the IDSelector values (lib/selectors.ts), built the
// first time a selector is used in this process and kept as long as the value
// lives: a selector reused across searches, and across indexes, hands FAISS the
// same object, its ids copied once. The values themselves load no native code
// (the remote client takes them too).
import { native, type NativeSelector } from './native';
import { IDSelector } from './selectors';

const built = new WeakMap<IDSelector, NativeSelector>();

export function nativeSelectorOf(sel: IDSelector): NativeSelector {
  const known = built.get(sel);
  if (known) return known;
  const term = IDSelector.termOf(sel);
  let made: NativeSelector;
  switch (term.kind) {
    case 'batch':
    case 'array':
      made = native.newSelector(term.kind, term.ids);
      break;
    case 'range':
      made = native.newSelector('range', term.min, term.max);
      break;
    case 'bitmap':
      made = native.newSelector('bitmap', term.bits);
      break;
    case 'valueRange':
      made = native.newSelector('valueRange', term.column, term.gt, term.gte, term.lt, term.lte);
      break;
    case 'not':
      made = native.newSelector('not', nativeSelectorOf(term.sel));
      break;
    default:
      made = native.newSelector(term.kind, nativeSelectorOf(term.a), nativeSelectorOf(term.b));
  }
  built.set(sel, made);
  return made;
}
