// A JSON answer written straight to node:http's response, as Express's res.json
// writes it (same Content-Type and Content-Length), without res.json's work per
// call (res.send's type and ETag handling): for the error handler and searches.
import type { ServerResponse } from 'node:http';

export function writeJson(res: ServerResponse, status: number, headers: Record<string, string>, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { ...headers, 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)) });
  res.end(body);
}
