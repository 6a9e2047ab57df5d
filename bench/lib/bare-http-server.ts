// The ceiling for the proxy, for the harness: node:http alone doing the same FAISS
// search as the proxy's search route, on the same index file, with the embedded
// API's defaults: no Express, no key, no validation beyond reading the query, no
// logs, no metrics. It answers both wire formats as the proxy does (binary:
// `?k=` in the query, float32 distances then int64 labels; JSON: { vectors, k,
// efSearch? } in, { distances, labels } out), so the harness's load generator
// and answer checks are the same for both.
// With --express, the same handler is the one route of an Express app: the
// difference between the two is what Express itself costs a search here.
// Run as a child process: node bare-http-server.js <index file> [--express].
import * as http from 'node:http';
import express from 'express';
import { readIndex, type Index, type SearchParams } from '../../lib';

function answer(res: http.ServerResponse, status: number, type: string, body: Buffer | string): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function handler(index: Index): http.RequestListener {
  return (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      const binary = req.headers['content-type'] === 'application/octet-stream';
      let x: Float32Array;
      let k: number;
      const params: SearchParams = {};
      if (binary) {
        const query = new URLSearchParams((req.url ?? '').split('?')[1] ?? '');
        k = Number(query.get('k'));
        if (query.has('efSearch')) params.efSearch = Number(query.get('efSearch'));
        x = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
      } else {
        const parsed = JSON.parse(body.toString('utf8')) as { vectors: number[][]; k: number; efSearch?: number };
        k = parsed.k;
        if (parsed.efSearch !== undefined) params.efSearch = parsed.efSearch;
        x = Float32Array.from(parsed.vectors.flat());
      }
      index.search(x, k, params).then(
        (r) => {
          if (binary) {
            res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': String(r.distances.byteLength + r.labels.byteLength) });
            res.cork();
            res.write(Buffer.from(r.distances.buffer, r.distances.byteOffset, r.distances.byteLength));
            res.end(Buffer.from(r.labels.buffer, r.labels.byteOffset, r.labels.byteLength));
            return;
          }
          const nq = r.labels.length / k;
          const rows = <T>(f: (i: number) => T) => Array.from({ length: nq }, (_, q) => Array.from({ length: k }, (_, j) => f(q * k + j)));
          answer(res, 200, 'application/json; charset=utf-8', JSON.stringify({ distances: rows((i) => r.distances[i]), labels: rows((i) => Number(r.labels[i])) }));
        },
        (e: Error) => answer(res, 400, 'application/json; charset=utf-8', JSON.stringify({ error: { code: 'ERR_BAD_REQUEST', message: e.message } })),
      );
    });
  };
}

function serve(index: Index, withExpress: boolean): http.Server {
  if (!withExpress) return http.createServer(handler(index));
  const app = express();
  app.set('etag', false);
  app.post('/v1/indexes/:name/search', handler(index));
  return http.createServer(app);
}

void readIndex(process.argv[2], { trusted: true }).then((index) => {
  const server = serve(index, process.argv.includes('--express'));
  server.listen(0, '127.0.0.1', () => {
    const address = server.address() as { port: number };
    console.log(`listening on http://127.0.0.1:${address.port}`);
  });
  process.on('SIGTERM', () => server.close(() => process.exit(0)));
});
