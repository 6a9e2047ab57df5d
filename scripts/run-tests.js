// Runs every compiled mocha test file and ends with "N passed, N failed".
// Usage: node scripts/run-tests.js [substring-of-file-name ...]
const fs = require('node:fs');
const path = require('node:path');
const Mocha = require('mocha');

const root = path.resolve(__dirname, '..', 'dist', 'test');
const filters = process.argv.slice(2);

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

const mocha = new Mocha({ reporter: 'spec', timeout: 60_000 });
for (const file of testFiles(root).sort()) {
  if (filters.length === 0 || filters.some((f) => file.includes(f))) mocha.addFile(file);
}

// The Python client's pytest suite (clients/python/tests), after mocha's: its
// counts join the final line. Filters pick its files as they pick mocha's.
function runPytest() {
  const { spawnSync } = require('node:child_process');
  const os = require('node:os');
  const dir = path.resolve(__dirname, '..', 'clients', 'python', 'tests');
  // scripts/gpu-check.sh's pack carries dist/ and this script, not the Python client.
  if (!fs.existsSync(dir)) return { passes: 0, failures: 0 };
  const files = fs
    .readdirSync(dir)
    .filter((f) => /^test_.*\.py$/.test(f))
    .map((f) => path.join(dir, f))
    .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
  if (files.length === 0) return { passes: 0, failures: 0 };
  const junit = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'pytest-')), 'junit.xml');
  const python = process.env.FAISS_PROXY_PYTHON || '/usr/bin/python3';
  console.log(`\npytest (${python}): ${files.length} files of clients/python/tests`);
  const r = spawnSync(python, ['-m', 'pytest', '-q', '-rfE', '-p', 'no:cacheprovider', `--junitxml=${junit}`, ...files], {
    cwd: path.dirname(dir),
    stdio: 'inherit',
    timeout: 10 * 60_000,
  });
  let xml = '';
  try {
    xml = fs.readFileSync(junit, 'utf8');
  } catch {
    // No report: pytest missing, or it died (a crash of the oracle): one failure, never a pass.
  }
  fs.rmSync(path.dirname(junit), { recursive: true, force: true });
  const suite = /<testsuite\b[^>]*>/.exec(xml);
  if (!suite) {
    console.log(`pytest: no report (exit status ${r.status}${r.error ? `, ${r.error.message}` : ''}): counted as 1 failure`);
    return { passes: 0, failures: 1 };
  }
  const attr = (name) => Number((new RegExp(`\\b${name}="(\\d+)"`).exec(suite[0]) || [])[1] || 0);
  // A skipped test is neither: the suite skips nothing on a machine set up by scripts/test.sh.
  const failures = attr('failures') + attr('errors');
  return { passes: attr('tests') - failures - attr('skipped'), failures: failures + (r.status !== 0 && failures === 0 ? 1 : 0) };
}

// Each test file's wall time, the slowest printed at the end: CI's time budget
// (about 25 minutes on a 2-core machine) is spent where this list says.
const fileMs = new Map();
function timeFiles(runner) {
  const started = new Map();
  runner.on('suite', (s) => s.file && s.parent?.root && started.set(s, Date.now()));
  runner.on('suite end', (s) => {
    if (!started.has(s)) return;
    const file = path.relative(root, s.file);
    fileMs.set(file, (fileMs.get(file) ?? 0) + Date.now() - started.get(s));
  });
}
function printSlowest(n) {
  const rows = [...fileMs].sort((a, b) => b[1] - a[1]).slice(0, n);
  if (rows.length === 0) return;
  console.log(`\nslowest test files (of ${fileMs.size}, ${(([...fileMs.values()].reduce((a, b) => a + b, 0)) / 60_000).toFixed(1)} min in all):`);
  for (const [file, ms] of rows) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
}

let summarized = false;
const runner = mocha.run(() => {
  printSlowest(15);
  const py = runPytest();
  const passes = runner.stats.passes + py.passes;
  const failures = runner.stats.failures + py.failures;
  console.log(`${passes} passed, ${failures} failed`);
  summarized = true;
  process.exitCode = failures > 0 ? 1 : 0;
  // A test that leaks a handle must not hang CI: leave soon after the summary.
  setTimeout(() => process.exit(), 2000).unref();
});

timeFiles(runner);

// Mocha's reporters JSON.stringify a failed assertion's two values for the diff,
// which throws on a BigInt (a BigInt64Array of labels, say): the runner then dies
// in the middle of the run and the process exits 0, or hangs on a leaked handle.
// Such a failure is reported without the diff.
runner.prependListener('fail', (test, err) => {
  if (err === null || typeof err !== 'object' || err.showDiff === false) return;
  try {
    JSON.stringify([err.actual, err.expected]);
  } catch {
    err.showDiff = false;
  }
});
// Whatever else stops mocha before its summary is a failed run, never a passed one.
process.on('exit', () => {
  if (summarized) return;
  console.log('run-tests: mocha stopped before the end of the run');
  process.exitCode = 1;
});
