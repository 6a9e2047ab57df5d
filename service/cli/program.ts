// The faiss-proxy command line: its commands, their options (service/config.ts's
// OPTIONS for the service's), their help and examples. commander parses;
// each command's action does the work.
import { Argument, Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { addServeOptions, configFrom, type Config } from '../config';
import { FaissError } from '../../lib/errors';
import { ServiceError } from '../domain/errors';
import type { Role } from '../storage/catalog';
import type { openServices } from '../server';
import { FORMATS } from './vector-files/formats';

// The service's modules (Express, SQLite, the addon) load when a command needs
// them: help and the client commands (import, export) start without them.
const server = () => import('../server');

const print = (v: unknown) => console.log(JSON.stringify(v, null, 2));

/** Gives a command its description and the examples its help ends with. */
function explain(cmd: Command, description: string, ...examples: string[]): Command {
  return cmd
    .description(description)
    .addHelpText('after', `\nExample${examples.length > 1 ? 's' : ''}:\n${examples.map((e) => `  $ ${e}`).join('\n')}\n`);
}

async function serve(config: Config): Promise<void> {
  const running = await (await server()).startServer(config);
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

/**
 * Opens the data directory's services for one management action, and closes the
 * catalog after it. With --cluster (tenants and keys), the cluster's KV catalog
 * instead of the data directory's (a node's data directory holds no catalog):
 * every node sees the change as it sees one made through the admin API.
 */
async function withServices(cmd: Command, fn: (s: ReturnType<typeof openServices>, config: Config) => unknown): Promise<void> {
  const config = configFrom(cmd);
  if (config.cluster) return withClusterServices(config, fn);
  const s = (await server()).openServices(config);
  try {
    await fn(s, config);
  } finally {
    s.catalog.close();
  }
}

async function withClusterServices(config: Config, fn: (s: ReturnType<typeof openServices>, config: Config) => unknown): Promise<void> {
  const { openClusterCatalog } = await import('../cluster/cluster');
  const fs = await import('node:fs');
  const os = await import('node:os');
  const path = await import('node:path');
  const cluster = await openClusterCatalog(config);
  // The services' local files (snapshot caches) are a scratch directory's: the command touches only the catalog.
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-cli-'));
  try {
    const s = (await server()).openServices({ ...config, dataDir: scratch }, {}, cluster);
    await fn(s, config);
  } finally {
    await cluster.close();
    fs.rmSync(scratch, { recursive: true, force: true });
  }
}

/** A tenants or keys command: the storage options, and --cluster for a cluster's catalog. */
function catalogCommand(parent: Command, name: string): Command {
  const cmd = management(parent, name);
  addServeOptions(cmd, ['cluster']);
  return cmd;
}

/** check (read-only) or repair; prints the report, exit status 1 unless every index is sound. */
async function checkOrRepair(command: 'check' | 'repair', config: Config): Promise<void> {
  const { openServices, runningServerPid } = await server();
  const { checkStorage } = await import('../storage/check');
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

/** A management command: works on the data directory, so it takes the storage options. */
function management(parent: Command, name: string): Command {
  const cmd = parent.command(name);
  addServeOptions(cmd, ['storage']);
  return cmd;
}

function tenantCommands(program: Command): void {
  const tenants = explain(program.command('tenants'), 'Manage tenants in the data directory, or in a cluster\'s catalog with --cluster (prints JSON).', 'faiss-proxy tenants list --data-dir /var/lib/faiss-proxy', 'faiss-proxy tenants list --cluster nats://h1:4222');
  explain(catalogCommand(tenants, 'list'), 'List the tenants and their quotas.', 'faiss-proxy tenants list --data-dir /var/lib/faiss-proxy')
    .action(function (this: Command) {
      return withServices(this, (s) => print(s.tenants.list()));
    });
  const create = explain(catalogCommand(tenants, 'create'), 'Create a tenant with the default quotas of the options below; may run while the service runs.',
    'faiss-proxy tenants create shop --max-vectors 1000000 --data-dir /var/lib/faiss-proxy')
    .argument('<name>', 'the new tenant');
  addServeOptions(create, ['tenants']);
  create.action(function (this: Command, name: string) {
    return withServices(this, (s) => print(s.tenants.create(name)));
  });
  explain(catalogCommand(tenants, 'delete'), 'Delete a tenant with its indexes, collections and keys; only while the service is stopped (else use DELETE /v1/admin/tenants/{tenant}).',
    'faiss-proxy tenants delete shop --data-dir /var/lib/faiss-proxy')
    .argument('<name>', 'the tenant to delete')
    .action(function (this: Command, name: string) {
      return withServices(this, async (s, config) => {
        if (config.cluster) throw new Error(`A cluster's nodes are running: delete the tenant through DELETE /v1/admin/tenants/${name} on any node`);
        const pid = (await server()).runningServerPid(config.dataDir);
        if (pid) throw new Error(`The service (pid ${pid}) is running on this data directory; delete the tenant through DELETE /v1/admin/tenants/${name}`);
        await s.indexes.open();
        await s.collections.open();
        await s.tenants.delete(name);
        await s.indexes.close();
        print({ deleted: name });
      });
    });
}

function keyCommands(program: Command): void {
  const keys = explain(program.command('keys'), 'Manage API keys in the data directory, or in a cluster\'s catalog with --cluster (prints JSON); changes take effect on the running service (every node of a cluster) at once.',
    'faiss-proxy keys create shop read --data-dir /var/lib/faiss-proxy', 'faiss-proxy keys revoke 8cb2920dd2c3beec --cluster nats://h1:4222,nats://h2:4222');
  explain(catalogCommand(keys, 'list'), "List a tenant's keys (ids, roles, dates; never the secrets).", 'faiss-proxy keys list shop --data-dir /var/lib/faiss-proxy')
    .argument('<tenant>', 'the tenant whose keys to list')
    .action(function (this: Command, tenant: string) {
      return withServices(this, (s) => {
        s.tenants.get(tenant);
        print(s.keys.list(tenant));
      });
    });
  explain(catalogCommand(keys, 'create'), 'Issue a key; the secret is printed once.', 'faiss-proxy keys create shop write --data-dir /var/lib/faiss-proxy')
    .argument('<tenant>', 'the tenant the key belongs to')
    .addArgument(new Argument('<role>', 'what the key may do').choices(['admin', 'write', 'read']))
    .action(function (this: Command, tenant: string, role: Role) {
      return withServices(this, (s) => {
        s.tenants.get(tenant);
        print(s.keys.issue(tenant, role, null));
      });
    });
  explain(catalogCommand(keys, 'revoke'), 'Revoke a key by its id; the running service refuses it from its next request.', 'faiss-proxy keys revoke 8cb2920dd2c3beec --data-dir /var/lib/faiss-proxy')
    .argument('<keyId>', "the key's id (keys list shows them)")
    .action(function (this: Command, id: string) {
      return withServices(this, (s) => print(s.keys.revoke(id)));
    });
}

const positiveInt = (what: string) => (v: string): number => {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError(`Expected a positive integer (${what})`);
  return n;
};

/** The options import and export share: where the service is, the index or collection, the format, the progress. */
function transferOptions(cmd: Command): Command {
  return cmd
    .option('--url <url>', "the service's URL (default: FAISS_PROXY_URL, else faiss-proxy.json's url)")
    .option('--key <key>', 'an API key (default: FAISS_PROXY_API_KEY, else faiss-proxy.json; the variable keeps it out of the process list)')
    .option('--index <name>', 'the index (vector files)')
    .option('--collection <name>', 'the collection (.jsonl points)')
    .addOption(new Option('--format <format>', "the file's format (default: its extension's)").choices(FORMATS))
    .option('--chunk-rows <count>', 'vectors or points a request', positiveInt('rows a chunk'))
    .addOption(new Option('--progress <mode>', 'a bar (rate, ETA), plain lines, or nothing').choices(['auto', 'bar', 'lines', 'none']).default('auto', 'auto: a bar when stdout is a terminal, else lines'));
}

function transferCommands(program: Command): void {
  const importCommand = explain(
    program.command('import'),
    'Import a vector file into an index (.npy float32 or float16, .fvecs, .bvecs, .ivecs, raw .f32 with --dim), or a .jsonl file of points ({"id","vector","payload"} a line) into a collection, in chunks through the remote client. Running the same import again after an interruption adds what is missing and nothing twice. A .faissindex file (what export writes of an index, or a FAISS index file) creates or replaces the index whole.',
    'FAISS_PROXY_API_KEY=$KEY faiss-proxy import --url http://127.0.0.1:8080 --index docs --factory HNSW32 vectors.npy',
    'faiss-proxy import --url http://127.0.0.1:8080 --key $KEY --collection products points.jsonl',
    'faiss-proxy import --url http://127.0.0.1:8080 --key $KEY --index raw --dim 128 vectors.f32',
  ).argument('<file>', 'the file to import');
  transferOptions(importCommand)
    .option('--dim <count>', "the vectors' dimension (needed by .f32; checked against other files)", positiveInt('a dimension'))
    .option('--factory <factory>', 'create the index or collection with this FAISS factory string (Flat, HNSW32, ...) when it does not exist')
    .option('--metric <metric>', 'the metric of one created: L2 or IP (default L2)')
    .option('--import-id <id>', "names this import in its chunks' idempotency keys (default: derived from the file); another id imports the same file again")
    .action(async (file: string, o) => print(await (await import('./import')).runImport(file, o)));

  const exportCommand = explain(
    program.command('export'),
    "Export an index's vectors (ids 0 .. ntotal-1, reconstructed) to .npy, .fvecs, .bvecs, .ivecs or .f32, or a collection's points to .jsonl, in chunks, or the whole index (a sharded one's included) to .faissindex, as the server exports it; the file appears complete or not at all.",
    'FAISS_PROXY_API_KEY=$KEY faiss-proxy export --url http://127.0.0.1:8080 --index docs vectors.npy',
    'faiss-proxy export --url http://127.0.0.1:8080 --key $KEY --collection products points.jsonl',
  ).argument('<file>', 'the file to write');
  transferOptions(exportCommand)
    .addOption(new Option('--dtype <dtype>', 'the values of a .npy file').choices(['float32', 'float16']).default('float32'))
    .action(async (file: string, o) => print(await (await import('./export')).runExport(file, o)));
}

function clusterCommands(program: Command): void {
  const cluster = explain(program.command('cluster'), "Work on a cluster's JetStream state (docs/cluster.md).", 'faiss-proxy cluster gc --dry-run --cluster nats://h1:4222');
  const gc = explain(
    cluster.command('gc'),
    'Delete, once, the streams, snapshot objects and catalog keys that no catalog record names and that are older than --cluster-gc-grace-ms (what each node also does every --cluster-gc-interval-ms); prints what it found and deleted as JSON. May run while the nodes run.',
    'faiss-proxy cluster gc --dry-run --cluster nats://h1:4222,nats://h2:4222',
    'FAISS_PROXY_CLUSTER=nats://h1:4222 faiss-proxy cluster gc',
  ).option('--dry-run', 'list what would be deleted, delete nothing');
  addServeOptions(gc, ['cluster']);
  gc.action(async function (this: Command) {
    const config = configFrom(this);
    if (!config.cluster) throw new Error('Give the cluster: --cluster nats://host:port (or FAISS_PROXY_CLUSTER)');
    const { connectCommand } = await import('../cluster/cluster');
    const { LeakCollector } = await import('../cluster/collector');
    const { nc } = await connectCommand(config);
    try {
      const dryRun = this.opts().dryRun === true;
      const { leaks, deleted } = await (await LeakCollector.open(nc)).collect(config.clusterGcGraceMs, dryRun);
      print({ dryRun, graceMs: config.clusterGcGraceMs, leaks, deleted: deleted.length });
    } finally {
      await nc.drain().catch(() => nc.close());
    }
  });
}

/** The whole command line; `run` parses argv with it. */
export function buildProgram(): Command {
  const program = new Command('faiss-proxy')
    .description('FAISS as a service: run it, manage its tenants and keys, check its files, import and export vectors.')
    .exitOverride()
    .showSuggestionAfterError(true)
    .configureHelp({ sortSubcommands: false, showGlobalOptions: false });
  program.addHelpText('after', '\nRun "faiss-proxy <command> --help" for what a command does, its options, their defaults and units.\n');

  const serveCommand = explain(program.command('serve'), 'Run the HTTP service. Each option also reads its FAISS_PROXY_* environment variable; a flag wins over the variable, which wins over the default.',
    'faiss-proxy serve --port 9000 --data-dir /var/lib/faiss-proxy --max-memory 8589934592',
    'FAISS_PROXY_PORT=9000 faiss-proxy serve');
  addServeOptions(serveCommand).action(function (this: Command) {
    return serve(configFrom(this));
  });

  tenantCommands(program);
  keyCommands(program);
  transferCommands(program);

  clusterCommands(program);

  explain(management(program, 'check'), "Verify every index's and collection's snapshot (checksum) and log; read-only, also while the service runs. Exit status 1 when something is wrong.",
    'faiss-proxy check --data-dir /var/lib/faiss-proxy')
    .action(function (this: Command) {
      return checkOrRepair('check', configFrom(this));
    });
  explain(management(program, 'repair'), 'Cut damaged logs at their last valid record (saying what was dropped) and remove files no index owns; only while the service is stopped.',
    'faiss-proxy repair --data-dir /var/lib/faiss-proxy')
    .action(function (this: Command) {
      return checkOrRepair('repair', configFrom(this));
    });

  for (const cmd of allCommands(program)) cmd.showHelpAfterError(`(run "${commandPath(cmd)} --help" for its usage, options, defaults and units)`);
  return program;
}

/** The command and every command under it. */
export function allCommands(cmd: Command): Command[] {
  return [cmd, ...cmd.commands.flatMap(allCommands)];
}

function commandPath(cmd: Command): string {
  return cmd.parent ? `${commandPath(cmd.parent)} ${cmd.name()}` : cmd.name();
}

/**
 * Runs the command line. Usage errors (commander's message, naming the option or
 * argument and what it accepts) and failed commands exit with status 2; a
 * ServiceError or FaissError (the remote client's) prints as `CODE: message`.
 */
export async function run(argv: string[]): Promise<void> {
  const program = buildProgram();
  if (argv.length === 0) {
    program.outputHelp();
    return;
  }
  try {
    await program.parseAsync(argv, { from: 'user' });
  } catch (e) {
    if (e instanceof CommanderError) {
      // commander has printed the help or the error already
      if (e.exitCode === 0) return;
      process.exit(2);
    }
    const code = e instanceof ServiceError || e instanceof FaissError ? `${e.code}: ` : '';
    console.error(`${code}${e instanceof Error ? e.message : String(e)}`);
    process.exit(2);
  }
}
