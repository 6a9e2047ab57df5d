// HTTP to a faiss-proxy server: keep-alive pooling (Node's fetch is undici, which
// pools connections per origin), a timeout on every call, and retries with
// exponential backoff and jitter on connection errors, timeouts, 502/503/504 and
// 429 (the tenant's requests in flight hold its memory budget; waiting at least
// its Retry-After) for a bounded time. Mutations carry an Idempotency-Key that stays the same
// across retries, so the server applies them exactly once.
import { ErrorCodes, FaissError, type ErrorCode } from '../errors';
import { HEADER } from '../wire';

export interface TransportOptions {
  url: string;
  apiKey?: string;
  /** Per attempt of a read, in ms (default 30 s). */
  timeoutMs?: number;
  /** Per attempt of a write (train, add, ...), in ms (default 10 min: training and building a graph take long). */
  writeTimeoutMs?: number;
  /** How long to keep retrying a call, in ms (default 15 s; 0: no retries). */
  retryForMs?: number;
  /** Backoff bounds, in ms (defaults 50 and 2000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** A fetch implementation (default: the runtime's). */
  fetch?: typeof fetch;
  /**
   * Read-your-writes across a cluster's nodes (docs/cluster.md): remember the
   * highest X-Index-Version each index or collection answered this client, and
   * send it as X-Min-Sequence with every later call on that index or collection,
   * so that a node behind this client's own writes waits for them (bounded, else
   * 503, retried here) instead of answering without them. Off by default.
   */
  readYourWrites?: boolean;
}

export interface Request {
  method: 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  bytes?: Uint8Array;
  /** Ask for a binary answer. */
  binary?: boolean;
  /** Makes a mutation safe to retry. */
  idempotencyKey?: string;
  /** Called before each retry: a caller whose write can meet its own first attempt's effect tells it from another's. */
  onRetry?: () => void;
}

export interface Response {
  status: number;
  headers: Headers;
  json?: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  bytes?: ArrayBuffer;
  /** How many attempts it took. */
  attempts: number;
}

const SERVER_CODES: Record<string, ErrorCode> = {
  ERR_INDEX_NOT_FOUND: 'ERR_NOT_FOUND',
  ERR_TENANT_NOT_FOUND: 'ERR_NOT_FOUND',
  ERR_KEY_NOT_FOUND: 'ERR_NOT_FOUND',
  ERR_ROUTE_NOT_FOUND: 'ERR_SERVER',
  ERR_VALIDATION: 'ERR_INVALID_ARGUMENT',
  ERR_INVALID_NAME: 'ERR_INVALID_ARGUMENT',
  ERR_MALFORMED_JSON: 'ERR_INVALID_ARGUMENT',
  ERR_BODY_TOO_LARGE: 'ERR_INVALID_ARGUMENT',
  ERR_EMPTY_BODY: 'ERR_INVALID_ARGUMENT',
  ERR_UNSUPPORTED_MEDIA_TYPE: 'ERR_INVALID_ARGUMENT',
  // Still refused when the retries ran out: the server is busy with this tenant's other requests.
  ERR_TENANT_MEMORY: 'ERR_BUSY',
};

/** The server's error as the FaissError an embedded call would have thrown. */
export function errorFromServer(status: number, body: unknown): FaissError {
  const e = (body as { error?: { code?: string; message?: string } } | undefined)?.error;
  const code = e?.code ?? '';
  const mapped = (ErrorCodes as readonly string[]).includes(code) ? (code as ErrorCode) : (SERVER_CODES[code] ?? 'ERR_SERVER');
  return new FaissError(e?.message ?? `The server answered ${status}`, mapped);
}

const RETRY_STATUS = new Set([429, 502, 503, 504]);

/** A Retry-After in seconds, in ms (0 when absent or a date: the backoff decides). */
function retryAfterMs(headers: Headers): number {
  const s = Number(headers.get('retry-after'));
  return Number.isFinite(s) && s > 0 ? s * 1000 : 0;
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The index or collection a path names ("/v1/indexes/<name>" or
 * "/v1/collections/<name>", the part its version belongs to), if any.
 */
function sequencedOf(path: string): string | undefined {
  return /^\/v1\/(?:indexes|collections)\/[^/?]+/.exec(path)?.[0];
}

export class Transport {
  readonly base: string;
  private readonly o: Required<Omit<TransportOptions, 'apiKey' | 'fetch'>> & Pick<TransportOptions, 'apiKey'>;
  private readonly fetch: typeof fetch;
  /** readYourWrites: the highest version each index or collection (sequencedOf) answered. */
  private readonly seen = new Map<string, number>();

  constructor(options: TransportOptions) {
    if (typeof options.url !== 'string' || !/^https?:\/\//.test(options.url)) {
      throw new FaissError(`Expected an http(s) URL for url but received ${JSON.stringify(options.url)}`, 'ERR_INVALID_ARGUMENT');
    }
    this.base = options.url.replace(/\/+$/, '');
    this.o = { timeoutMs: 30_000, writeTimeoutMs: 600_000, retryForMs: 15_000, minBackoffMs: 50, maxBackoffMs: 2_000, readYourWrites: false, ...options };
    this.fetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  }

  async request(r: Request): Promise<Response> {
    const deadline = Date.now() + this.o.retryForMs;
    for (let attempt = 1; ; attempt++) {
      let failure: FaissError;
      let notBefore = 0;
      try {
        const res = await this.once(r);
        if (res.status < 400) {
          if (this.o.readYourWrites) this.saw(r, res.headers);
          return { ...res, attempts: attempt };
        }
        if (!RETRY_STATUS.has(res.status)) throw errorFromServer(res.status, res.json);
        failure = errorFromServer(res.status, res.json);
        notBefore = retryAfterMs(res.headers);
      } catch (e) {
        if (e instanceof FaissError && e.code !== 'ERR_TIMEOUT' && e.code !== 'ERR_NETWORK') throw e;
        failure = e instanceof FaissError ? e : new FaissError(`Cannot reach ${this.base}: ${(e as Error).message}`, 'ERR_NETWORK');
      }
      const backoff = Math.min(this.o.maxBackoffMs, this.o.minBackoffMs * 2 ** (attempt - 1));
      const wait = Math.max(notBefore, backoff / 2 + Math.random() * (backoff / 2)); // jitter: retries of many clients spread out
      if (Date.now() + wait > deadline) throw failure;
      await sleep(wait);
      r.onRetry?.();
    }
  }

  /** readYourWrites: keeps the version an answer carried (a deleted index or collection starts again from 0). */
  private saw(r: Request, headers: Headers): void {
    const object = sequencedOf(r.path);
    if (object === undefined) return;
    if (r.method === 'DELETE' && r.path === object) {
      this.seen.delete(object);
      return;
    }
    const version = Number(headers.get(HEADER.version));
    if (Number.isSafeInteger(version) && version > (this.seen.get(object) ?? 0)) this.seen.set(object, version);
  }

  /** Mutations (they carry an idempotency key) may run long; reads should not. */
  private timeoutOf(r: Request): number {
    return r.idempotencyKey ? this.o.writeTimeoutMs : this.o.timeoutMs;
  }

  private async once(r: Request): Promise<Omit<Response, 'attempts'>> {
    const headers: Record<string, string> = {};
    if (this.o.apiKey) headers['X-API-Key'] = this.o.apiKey;
    if (r.idempotencyKey) headers['Idempotency-Key'] = r.idempotencyKey;
    headers.Accept = r.binary ? 'application/octet-stream' : 'application/json';
    const object = this.o.readYourWrites ? sequencedOf(r.path) : undefined;
    const minSequence = object !== undefined ? this.seen.get(object) : undefined;
    if (minSequence !== undefined && !(r.method === 'DELETE' && r.path === object)) headers['X-Min-Sequence'] = String(minSequence);
    let body: BodyInit | undefined;
    if (r.json !== undefined) {
      headers['Content-Type'] = 'application/json';
      body = JSON.stringify(r.json);
    } else if (r.bytes) {
      headers['Content-Type'] = 'application/octet-stream';
      body = r.bytes as unknown as BodyInit;
    }
    const query = Object.entries(r.query ?? {})
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
      .join('&');
    let res: globalThis.Response;
    try {
      res = await this.fetch(`${this.base}${r.path}${query ? `?${query}` : ''}`, {
        method: r.method,
        headers,
        body,
        signal: AbortSignal.timeout(this.timeoutOf(r)),
      });
    } catch (e) {
      const err = e as Error;
      if (err.name === 'TimeoutError' || err.name === 'AbortError') {
        throw new FaissError(`${r.method} ${r.path} timed out after ${this.timeoutOf(r)} ms`, 'ERR_TIMEOUT');
      }
      throw new FaissError(`Cannot reach ${this.base}: ${err.message}`, 'ERR_NETWORK');
    }
    let bytes: ArrayBuffer;
    try {
      bytes = await res.arrayBuffer();
    } catch (e) {
      throw new FaissError(`The connection to ${this.base} broke during the answer: ${(e as Error).message}`, 'ERR_NETWORK');
    }
    const type = res.headers.get('content-type') ?? '';
    const json = type.includes('json') && bytes.byteLength > 0 ? JSON.parse(new TextDecoder().decode(bytes)) : undefined;
    return { status: res.status, headers: res.headers, json, bytes };
  }
}

/** A random key for one logical mutation (crypto.randomUUID exists in every runtime with fetch). */
export const newIdempotencyKey = (): string => globalThis.crypto.randomUUID();
