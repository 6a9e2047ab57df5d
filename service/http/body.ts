// Request bodies, read for every route by the one request pipeline (pipeline.ts):
// the bytes, of declared length or chunked, identity or gzip/deflate encoded,
// within --body-limit as they arrive and once decoded (a declared length over it
// is refused before routing, app.ts); then, for JSON, parsed as
// UTF-8 with the strict rule (an object or an array at the top). A body-parser
// pipeline (raw-body's stream reader, on-finished, iconv) cost a one-query search
// more event-loop time than the rest of its route did (npm run bench --
// --profile-server), so this reads what the service takes and nothing more.
import type { IncomingMessage } from 'node:http';
import type { Readable } from 'node:stream';
import { createGunzip, createInflate } from 'node:zlib';
import { HttpError } from './errors';

export type BodyKind = 'json' | 'raw';

const tooLarge = (limit: number): HttpError =>
  new HttpError(413, 'ERR_BODY_TOO_LARGE', `The request body is larger than the limit of ${limit} bytes (--body-limit)`);

/** Whether the request carries a body at all (a declared length other than 0, or chunks). */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers['content-length'];
  return (length !== undefined && length !== '0') || req.headers['transfer-encoding'] !== undefined;
}

/** Whether the request declares a body over `limit`: the app refuses those before routing (app.ts). */
export function declaresMoreThan(req: IncomingMessage, limit: number): boolean {
  const length = req.headers['content-length'];
  return length !== undefined && Number(length) > limit;
}

/** JSON bodies are read as UTF-8: a Content-Type naming another charset is refused. */
function requireUtf8(contentType: string | undefined): void {
  if (contentType === undefined || !contentType.includes(';')) return;
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType)?.[1];
  if (charset !== undefined && !/^utf-?8$/i.test(charset)) {
    throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `Unsupported charset ${JSON.stringify(charset)}: JSON bodies are read as UTF-8`);
  }
}

/** JSON.parse with the strict rule: the body must be an object or an array. */
function parseStrictJson(text: string): unknown {
  const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/.exec(text)?.[1];
  if (first !== '{' && first !== '[') {
    throw new HttpError(400, 'ERR_MALFORMED_JSON', `Malformed JSON body: it must be an object or an array, not ${first === undefined ? 'empty' : `one starting with ${JSON.stringify(first)}`}`);
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new HttpError(400, 'ERR_MALFORMED_JSON', `Malformed JSON body: ${(e as Error).message}`);
  }
}

/** The stream of the body's decoded bytes. */
function decoded(req: IncomingMessage): Readable {
  const encoding = (req.headers['content-encoding'] ?? 'identity').toLowerCase();
  if (encoding === 'identity') return req;
  if (encoding !== 'gzip' && encoding !== 'deflate') {
    throw new HttpError(415, 'ERR_UNSUPPORTED_MEDIA_TYPE', `Unsupported Content-Encoding ${JSON.stringify(encoding)}; the service takes identity, gzip or deflate`);
  }
  const inflate = encoding === 'gzip' ? createGunzip() : createInflate();
  req.pipe(inflate);
  return inflate;
}

/**
 * Reads the body: a Buffer (`raw`), or the parsed JSON. `done` is called once,
 * with an HttpError for a body the service does not take. A body refused part
 * way is not read on: its connection is closed after the answer.
 */
export function readBody(req: IncomingMessage, kind: BodyKind, limit: number, done: (err: HttpError | null, body?: unknown) => void): void {
  let settled = false;
  const settle = (err: HttpError | null, body?: unknown): void => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  let source: Readable;
  try {
    if (kind === 'json') requireUtf8(req.headers['content-type']);
    source = decoded(req);
  } catch (e) {
    return settle(e as HttpError);
  }
  const chunks: Buffer[] = [];
  const refuse = (): void => {
    if (source !== req) req.unpipe(source as unknown as NodeJS.WritableStream);
    source.removeAllListeners('data');
    req.removeAllListeners('data');
    req.pause();
    source.pause();
    settle(tooLarge(limit));
  };
  let received = 0;
  source.on('data', (chunk: Buffer) => {
    received += chunk.length;
    if (received <= limit) chunks.push(chunk);
    else refuse();
  });
  if (source !== req) {
    // The bytes as sent count too: a compressed stream that decodes to little is still read off the wire.
    let sent = 0;
    req.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      if (sent > limit) refuse();
    });
  }
  // A client that goes away mid-body: nothing is left to answer, but the error must be handled.
  // on, not once, here and below: each event comes once per request, and once() wraps each listener (a search's cost).
  req.on('aborted', () => settle(new HttpError(400, 'ERR_BAD_REQUEST', 'The request was aborted')));
  req.on('error', () => settle(new HttpError(400, 'ERR_BAD_REQUEST', 'The request was aborted')));
  if (source !== req) source.on('error', () => settle(new HttpError(400, 'ERR_BAD_REQUEST', `The body is not valid ${req.headers['content-encoding']} data`)));
  source.on('end', () => {
    if (settled) return;
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (kind === 'raw') return settle(null, bytes);
    let parsed: unknown;
    try {
      parsed = parseStrictJson(bytes.toString('utf8'));
    } catch (e) {
      return settle(e as HttpError);
    }
    settle(null, parsed);
  });
}
