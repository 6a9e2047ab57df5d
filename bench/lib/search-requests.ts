// The one-query search requests the HTTP benchmarks send: one body per query row,
// in the binary wire format or JSON, each answer checked for k results.
import type { RequestSpec } from './loadgen';

export type Format = 'binary' | 'json';

/** `params.efSearch`: sent with each request (in the query string when binary, in the body when JSON). */
export function searchRequests(format: Format, index: string, xq: Float32Array, d: number, k: number, key: string, params: { efSearch?: number } = {}): RequestSpec {
  const nq = xq.length / d;
  const rows = Array.from({ length: nq }, (_, i) => xq.subarray(i * d, (i + 1) * d));
  if (format === 'binary') {
    return {
      path: `/v1/indexes/${index}/search?k=${k}${params.efSearch === undefined ? '' : `&efSearch=${params.efSearch}`}`,
      headers: { 'X-API-Key': key, 'Content-Type': 'application/octet-stream', Accept: 'application/octet-stream' },
      bodies: rows.map((q) => Buffer.from(q.buffer.slice(q.byteOffset, q.byteOffset + q.byteLength))),
      check: (b) => b.length === k * 12, // k float32 distances + k int64 labels
    };
  }
  return {
    path: `/v1/indexes/${index}/search`,
    headers: { 'X-API-Key': key, 'Content-Type': 'application/json', Accept: 'application/json' },
    bodies: rows.map((q) => Buffer.from(JSON.stringify({ vectors: [Array.from(q)], k, ...params }))),
    check: (b) => {
      const r = JSON.parse(b.toString('utf8')) as { labels?: number[][] };
      return Array.isArray(r.labels) && r.labels.length === 1 && r.labels[0].length === k;
    },
  };
}
