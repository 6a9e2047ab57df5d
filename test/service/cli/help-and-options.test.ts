// The command line explains itself: every command says what it does and gives an
// example; every option of serve says what it does, its default, its unit and its
// variable, under its group; a wrong option or value names it and what it accepts.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { allCommands, buildProgram } from '../../../service/cli/program';
import { loadConfig, OPTIONS } from '../../../service/config';

const CLI = path.resolve(__dirname, '..', '..', '..', 'service', 'cli.js');

function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, ...env }, timeout: 30_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('cli: help that explains', function () {
  this.timeout(60_000);

  it('every command says what it does and gives an example', () => {
    const commands = allCommands(buildProgram()).filter((c) => c.parent && c.name() !== 'help');
    assert.ok(commands.length >= 10, commands.map((c) => c.name()).join(' '));
    for (const c of commands) {
      assert.ok(c.description().length > 20, `${c.name()} has no description`);
      const help = cli([...(c.parent!.parent ? [c.parent!.name()] : []), c.name(), '--help']);
      assert.equal(help.code, 0, help.stderr);
      assert.match(help.stdout, /Examples?:\n {2}\$ (\S+=\S+ )?faiss-proxy /, `${c.name()} gives no example:\n${help.stdout}`);
    }
  });

  it("serve's help lists every option under its group with its unit, default and variable", () => {
    const help = cli(['serve', '--help']);
    assert.equal(help.code, 0);
    const out = help.stdout.replace(/\s+/g, ' ');
    for (const heading of ['Network options:', 'Storage options:', 'Memory options:', 'Search options:', 'Security options:', 'Observability options:']) {
      assert.ok(out.includes(heading), heading);
    }
    for (const o of OPTIONS) {
      assert.ok(out.includes(`${o.flag} <${o.unit}>`), `${o.flag} without its unit`);
      assert.ok(out.includes(`env ${o.env}`), `${o.flag} without its variable`);
      assert.ok(o.help.length > 10 && out.includes(o.help.replace(/\s+/g, ' ')), `${o.flag} without its help`);
    }
    assert.match(out, /--body-limit <bytes> Largest request body accepted\. \(default: 67108864 bytes = 64 MiB; env FAISS_PROXY_BODY_LIMIT\)/);
    assert.match(out, /--headers-timeout-ms <ms> .*\(default: 20000 ms; env FAISS_PROXY_HEADERS_TIMEOUT_MS\)/);
    // the group decides where an option is listed
    assert.ok(out.indexOf('--port <port>') < out.indexOf('Storage options:'));
    assert.ok(out.indexOf('--max-memory <bytes>') > out.indexOf('Memory options:'));
  });

  it('every option has a group, a help text, a unit and a default the help shows', () => {
    for (const o of OPTIONS) {
      assert.match(o.flag, /^--[a-z0-9-]+$/);
      assert.equal(o.env, `FAISS_PROXY_${o.flag.slice(2).toUpperCase().replace(/-/g, '_')}`);
      assert.ok(o.group && o.unit && o.help, o.flag);
      assert.ok(o.default !== undefined || o.defaultHelp, `${o.flag} says nothing of its default`);
    }
  });

  const refused: [string[], RegExp][] = [
    [['serve', '--prot', '9000'], /unknown option '--prot'\n\(Did you mean --port\?\)\n\(run "faiss-proxy serve --help"/],
    [['serve', '--port', 'abc'], /option '--port <port>' argument 'abc' is invalid\. Expected a non-negative integer for port/],
    [['serve', '--port', '70000'], /option '--port <port>' argument '70000' is invalid\. Expected at most 65535 for port/],
    [['serve', '--log-level', 'loud'], /option '--log-level <level>' argument 'loud' is invalid\. Expected one of fatal, error, warn, info, debug, trace, silent/],
    [['serve', '--fsync', 'maybe'], /option '--fsync <true\|false>' argument 'maybe' is invalid\. Expected true or false/],
    [['serve', '--rebuild-threshold=2'], /option '--rebuild-threshold <fraction>' argument '2' is invalid\. Expected a fraction in \(0, 1\]/],
    [['serve', '--max-request-memory', '5'], /option '--max-request-memory <bytes>' argument '5' is invalid\. Expected between 1048576 and/],
    [['serve', '--port'], /option '--port <port>' argument missing/],
    [['serve', 'extra'], /too many arguments for 'serve'/],
    [['keys', 'create', 'acme', 'superuser'], /argument 'role'\. Allowed choices are admin, write, read/],
    [['frobnicate'], /unknown command 'frobnicate'/],
    [['serve', '--max-tenant-memory', '1048576', '--max-request-memory', '2097152'], /max tenant memory \(--max-tenant-memory, 1048576 bytes\) cannot be less than the max request memory \(--max-request-memory/],
  ];
  for (const [args, message] of refused) {
    it(`refuses ${args.join(' ')} with status 2 and a message that names it and what it accepts`, () => {
      const r = cli(args);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
    });
  }

  it('a wrong variable names the variable, its option and what it accepts', () => {
    const r = cli(['serve', '--port', '0'], { FAISS_PROXY_SEARCH_THREADS: 'many' });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /The environment variable FAISS_PROXY_SEARCH_THREADS \(the option --search-threads\) is invalid: Expected a non-negative integer for search threads but received "many"/);
  });

  it('help, --help and no command list the commands with status 0', () => {
    for (const args of [[], ['help'], ['--help']]) {
      const r = cli(args);
      assert.equal(r.code, 0, r.stderr);
      for (const c of ['serve', 'tenants', 'keys', 'check', 'repair']) assert.match(r.stdout, new RegExp(`\\n  ${c}\\b`));
    }
  });
});

describe('config: flags, then variables, then defaults', () => {
  it('takes each option from its flag, its variable or its default', () => {
    const d = loadConfig([], {});
    assert.deepEqual([d.port, d.host, d.bodyLimit, d.fsync, d.defaultQuotas.maxVectors, d.logLevel], [8080, '127.0.0.1', 64 * 1024 * 1024, true, 10_000_000, 'info']);
    const e = loadConfig([], { FAISS_PROXY_PORT: '9001', FAISS_PROXY_FSYNC: '0', FAISS_PROXY_MAX_VECTORS: '5', FAISS_PROXY_LOG_LEVEL: 'warn' });
    assert.deepEqual([e.port, e.fsync, e.defaultQuotas.maxVectors, e.logLevel], [9001, false, 5, 'warn']);
    const f = loadConfig(['--port=9002', '--fsync', 'true', '--log-level', 'error'], { FAISS_PROXY_PORT: '9001', FAISS_PROXY_FSYNC: '0', FAISS_PROXY_LOG_LEVEL: 'warn' });
    assert.deepEqual([f.port, f.fsync, f.logLevel], [9002, true, 'error']);
    assert.equal(loadConfig([], { FAISS_PROXY_PORT: '' }).port, 8080, 'an empty variable counts as unset');
  });

  it('every option reaches its configuration key from its flag and its variable', () => {
    const sample: Record<string, string> = { 'true|false': 'false', level: 'warn', fraction: '0.5', address: '::1', key: 'k', token: 't', path: '/tmp/x', ms: '30000', count: '7', port: '9', bytes: '2097152', devices: '0,1' };
    // --max-tenant-memory may not be below --max-request-memory: both at 2 MiB
    const env = { FAISS_PROXY_MAX_REQUEST_MEMORY: '2097152' };
    for (const o of OPTIONS) {
      const value = sample[o.unit];
      assert.ok(value, `a sample ${o.unit}`);
      const read = (c: unknown) => o.key.split('.').reduce((v, k) => (v as Record<string, unknown>)[k], c);
      assert.deepEqual(read(loadConfig([o.flag, value], env)), o.parse(value), `${o.flag} from its flag`);
      assert.deepEqual(read(loadConfig([], { ...env, [o.env]: value })), o.parse(value), `${o.flag} from ${o.env}`);
    }
  });

  it('refuses an unknown flag and a bad variable with a message that names them', () => {
    assert.throws(() => loadConfig(['--nope', '1'], {}), /unknown option '--nope'/);
    assert.throws(() => loadConfig([], { FAISS_PROXY_MAX_K: '2000000' }), /FAISS_PROXY_MAX_K \(the option --max-k\) is invalid: Expected at most 1048576 for max k/);
  });
});
