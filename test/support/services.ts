// The service's domain over a temporary data directory, without HTTP.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaults, type Config } from '../../service/config';
import { openServices, type Services } from '../../service/server';

export interface TestServices extends Services {
  config: Config;
  /** Closes (saving what changed) and opens the same data directory again. */
  reopen(): Promise<TestServices>;
  cleanup(): Promise<void>;
}

export async function openTestServices(overrides: Partial<Config> = {}, dataDir?: string): Promise<TestServices> {
  const config: Config = { ...defaults(), dataDir: dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-domain-')), ...overrides };
  const s = openServices(config);
  await s.indexes.open();
  await s.collections.open();
  if (!s.catalog.getTenant('t')) s.tenants.create('t');
  const close = async () => {
    await s.indexes.close();
    s.catalog.close();
  };
  return {
    ...s,
    config,
    reopen: async () => {
      await close();
      return openTestServices(overrides, config.dataDir);
    },
    cleanup: async () => {
      await close().catch(() => undefined);
      fs.rmSync(config.dataDir, { recursive: true, force: true });
    },
  };
}
