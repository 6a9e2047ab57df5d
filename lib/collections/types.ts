// The collection API (issue 18): documents with string ids, a vector and a JSON
// payload, on top of one FAISS index. One contract, three implementations: the
// embedded collections (lib/collections/embedded.ts, a local SQLite file), the
// remote client (lib/client, over /v1/collections) and the service's domain
// (service/domain/collections.ts). A user moves from embedded to remote by
// changing the line that makes the `CollectionsApi`.

/** A JSON value held in a payload. */
export type PayloadValue = null | boolean | number | string | PayloadValue[] | { [key: string]: PayloadValue };
/** A point's payload: a JSON object. */
export type Payload = { [key: string]: PayloadValue };

/**
 * The kind of a payload index (declared per field, so filters on the field do not
 * scan every payload): keyword (strings, match), integer / float (match, range),
 * bool (match), datetime (ISO 8601 strings, range).
 */
export type PayloadFieldType = 'keyword' | 'integer' | 'float' | 'bool' | 'datetime';

/** Metric names, as the service's index specs take them. */
export type CollectionMetric = 'l2' | 'ip';

export interface CollectionSpec {
  name: string;
  dimension: number;
  /** The FAISS factory string of the index holding the vectors (default "Flat"). */
  factory?: string;
  /** Default "l2". */
  metric?: CollectionMetric;
  /** Payload indexes to build from the start: field path (dot-separated) → kind. */
  payloadIndexes?: Record<string, PayloadFieldType>;
}

export interface CollectionInfo {
  name: string;
  dimension: number;
  factory: string;
  metric: CollectionMetric;
  /** Points stored (each string id once). */
  count: number;
  /** Whether the index is trained (an IVF collection takes upserts only once trained). */
  isTrained: boolean;
  payloadIndexes: Record<string, PayloadFieldType>;
}

export interface PointInput {
  /** UTF-8, 1 to 256 bytes. */
  id: string;
  vector: Float32Array | readonly number[];
  /** Omitted or null: no payload. */
  payload?: Payload | null;
}

export interface Point {
  id: string;
  /** Present when asked for (withPayload, the default); null when the point has none. */
  payload?: Payload | null;
  /** Present when asked for (withVector): the vector as the index stores it. */
  vector?: Float32Array;
}

export interface Hit extends Point {
  /** FAISS's distance for the collection's metric (squared L2: smaller is nearer; inner product: larger is nearer). */
  score: number;
}

/** A condition on one payload field, as Qdrant writes it. */
export interface FieldCondition {
  /** Dot-separated path into the payload ("meta.source"); an array on the path matches if any element does. */
  key: string;
  match?: { value: string | number | boolean } | { any: (string | number)[] } | { except: (string | number)[] };
  /** Numbers, or ISO 8601 date-time strings (compared as instants). */
  range?: { gt?: number | string; gte?: number | string; lt?: number | string; lte?: number | string };
}

export type Condition =
  | FieldCondition
  | { is_null: { key: string } }
  | { is_empty: { key: string } }
  | { has_id: string[] }
  | Filter;

/** Qdrant's filter: every `must`, at least one `should` (when given), no `must_not`; nested freely. */
export interface Filter {
  must?: Condition | Condition[];
  should?: Condition | Condition[];
  must_not?: Condition | Condition[];
}

export interface ReadOptions {
  /** Default true. */
  withPayload?: boolean;
  /** Default false. */
  withVector?: boolean;
}

export interface SearchOptions extends ReadOptions {
  filter?: Filter;
  nprobe?: number;
  efSearch?: number;
}

export interface ScrollOptions extends ReadOptions {
  filter?: Filter;
  /** Points per page: default 100, at most 10,000. */
  limit?: number;
  /** The id to start from (a previous page's nextOffset); points come in id order. */
  offset?: string | null;
}

export interface WriteOptions {
  /** A retry with the same key and the same request is applied once (as for indexes). */
  idempotencyKey?: string;
}

export interface Collection {
  /** The name or alias this handle was made with; aliases resolve at each call. */
  readonly name: string;
  info(): Promise<CollectionInfo>;
  train(vectors: Float32Array | readonly (readonly number[])[]): Promise<void>;
  /** Inserts points, or replaces the vector and payload of ids that exist, atomically (all or none). */
  upsert(points: readonly PointInput[], o?: WriteOptions): Promise<{ upserted: number }>;
  /** The points of these ids that exist, in the order asked. */
  get(ids: readonly string[], o?: ReadOptions): Promise<Point[]>;
  delete(target: readonly string[] | { filter: Filter }, o?: WriteOptions): Promise<{ deleted: number }>;
  count(o?: { filter?: Filter }): Promise<number>;
  scroll(o?: ScrollOptions): Promise<{ points: Point[]; nextOffset: string | null }>;
  /** The k nearest points to one vector that pass the filter: k hits whenever k pass. */
  search(vector: Float32Array | readonly number[], k: number, o?: SearchOptions): Promise<Hit[]>;
  /** search() for several vectors (n * d floats, or n arrays). */
  searchBatch(vectors: Float32Array | readonly (readonly number[])[], k: number, o?: SearchOptions): Promise<Hit[][]>;
  createPayloadIndex(field: string, type: PayloadFieldType): Promise<void>;
  deletePayloadIndex(field: string): Promise<void>;
}

export interface AliasInfo {
  alias: string;
  collection: string;
}

/** What the embedded `openCollections()` and the remote `connect()` both give. */
export interface CollectionsApi {
  createCollection(spec: CollectionSpec): Promise<Collection>;
  /** A handle on a collection or alias (no call is made until it is used). */
  collection(nameOrAlias: string): Collection;
  listCollections(): Promise<CollectionInfo[]>;
  deleteCollection(name: string): Promise<void>;
  /** Fails with ERR_ALIAS_EXISTS when the alias exists (or names a collection). */
  createAlias(alias: string, collection: string): Promise<void>;
  /** Points an existing alias at another collection, atomically. */
  switchAlias(alias: string, collection: string): Promise<void>;
  deleteAlias(alias: string): Promise<void>;
  listAliases(): Promise<AliasInfo[]>;
}
