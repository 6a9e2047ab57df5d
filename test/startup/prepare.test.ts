// scripts/start.sh and scripts/test.sh (through scripts/prepare.sh) do only what is
// out of date: run in a scratch checkout whose npm is a fake that records each call
// and makes what the real step would (node_modules, build/, build-cmake/, dist/), the
// first start installs and builds everything, the second performs no install and no
// build, and each kind of change redoes its own step and no other. Judged by the calls
// made, not by time. setup-system.sh and build-faiss.sh are the real ones: by the time
// tests run, their packages are installed and FAISS is cached, so they only check.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(__dirname, '..', '..', '..');

const FAKE_NPM = `#!/usr/bin/env bash
# Records the call; makes what the real step makes; fails when FAKE_FAIL names the step.
set -euo pipefail
echo "npm $*" >>"$FAKE_CALLS"
step="$1"; [ "$1" = run ] && step="$2"
[ "\${FAKE_FAIL:-}" = "$step" ] && { echo "fake npm: $step fails" >&2; exit 1; }
addon() { mkdir -p "$1" && touch "$1/faiss_node.node" "$1/faiss-proxy-sandbox" "$1/faiss-build-info.json"; }
case "$step" in
  ci)
    rm -rf node_modules && mkdir -p node_modules/better-sqlite3
    sqlite="\${FAKE_SQLITE:-}"; [ -n "$sqlite" ] || sqlite='module.exports = {};'
    echo "$sqlite" >node_modules/better-sqlite3/index.js
    echo '{}' >node_modules/.package-lock.json ;;
  rebuild) ;;
  build:native) addon build-cmake/Release ;;
  build:ts)
    mkdir -p dist/lib dist/service
    echo 'module.exports = {};' >dist/lib/index.js
    echo 'console.log("serving " + process.argv.slice(2).join(" "));' >dist/service/cli.js ;;
  *) echo "fake npm: unexpected $*" >&2; exit 2 ;;
esac
`;

interface Run {
  status: number | null;
  calls: string[];
  stdout: string;
}

describe('start.sh and test.sh do only what is out of date', function () {
  // A case runs the set-up scripts up to 13 times (bash, hashing the sources, the fake npm): 15-25 s on a quiet
  // machine, past 60 s with two test runs beside it.
  this.timeout(240_000);
  let dir: string;
  let bin: string;
  let callsFile: string;

  const write = (rel: string, text: string) => {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  };
  const run = (script: string, env: Record<string, string> = {}): Run => {
    fs.writeFileSync(callsFile, '');
    const r = spawnSync('bash', [script, ...(script.endsWith('start.sh') ? ['--port', '1'] : [])], {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_CALLS: callsFile, ...env },
    });
    const calls = fs.readFileSync(callsFile, 'utf8').split('\n').filter(Boolean);
    return { status: r.status, calls, stdout: r.stdout + r.stderr };
  };

  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-prepare-'));
    for (const s of ['start.sh', 'test.sh', 'prepare.sh', 'setup-system.sh', 'build-faiss.sh']) write(`scripts/${s}`, fs.readFileSync(path.join(ROOT, 'scripts', s), 'utf8'));
    write('scripts/run-tests.js', 'console.log("run-tests " + process.argv.slice(2).join(" "));\n');
    write('package-lock.json', '{"name":"scratch","lockfileVersion":3,"packages":{}}\n');
    write('native/addon.cc', 'int main() { return 0; }\n');
    write('native/sandbox/main.cc', 'int main() { return 1; }\n');
    write('CMakeLists.txt', 'project(scratch)\n');
    write('binding.gyp', "{ 'targets': [] }\n");
    write('tsconfig.json', '{ "include": ["lib/**/*.ts", "service/**/*.ts", "bench/**/*.ts"] }\n');
    write('lib/index.ts', 'export const a = 1;\n');
    write('service/cli.ts', 'export const b = 2;\n');
    bin = path.join(dir, 'fake-bin');
    write('fake-bin/npm', FAKE_NPM);
    fs.chmodSync(path.join(bin, 'npm'), 0o755);
    callsFile = path.join(dir, 'calls.txt');
  });

  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('the first start installs and builds everything; the second installs and builds nothing, and starts', () => {
    const first = run('scripts/start.sh');
    assert.equal(first.status, 0, first.stdout);
    assert.deepEqual(first.calls, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm rebuild better-sqlite3 --no-audit --no-fund', 'npm run build:ts', 'npm run build:native']);
    assert.match(first.stdout, /serving serve --port 1/);

    const second = run('scripts/start.sh');
    assert.equal(second.status, 0, second.stdout);
    assert.deepEqual(second.calls, []);
    assert.match(second.stdout, /npm ci: skipped[^]*build:ts: skipped[^]*build:native: skipped/);
    assert.match(second.stdout, /serving serve --port 1/);
  });

  it('the test command prepares the same way, then the packed install (pack-check.sh) builds the node-gyp addon', () => {
    write('scripts/pack-check.sh', 'echo "pack-check" >>"$FAKE_CALLS"\n');
    const first = run('scripts/test.sh');
    assert.equal(first.status, 0, first.stdout);
    // npm ci runs no install script: the clone never builds the gyp addon itself.
    assert.deepEqual(first.calls, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm rebuild better-sqlite3 --no-audit --no-fund', 'npm run build:ts', 'npm run build:native', 'pack-check']);
    assert.match(first.stdout, /run-tests/);
    assert.deepEqual(run('scripts/test.sh').calls, ['pack-check'], 'pack-check keeps its own stamp');
    write('native/addon.cc', 'int main() { return 2; }\n');
    assert.deepEqual(run('scripts/test.sh').calls, ['npm run build:native', 'pack-check'], 'a native source changed');
  });

  it('a changed source rebuilds its own step and no other', () => {
    assert.equal(run('scripts/start.sh').status, 0);

    write('native/sandbox/main.cc', 'int main() { return 3; }\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:native'], 'a native source changed');
    fs.renameSync(path.join(dir, 'native/addon.cc'), path.join(dir, 'native/addon2.cc'));
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:native'], 'a native source renamed');
    write('CMakeLists.txt', 'project(scratch2)\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:native'], 'CMakeLists.txt changed');
    fs.rmSync(path.join(dir, 'build-cmake/Release/faiss_node.node'));
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:native'], 'the addon is missing');

    write('service/cli.ts', 'export const b = 3;\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:ts'], 'a .ts source changed');
    write('lib/new-file.ts', 'export const c = 1;\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:ts'], 'a .ts source added');
    write('bench/run.ts', 'export const d = 1;\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:ts'], 'a folder of the include made');
    write('other/x.ts', 'export const e = 1;\n');
    assert.deepEqual(run('scripts/start.sh').calls, [], 'a .ts file outside the include');
    write('tsconfig.json', '{ "include": ["lib/**/*.ts", "service/**/*.ts", "bench/**/*.ts"] }\n\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:ts'], 'tsconfig.json changed');

    write('package-lock.json', '{"name":"scratch","lockfileVersion":3,"packages":{"":{}}}\n');
    assert.deepEqual(run('scripts/start.sh').calls, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm rebuild better-sqlite3 --no-audit --no-fund', 'npm run build:ts'], 'the lockfile changed (the @types may have too)');
    assert.deepEqual(run('scripts/start.sh').calls, []);
  });

  it('dependencies that do not load in this node are reinstalled', () => {
    assert.equal(run('scripts/start.sh', { FAKE_SQLITE: 'throw new Error("compiled against a different Node.js version")' }).status, 0);
    assert.deepEqual(run('scripts/start.sh').calls, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm rebuild better-sqlite3 --no-audit --no-fund']);
    assert.deepEqual(run('scripts/start.sh').calls, []);
    // Another node (another ABI) than the install's: the stamp no longer matches.
    const stamp = path.join(dir, 'node_modules/.faiss-proxy-stamp');
    fs.writeFileSync(stamp, fs.readFileSync(stamp, 'utf8').replace(/abi \d+/, 'abi 1'));
    assert.deepEqual(run('scripts/start.sh').calls, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm rebuild better-sqlite3 --no-audit --no-fund']);
  });

  it('a step that failed is done again on the next run', () => {
    const failed = run('scripts/start.sh', { FAKE_FAIL: 'build:native' });
    assert.notEqual(failed.status, 0);
    assert.doesNotMatch(failed.stdout, /serving/);
    // build:ts ran beside FAISS's build, before build:native, and stands.
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:native']);
    assert.deepEqual(run('scripts/start.sh').calls, []);
  });

  it('a failed npm ci or build:ts stops the set-up before build:native', () => {
    const failed = run('scripts/start.sh', { FAKE_FAIL: 'build:ts' });
    assert.notEqual(failed.status, 0);
    assert.match(failed.stdout, /fake npm: build:ts fails[^]*npm ci or build:ts failed/);
    assert.deepEqual(failed.calls, ['npm ci --ignore-scripts --no-audit --no-fund', 'npm rebuild better-sqlite3 --no-audit --no-fund', 'npm run build:ts']);
    assert.deepEqual(run('scripts/start.sh').calls, ['npm run build:ts', 'npm run build:native']);
  });
});
