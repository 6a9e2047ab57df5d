// A binary index on a faiss-proxy server (IndexBinaryFlat, IndexBinaryIVF,
// IndexBinaryHNSW) with the embedded IndexBinary's methods, results and errors:
// both implement IndexBinaryContract. Codes travel as raw bytes, Hamming
// distances come back as int32 (lib/wire.ts). What differs from the embedded
// index is what differs for float ones (remote-base.ts, lib/contract.ts), and: a
// binary flat or HNSW index on the server cannot remove ids (ERR_UNSUPPORTED; it
// would renumber); search answers are not cached (cacheResults).
import { toCodes } from '../codes';
import type { IndexBinaryContract } from '../contract';
import { invalidParameterError } from '../is';
import { binarySearchParams, hammingRadiusArg, idArg, kArg } from '../limits';
import type { BinaryCodes, BinaryRangeSearchResult, BinarySearchResult, Ids, SearchParams } from '../types';
import { toIds, toNewIds } from '../vectors';
import { codesWithIdsBody, HEADER, idsBody, jsonId, readBinaryRangeSearchAnswer, readBinarySearchAnswer, readCodesAnswer } from '../wire';
import { answerBytes, RemoteIndexBase, type IndexDescription, type RemoteContext, type RemoteIndexInfo } from './remote-base';

export class RemoteIndexBinary extends RemoteIndexBase implements IndexBinaryContract {
  /** Bytes per code: d / 8. */
  readonly codeSize: number;
  // Tells a binary index from a float one (RemoteIndex) without running the caller's code.
  readonly #binary = true;

  /** @internal Built by the classes of connect(); `existing` attaches to a server index. */
  constructor(ctx: RemoteContext, d: number, description: IndexDescription, name?: string, existing?: RemoteIndexInfo) {
    super(ctx, d, description, name, existing);
    this.codeSize = d / 8;
  }

  /** @internal `v` as a binary index of a connection, by a brand check (as RemoteIndex.check). */
  static check(v: unknown, name: string, alive = true): RemoteIndexBinary {
    if (typeof v !== 'object' || v === null || !(#binary in v)) throw invalidParameterError(name, 'an IndexBinary of this connection', v);
    return RemoteIndexBase.checkAny(v, name, alive) as RemoteIndexBinary;
  }

  get isTrained(): boolean {
    const self = live(this);
    return self.knownIsTrained ?? !/^BIVF/.test(self.description.factory);
  }

  /** @internal A binary index is created with its factory string alone: no metric (Hamming). */
  createBody(): Record<string, unknown> {
    return { name: this.name, dimension: this.d, factory: this.description.factory };
  }

  async train(x: BinaryCodes): Promise<void> {
    live(this);
    await this.mutate('train', { bytes: toCodes(x, this.codeSize), query: this.trainQuery() });
  }

  async add(x: BinaryCodes): Promise<void> {
    live(this);
    await this.mutate('add', { bytes: toCodes(x, this.codeSize) });
  }

  async addWithIds(x: BinaryCodes, ids: Ids): Promise<void> {
    live(this);
    const codes = toCodes(x, this.codeSize);
    const i = toNewIds(ids, 'ids', codes.length / this.codeSize);
    await this.mutate('add', { bytes: codesWithIdsBody(codes, i), query: { ids: true } });
  }

  async search(x: BinaryCodes, k: number, params?: SearchParams): Promise<BinarySearchResult> {
    live(this);
    const q = toCodes(x, this.codeSize);
    kArg(k);
    const p = binarySearchParams(this.params(params));
    const r = await this.request({ method: 'POST', op: '/search', bytes: q, binary: true, query: { k, ...p } });
    this.noteVersion(r.headers);
    return readBinarySearchAnswer(answerBytes(r), q.length / this.codeSize, k);
  }

  async rangeSearch(x: BinaryCodes, radius: number, params?: SearchParams): Promise<BinaryRangeSearchResult> {
    live(this);
    const q = toCodes(x, this.codeSize);
    hammingRadiusArg(radius);
    const p = binarySearchParams(this.params(params));
    const r = await this.request({ method: 'POST', op: '/range_search', bytes: q, binary: true, query: { radius, ...p } });
    return readBinaryRangeSearchAnswer(answerBytes(r), q.length / this.codeSize, Number(r.headers.get(HEADER.total)));
  }

  async removeIds(ids: Ids): Promise<number> {
    live(this);
    const i = toIds(ids);
    if (i.length === 0) return 0;
    const r = await this.mutate('remove', { bytes: idsBody(i) });
    return r.removed as number;
  }

  async reconstruct(id: number | bigint): Promise<Uint8Array> {
    live(this);
    const r = await this.request({ method: 'POST', op: '/reconstruct', json: { ids: [jsonId(idArg(id))] }, binary: true });
    return readCodesAnswer(answerBytes(r), 1, this.codeSize);
  }

  async reset(): Promise<void> {
    live(this);
    await this.mutate('reset', {});
  }
}

const live = (self: unknown): RemoteIndexBinary => RemoteIndexBinary.check(self, 'this');
