// Structured JSON logs (pino), one line per request with its request id, tenant,
// route, status and duration. API keys and request bodies are never logged.
//
// The lines of one event-loop turn reach the destination together, in one write
// at the end of that turn (setImmediate), rather than one write (a system call on
// stdout) per request, which a busy event loop paid for every search (bench/RESULTS.md,
// npm run bench -- --only targets). Nothing is dropped or reordered, and nothing
// waits longer than the turn it was logged in; lines still buffered when the
// process exits are written by its 'exit' handler.
import pino from 'pino';

export type Logger = pino.Logger;

/** What the lines go to: stdout by default (one write per event-loop turn). */
export interface LogDestination {
  write(text: string): unknown;
}

/** Destinations holding lines not yet written: the process's exit writes them. */
const pending = new Set<TurnBatchedDestination>();
process.on('exit', () => {
  for (const d of pending) d.flush();
});

/** Lines written to `destination` once per event-loop turn, each turn's lines in one write, in order. */
export class TurnBatchedDestination {
  private lines: string[] = [];

  constructor(private readonly destination: LogDestination) {}

  write(line: string): boolean {
    this.lines.push(line);
    if (this.lines.length === 1) {
      pending.add(this);
      setImmediate(() => this.flush());
    }
    return true;
  }

  /** Writes what is buffered now (pino's logger.flush(cb) calls it too). */
  flush(done?: (err?: Error) => void): void {
    if (this.lines.length > 0) {
      pending.delete(this);
      const text = this.lines.length === 1 ? this.lines[0] : this.lines.join('');
      this.lines = [];
      this.destination.write(text);
    }
    done?.();
  }
}

/**
 * The request log's line of one request (http/observe.ts): the line
 * `logger.info({ requestId, method, route, status, durationMs, tenant, code }, 'request')`
 * writes, byte for byte (its level, time and bindings are pino's own, from the
 * logger's pino.symbols; test/service/request-log.test.ts compares the two), at
 * the logger's level, through its destination. Composed as one string instead of
 * through pino's serialisation of an object, the largest cost of the log line on
 * a search (npm run bench -- --only targets --profile-server; bench/RESULTS.md).
 * `requestId` is sent as is: the observer passes only ids it checked (or made),
 * whose characters need no escaping in JSON. `code` undefined: no code field.
 */
export type RequestLine = (requestId: string, method: string, route: string, status: number, durationMs: number, tenant: string | null, code: string | undefined) => void;

export function requestLine(logger: Logger): RequestLine {
  const s = pino.symbols;
  const fields = logger as unknown as Record<symbol, unknown>;
  const info = logger.levels.values.info;
  const levelPart = (fields[s.lsCacheSym] as Record<number, string>)[info];
  const time = fields[s.timeSym] as () => string;
  const message = `,${JSON.stringify(fields[s.messageKeySym] as string)}:"request"`;
  // Route patterns are few: each one's JSON text is made once.
  const routes = new Map<string, string>();
  return (requestId, method, route, status, durationMs, tenant, code) => {
    if (logger.levelVal > info) return;
    let routeJson = routes.get(route);
    if (routeJson === undefined) {
      routeJson = JSON.stringify(route);
      if (routes.size < 1_000) routes.set(route, routeJson);
    }
    const line =
      levelPart +
      time() +
      (fields[s.chindingsSym] as string) +
      ',"requestId":"' + requestId +
      '","method":' + JSON.stringify(method) +
      ',"route":' + routeJson +
      ',"status":' + status +
      ',"durationMs":' + durationMs +
      ',"tenant":' + (tenant === null ? 'null' : JSON.stringify(tenant)) +
      (code === undefined ? '' : ',"code":' + JSON.stringify(code)) +
      message +
      (fields[s.endSym] as string);
    (fields[s.streamSym] as LogDestination).write(line);
  };
}

export function createLogger(level: string, destination: LogDestination = process.stdout): Logger {
  return pino(
    {
      level,
      base: { service: 'faiss-proxy' },
      // Belt and braces: even if someone logs a request object, these never print.
      redact: { paths: ['req.headers["x-api-key"]', 'req.headers.authorization', 'headers["x-api-key"]', 'apiKey', 'key'], remove: true },
    },
    new TurnBatchedDestination(destination) as unknown as pino.DestinationStream,
  );
}
