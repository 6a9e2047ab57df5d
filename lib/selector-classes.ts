// The selector classes users construct, one list for both modules (the embedded
// lib/index.ts and the remote lib/client): the same values filter either way.
export { IDSelector, IDSelectorAnd, IDSelectorArray, IDSelectorBatch, IDSelectorBitmap, IDSelectorNot, IDSelectorOr, IDSelectorRange, IDSelectorXOr } from './selectors';
