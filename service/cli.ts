#!/usr/bin/env node
// faiss-proxy serve [options]            run the service
// faiss-proxy tenants list|create|delete  manage tenants in the data directory
// faiss-proxy keys list|create|revoke     manage API keys in the data directory
// faiss-proxy check | repair              verify the index files / repair what can be repaired
import { loadConfig, usage, type Config } from './config';
import { ServiceError } from './domain/errors';
import type { Role } from './storage/catalog';
import { openServices, runningServerPid, startServer } from './server';
import { checkStorage } from './storage/check';

const HELP = `Usage:
  faiss-proxy serve [options]
  faiss-proxy tenants list [options]
  faiss-proxy tenants create <name> [options]
  faiss-proxy tenants delete <name> [options]      (only while the service is stopped)
  faiss-proxy keys list <tenant> [options]
  faiss-proxy keys create <tenant> <admin|write|read> [options]
  faiss-proxy keys revoke <keyId> [options]
  faiss-proxy check [options]       verify every index's snapshot (checksum) and log; read-only, also while
                                    the service runs; exit status 1 when something is wrong
  faiss-proxy repair [options]      cut damaged logs at their last valid record (saying what was dropped) and
                                    remove files no index owns (only while the service is stopped)
Options:
${usage()}`;

function takePositionals(args: string[], count: number): { positional: string[]; rest: string[] } {
  const positional = args.slice(0, count);
  if (positional.length < count || positional.some((p) => p.startsWith('--'))) throw new Error(HELP);
  return { positional, rest: args.slice(count) };
}

async function serve(config: Config): Promise<void> {
  const running = await startServer(config);
  console.log(`faiss-proxy: listening on ${running.url} (data in ${config.dataDir})`);
  let signalled = false;
  const stop = (signal: string) => {
    if (signalled) return;
    signalled = true;
    console.log(`faiss-proxy: ${signal}: finishing requests in flight and saving indexes`);
    running.shutdown().then(
      () => {
        console.log('faiss-proxy: stopped');
        process.exit(0);
      },
      (e) => {
        console.error('faiss-proxy: shutdown failed', e);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

async function admin(group: string, args: string[]): Promise<void> {
  const [action, ...more] = args;
  const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));
  const withServices = async (n: number, fn: (s: ReturnType<typeof openServices>, p: string[]) => unknown) => {
    const { positional, rest } = takePositionals(more, n);
    const s = openServices(loadConfig(rest));
    try {
      await fn(s, positional);
    } finally {
      s.catalog.close();
    }
  };
  const key = `${group} ${action}`;
  switch (key) {
    case 'tenants list':
      return withServices(0, (s) => print(s.tenants.list()));
    case 'tenants create':
      return withServices(1, (s, [name]) => print(s.tenants.create(name)));
    case 'tenants delete':
      return withServices(1, async (s, [name]) => {
        const pid = runningServerPid(loadConfig(more.slice(1)).dataDir);
        if (pid) throw new Error(`The service (pid ${pid}) is running on this data directory; delete the tenant through DELETE /v1/admin/tenants/${name}`);
        await s.indexes.open();
        await s.collections.open();
        await s.tenants.delete(name);
        await s.indexes.close();
        print({ deleted: name });
      });
    case 'keys list':
      return withServices(1, (s, [tenant]) => {
        s.tenants.get(tenant);
        print(s.keys.list(tenant));
      });
    case 'keys create':
      return withServices(2, (s, [tenant, role]) => {
        s.tenants.get(tenant);
        print(s.keys.issue(tenant, role as Role, null));
      });
    case 'keys revoke':
      return withServices(1, (s, [id]) => print(s.keys.revoke(id)));
    default:
      throw new Error(HELP);
  }
}

/** check (read-only) or repair; prints the report, exit status 1 unless every index is sound. */
async function checkOrRepair(command: 'check' | 'repair', args: string[]): Promise<void> {
  const config = loadConfig(args);
  const pid = runningServerPid(config.dataDir);
  if (command === 'repair' && pid) throw new Error(`The service (pid ${pid}) is running on this data directory; stop it before repairing`);
  const s = openServices(config);
  try {
    const { io, snapshots, logs } = s.storage;
    const records = [...s.catalog.listIndexes(), ...s.catalog.listCollections().map((c) => ({ ...c, kind: 'collection' as const }))];
    const report = await checkStorage(records, snapshots, logs, command === 'repair' ? { io } : undefined);
    console.log(JSON.stringify(report, null, 2));
    if (!report.ok) process.exitCode = 1;
  } finally {
    s.catalog.close();
  }
}

async function main(argv: string[]): Promise<void> {
  const [command, ...args] = argv;
  if (command === 'check' || command === 'repair') return checkOrRepair(command, args);
  if (command === 'serve') return serve(loadConfig(args));
  if (command === 'tenants' || command === 'keys') return admin(command, args);
  if (command === undefined || command === 'help' || command === '--help') {
    console.log(HELP);
    return;
  }
  throw new Error(HELP);
}

main(process.argv.slice(2)).catch((e: unknown) => {
  const code = e instanceof ServiceError ? `${e.code}: ` : '';
  console.error(`${code}${e instanceof Error ? e.message : String(e)}`);
  process.exit(2);
});
