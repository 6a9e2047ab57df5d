// Request bodies. body-parser reads every body through a general pipeline
// (raw-body's stream reader, on-finished, charset and encoding negotiation),
// which cost a one-query search more time on the event loop than the rest of its
// route did (npm run bench -- --profile-server). The common case is read here
// directly: an uncompressed body of declared length within the limit, bytes or
// UTF-8 JSON. Anything else (compressed, chunked, another charset, over the
// limit) goes to body-parser, which reads it, or refuses it, as it always has.
import type { IncomingMessage } from 'node:http';
import type { RequestHandler } from 'express';

export type BodyKind = 'json' | 'raw';

/** Errors that errors.ts classifies as body-parser's (400 ERR_MALFORMED_JSON, 400 ERR_BAD_REQUEST). */
const bodyError = (message: string, type: string): Error => Object.assign(new Error(message), { status: 400, type });

/** JSON.parse with body-parser's strict mode: the body must be an object or an array. */
function parseStrictJson(text: string): unknown {
  const first = /^[\x20\x09\x0a\x0d]*([^\x20\x09\x0a\x0d])/.exec(text)?.[1];
  if (first !== '{' && first !== '[') throw bodyError(`Unexpected token ${first ?? 'end of input'} in JSON at position ${text.indexOf(first ?? '')}; expected an object`, 'entity.parse.failed');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw bodyError((e as Error).message, 'entity.parse.failed');
  }
}

/** Whether the Content-Type names no charset or UTF-8 (the only charset JSON bodies are read in). */
function utf8(contentType: string | undefined): boolean {
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1];
  return charset === undefined || /^utf-?8$/i.test(charset);
}

/** Whether this module reads the request's body (else body-parser does). */
export function isPlainBody(req: IncomingMessage, kind: BodyKind, limit: number): boolean {
  const h = req.headers;
  const length = Number(h['content-length']);
  const encoding = h['content-encoding'];
  return (
    length > 0 &&
    length <= limit &&
    h['transfer-encoding'] === undefined &&
    (encoding === undefined || encoding.toLowerCase() === 'identity') &&
    (kind === 'raw' || utf8(h['content-type']))
  );
}

/** Reads a plain body (isPlainBody): the bytes, or the parsed JSON; `done` is called once. */
export function readPlainBody(req: IncomingMessage, kind: BodyKind, done: (err: unknown, body?: unknown) => void): void {
  const chunks: Buffer[] = [];
  let settled = false;
  const settle = (err: unknown, body?: unknown): void => {
    if (settled) return;
    settled = true;
    done(err, body);
  };
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  // A client that goes away mid-body: nothing is left to answer, but the error must be handled.
  req.on('error', () => settle(bodyError('The request was aborted', 'request.aborted')));
  req.once('end', () => {
    const bytes = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
    if (kind === 'raw') return settle(null, bytes);
    let parsed: unknown;
    try {
      parsed = parseStrictJson(bytes.toString('utf8'));
    } catch (e) {
      return settle(e);
    }
    settle(null, parsed);
  });
}

/** Reads the body into req.body (a Buffer, or parsed JSON) when it is plain, else hands the request to `general`. */
export function leanBody(kind: BodyKind, limit: number, general: RequestHandler): RequestHandler {
  return (req, res, next) => {
    if (!isPlainBody(req, kind, limit)) return general(req, res, next);
    readPlainBody(req, kind, (err, body) => {
      if (err) return next(err);
      req.body = body;
      next();
    });
  };
}
