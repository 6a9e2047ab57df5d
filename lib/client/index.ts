// faiss-proxy/client: the remote API alone. It never loads the native addon, so
// it runs where there is no libfaiss and no compiler (a slim container, a
// serverless function, any runtime with fetch).
export { connect } from './connect';
export type { ConnectOptions, RemoteFaiss, RemoteIndexOptions } from './connect';
export { RemoteIndex } from './remote-index';
export { RemoteIndexBinary } from './remote-binary-index';
export type { IndexDescription, RemoteIndexInfo } from './remote-index';
export type { ResultsCacheOptions } from './results-cache';
export { METRIC_INNER_PRODUCT, METRIC_L2, ScalarQuantizer } from '../constants';
export type { MetricType, QuantizerType } from '../constants';
export { ErrorCodes, FaissError, isFaissError } from '../errors';
export * from '../selector-classes';
export type { ErrorCode } from '../errors';
export type { DeserializeIndexOptions, FaissApi, FaissBinaryApi, IndexBinaryContract, IndexContract } from '../contract';
export type {
  BinaryCodes,
  BinaryRangeSearchResult,
  BinarySearchResult,
  DirectMapType,
  Ids,
  RangeSearchResult,
  SearchParams,
  SearchResult,
  Vectors,
} from '../types';
