// Structured JSON logs (pino), one line per request with its request id, tenant,
// route, status and duration. API keys and request bodies are never logged.
import pino from 'pino';

export type Logger = pino.Logger;

export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  return pino(
    {
      level,
      base: { service: 'faiss-proxy' },
      // Belt and braces: even if someone logs a request object, these never print.
      redact: { paths: ['req.headers["x-api-key"]', 'req.headers.authorization', 'headers["x-api-key"]', 'apiKey', 'key'], remove: true },
    },
    destination as pino.DestinationStream,
  );
}
