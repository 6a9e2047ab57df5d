// A JSON answer written straight to node:http's response, as Express's res.json
// writes it (same Content-Type and Content-Length): for the error handler, which
// serves both the Express app and the lean search endpoint, and for that endpoint.
import type { ServerResponse } from 'node:http';

export function writeJson(res: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}
