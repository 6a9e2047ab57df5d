// compose.yaml (docs/deployment.md, "A 3-node cluster: compose.yaml"): what it runs agrees
// with the service's own option parser, with nats-server, with the image's Dockerfile and
// with the docs. Fast and without containers; scripts/compose-check.sh runs the file for real.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { loadConfig } from '../../service/config';
import { unusedPort } from '../support/ports';

// js-yaml: mocha's own YAML parser (mocha reads .mocharc.yml with it).
const yaml = require('js-yaml') as { load(text: string): unknown };

const ROOT = path.resolve(__dirname, '..', '..', '..');
const read = (file: string): string => fs.readFileSync(path.join(ROOT, file), 'utf8');

interface Service {
  image: string;
  command: string[];
  restart?: string;
  environment?: Record<string, string>;
  ports?: string[];
  volumes?: string[];
  secrets?: string[];
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string };
}
interface ComposeFile {
  services: Record<string, Service>;
  secrets: Record<string, { file: string }>;
  volumes: Record<string, unknown>;
}

/** Compose's interpolation with no variable set: `${VAR:-default}` gives its default, `$$` a `$`. */
function withDefaults(text: string): string {
  return text.replace(/\$\$|\$\{([A-Z0-9_]+)(?::?-([^}]*))?\}/g, (m, _name: string, def?: string) => (m === '$$' ? '$' : (def ?? '')));
}

const RAW = read('compose.yaml');
const FILE = yaml.load(withDefaults(RAW)) as ComposeFile;
/** The variables compose.yaml reads. */
const VARIABLES = [...new Set([...RAW.matchAll(/\$\{([A-Z0-9_]+)/g)].map((m) => m[1]))].sort();
const NATS = ['nats-1', 'nats-2', 'nats-3'];
const PROXIES = ['proxy-1', 'proxy-2', 'proxy-3'];

/** `--name=value` flags of a command. */
function flags(command: string[]): Map<string, string> {
  return new Map(command.filter((a) => a.startsWith('--')).map((a) => [a.slice(2).split('=')[0], a.slice(a.indexOf('=') + 1)]));
}

/** The image's `ENV` settings (Dockerfile's runtime stage). */
function imageEnv(): Record<string, string> {
  const m = /^ENV (FAISS_PROXY_HOST=(?:[^\n]*\\\n)*[^\n]*)/m.exec(read('Dockerfile'));
  assert.ok(m, 'Dockerfile has no ENV FAISS_PROXY_HOST=...');
  return Object.fromEntries(m[1].split(/\s*\\\n\s*|\s+/).filter(Boolean).map((kv) => kv.split('=') as [string, string]));
}

describe('compose.yaml', function () {
  this.timeout(30_000);

  it('runs three NATS servers with JetStream, routed to each other, each on its own volume', () => {
    assert.deepEqual(Object.keys(FILE.services).sort(), [...NATS, ...PROXIES]);
    const clusterNames = new Set<string>();
    for (const name of NATS) {
      const s = FILE.services[name];
      assert.equal(s.image, 'nats:2.10-alpine');
      // The official alpine image runs `nats-server "$@"` only for a command that starts with `-`.
      assert.ok(s.command.every((a) => a.startsWith('--')), `${name}: every argument a flag`);
      const f = flags(s.command);
      assert.equal(f.get('name'), name);
      assert.ok(f.has('jetstream'), `${name}: --jetstream`);
      assert.equal(f.get('store_dir'), '/data');
      assert.deepEqual(s.volumes, [`${name}:/data`]);
      assert.ok(name in FILE.volumes);
      assert.equal(f.get('cluster'), 'nats://0.0.0.0:6222');
      assert.deepEqual(f.get('routes')!.split(',').sort(), NATS.map((n) => `nats://${n}:6222`));
      clusterNames.add(f.get('cluster_name')!);
      assert.match(s.healthcheck!.test, new RegExp(`http://127\\.0\\.0\\.1:${f.get('http_port')}/healthz`));
      assert.equal(s.restart, 'unless-stopped');
    }
    assert.equal(clusterNames.size, 1, 'one cluster name');
  });

  it("nats-server accepts the servers' flags and starts with them", async () => {
    const [client, http, routes] = [await unusedPort(), await unusedPort(), await unusedPort()];
    const store = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-compose-nats-'));
    // nats-1's command, on free loopback ports and a temporary store (the other servers'
    // names do not resolve here: it keeps trying its routes, as while they start).
    const args = FILE.services['nats-1'].command.map((a) =>
      a.startsWith('--store_dir=') ? `--store_dir=${store}` : a.startsWith('--http_port=') ? `--http_port=${http}` : a.startsWith('--cluster=') ? `--cluster=nats://127.0.0.1:${routes}` : a,
    );
    const proc = spawn('nats-server', [...args, '--addr=127.0.0.1', `--port=${client}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`nats-server did not start in 15 s:\n${output}`)), 15_000);
        const seen = (c: Buffer): void => {
          output += c;
          if (/Server is ready/.test(output)) {
            clearTimeout(timer);
            resolve();
          }
        };
        proc.stdout!.on('data', seen);
        proc.stderr!.on('data', seen);
        proc.once('exit', (code) => {
          clearTimeout(timer);
          reject(new Error(`nats-server exited (${code}) with compose.yaml's flags:\n${output}`));
        });
      });
      assert.match(output, /Starting JetStream/);
      assert.match(output, new RegExp(`Cluster:\\s+${flags(args).get('cluster_name')}\\n`));
      assert.match(output, /Name:\s+nats-1\n/);
    } finally {
      proc.removeAllListeners('exit');
      proc.kill('SIGKILL');
      fs.rmSync(store, { recursive: true, force: true });
    }
  });

  it('runs three proxies, each a `serve --cluster --node` that the service parses, joined to every NATS server', () => {
    const keyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-compose-key-')), 'admin_key');
    fs.writeFileSync(keyFile, 'fp_0123456789abcdef_' + 'A'.repeat(43) + '\n');
    const image = imageEnv();
    const nodes = new Set<string>();
    const hostPorts = new Set<string>();
    for (const name of PROXIES) {
      const s = FILE.services[name];
      assert.equal(s.image, 'faiss-proxy:latest');
      assert.equal(s.command[0], 'serve');
      // The secret is mounted at /run/secrets/<name>; the service reads the key from there.
      assert.deepEqual(s.secrets, ['admin_key']);
      assert.equal(s.environment!.FAISS_PROXY_ADMIN_KEY_FILE, '/run/secrets/admin_key');
      const config = loadConfig(s.command.slice(1), { ...image, ...s.environment, FAISS_PROXY_ADMIN_KEY_FILE: keyFile });
      assert.deepEqual(config.cluster, NATS.map((n) => `nats://${n}:4222`));
      assert.equal(config.node, name);
      nodes.add(config.node);
      assert.equal(config.host, '0.0.0.0');
      // Published on the host's loopback by default, to the port the service listens on.
      const [host, hostPort, port] = s.ports![0].split(':');
      assert.equal(host, '127.0.0.1');
      assert.equal(Number(port), config.port);
      hostPorts.add(hostPort);
      assert.deepEqual(s.volumes, [`${name}:/data`]);
      assert.equal(config.dataDir, '/data');
      assert.match(s.healthcheck!.test, new RegExp(`http://127\\.0\\.0\\.1:${config.port}/readyz`));
      assert.deepEqual(s.depends_on, Object.fromEntries(NATS.map((n) => [n, { condition: 'service_healthy' }])));
      assert.equal(s.restart, 'unless-stopped');
    }
    assert.equal(nodes.size, 3, 'three node names');
    assert.deepEqual([...hostPorts].sort(), ['8081', '8082', '8083']);
    assert.equal(FILE.secrets.admin_key.file, './admin_key');
    // The secret's file, made beside compose.yaml, never goes into an image build's context.
    assert.ok(read('.dockerignore').split('\n').includes('admin_key'), '.dockerignore: admin_key');
  });

  it('names in its header, and docs/deployment.md names in its table, exactly the variables it reads', () => {
    assert.ok(VARIABLES.length >= 5, VARIABLES.join(' '));
    const header = RAW.slice(0, RAW.indexOf('\nname:'));
    for (const v of VARIABLES) assert.match(header, new RegExp(`\\b${v}\\b`), `compose.yaml's header: ${v}`);
    const doc = read('docs/deployment.md');
    const start = doc.indexOf('### A 3-node cluster: compose.yaml');
    assert.ok(start >= 0, 'docs/deployment.md: the compose section');
    const section = doc.slice(start, start + 4 + doc.slice(start + 4).search(/\n#{2,3} /));
    const documented = [...section.matchAll(/^\| `([A-Z0-9_]+)`/gm)].map((m) => m[1]).sort();
    assert.deepEqual(documented, VARIABLES);
    assert.match(section, /scripts\/compose-check\.sh/);
    assert.match(read('docs/cluster.md'), /compose\.yaml/);
  });
});
