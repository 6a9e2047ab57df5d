// Where connect() finds its settings: the options it is given, then the
// environment (FAISS_PROXY_URL, FAISS_PROXY_API_KEY), then a JSON config file
// ($FAISS_PROXY_CONFIG, else ./faiss-proxy.json, else ~/.faiss-proxy.json) with
// { "url": ..., "apiKey": ... }. Runtimes without a file system or environment
// (a browser, a worker) use the options alone.
import { FaissError } from '../errors';

export interface ConnectionSettings {
  url: string;
  apiKey?: string;
}

interface ProcessLike {
  env?: Record<string, string | undefined>;
  cwd?: () => string;
}

function configFile(): Partial<ConnectionSettings> {
  const proc = (globalThis as { process?: ProcessLike }).process;
  if (!proc?.env) return {};
  let fs: typeof import('node:fs');
  let path: typeof import('node:path');
  let os: typeof import('node:os');
  try {
    // Loaded only where they exist, so this module also runs without Node.
    fs = require('node:fs'); // eslint-disable-line @typescript-eslint/no-require-imports
    path = require('node:path'); // eslint-disable-line @typescript-eslint/no-require-imports
    os = require('node:os'); // eslint-disable-line @typescript-eslint/no-require-imports
  } catch {
    return {};
  }
  const candidates = proc.env.FAISS_PROXY_CONFIG
    ? [proc.env.FAISS_PROXY_CONFIG]
    : [path.join(proc.cwd?.() ?? '.', 'faiss-proxy.json'), path.join(os.homedir(), '.faiss-proxy.json')];
  for (const file of candidates) {
    if (!fs.existsSync(file)) continue;
    try {
      const parsed = JSON.parse(fs.readFileSync(file, 'utf8')) as Partial<ConnectionSettings>;
      return { url: parsed.url, apiKey: parsed.apiKey };
    } catch (e) {
      throw new FaissError(`Cannot read the faiss-proxy config file ${file}: ${(e as Error).message}`, 'ERR_INVALID_ARGUMENT');
    }
  }
  return {};
}

export function resolveSettings(options: Partial<ConnectionSettings>): ConnectionSettings {
  const env = (globalThis as { process?: ProcessLike }).process?.env ?? {};
  const file = options.url && options.apiKey ? {} : configFile();
  const url = options.url ?? env.FAISS_PROXY_URL ?? file.url;
  const apiKey = options.apiKey ?? env.FAISS_PROXY_API_KEY ?? file.apiKey;
  if (!url) {
    throw new FaissError('No server URL: pass { url }, set FAISS_PROXY_URL, or write it in faiss-proxy.json', 'ERR_INVALID_ARGUMENT');
  }
  return { url, apiKey };
}
