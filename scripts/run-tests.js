// Runs every compiled mocha test file and ends with "N passed, N failed".
// Usage: node scripts/run-tests.js [--write-durations] [substring-of-file-name ...]
//
// Each file runs in a process of its own (scripts/run-test-file.js), FAISS_PROXY_TEST_WORKERS
// of them at once (default: os.availableParallelism() + 1; most files spend their time
// waiting on child processes, nats-server, HTTP and fsync, so one more than the cores keeps
// them busy). A worker takes the next file when its last one ends, the longest first by
// scripts/test-durations.json (a file it does not list counts as the longest, so a new
// file starts early); --write-durations rewrites that table from this run's times. A
// file's output is printed whole when it ends, never interleaved with another's. No file
// needs the machine to itself: whole runs with 3 workers on the 2-core machine, beside
// other work, passed (bench/RESULTS.md).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { fork, spawnSync } = require('node:child_process');

const root = path.resolve(__dirname, '..', 'dist', 'test');
const durationsFile = path.join(__dirname, 'test-durations.json');
const args = process.argv.slice(2);
const writeDurations = args.includes('--write-durations');
const filters = args.filter((a) => a !== '--write-durations');

function workerCount() {
  const env = process.env.FAISS_PROXY_TEST_WORKERS;
  if (env === undefined || env === '') return os.availableParallelism() + 1;
  const n = Number(env);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`run-tests: FAISS_PROXY_TEST_WORKERS=${env}: give a whole number of at least 1`);
    process.exit(2);
  }
  return n;
}

function testFiles(dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return testFiles(p);
    return e.name.endsWith('.test.js') ? [p] : [];
  });
}

function readDurations() {
  try {
    return JSON.parse(fs.readFileSync(durationsFile, 'utf8'));
  } catch {
    // scripts/gpu-check.sh's pack may run without the table: every file counts as long.
    return {};
  }
}

// The Python client's pytest suite (clients/python/tests), after mocha's files: its
// counts join the final line. Filters pick its files as they pick mocha's.
function runPytest() {
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

/** Runs one file in its own process; resolves with its counts and wall time once it exited. */
function runFile(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const flags = process.stdout.isTTY ? ['--color'] : [];
    const child = fork(path.join(__dirname, 'run-test-file.js'), [file, ...flags], { stdio: ['ignore', 'pipe', 'pipe', 'ipc'] });
    const output = [];
    child.stdout.on('data', (c) => output.push(c));
    child.stderr.on('data', (c) => output.push(c));
    let counts;
    child.on('message', (m) => (counts = m));
    child.on('close', (code, signal) => {
      process.stdout.write(Buffer.concat(output));
      const ms = Date.now() - started;
      if (counts) return resolve({ ...counts, ms });
      // Whatever stops mocha before the end of a file is a failed file, never a passed one.
      const why = `mocha stopped before the end of the file (${signal ?? `exit status ${code}`}): counted as 1 failure`;
      console.log(`run-tests: ${path.relative(root, file)}: ${why}`);
      resolve({ passes: 0, failures: 1, failed: [{ title: '(the whole file)', message: why }], ms });
    });
  });
}

// Every failure again, by file, just before the last line: CI keeps only the tail of the
// output, where a file's own report may no longer be.
function printFailures(failedByFile) {
  if (failedByFile.size === 0) return;
  console.log('\nfailures:');
  for (const [file, failed] of failedByFile) {
    for (const f of failed) {
      console.log(`  ${file}: ${f.title}`);
      for (const line of f.message.split('\n')) console.log(`      ${line}`);
    }
  }
}

// Each test file's wall time, the slowest printed at the end: CI's time budget (about 25
// minutes on a 2-core machine) is spent where this list says.
function printSlowest(fileMs, n, wallMs, workers) {
  const rows = [...fileMs].sort((a, b) => b[1] - a[1]).slice(0, n);
  if (rows.length === 0) return;
  const sum = [...fileMs.values()].reduce((a, b) => a + b, 0);
  console.log(`\nslowest test files (of ${fileMs.size}, ${(sum / 60_000).toFixed(1)} min in all, ${(wallMs / 60_000).toFixed(1)} min of wall time with ${workers} workers):`);
  for (const [file, ms] of rows) console.log(`  ${(ms / 1000).toFixed(1).padStart(7)} s  ${file}`);
}

async function main() {
  const files = testFiles(root)
    .sort()
    .filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)))
    .map((file) => path.relative(root, file));
  const durations = readDurations();
  const expected = (f) => durations[f] ?? Infinity;
  const queue = [...files].sort((a, b) => expected(b) - expected(a) || a.localeCompare(b));
  const workers = Math.min(workerCount(), Math.max(queue.length, 1));

  const started = Date.now();
  const fileMs = new Map();
  const failedByFile = new Map();
  let passes = 0;
  let failures = 0;
  const run = async (file) => {
    const r = await runFile(path.join(root, file));
    fileMs.set(file, r.ms);
    if (r.failures > 0) failedByFile.set(file, r.failed?.length ? r.failed : [{ title: '(no title)', message: `${r.failures} failed` }]);
    passes += r.passes;
    failures += r.failures;
  };
  await Promise.all(
    Array.from({ length: workers }, async () => {
      for (let file = queue.shift(); file !== undefined; file = queue.shift()) await run(file);
    }),
  );
  const wallMs = Date.now() - started;
  printSlowest(fileMs, 15, wallMs, workers);
  if (writeDurations) {
    const table = { ...durations };
    for (const [f, ms] of fileMs) table[f] = ms;
    for (const f of Object.keys(table)) if (!fs.existsSync(path.join(root, f))) delete table[f];
    const sorted = Object.fromEntries(Object.entries(table).sort(([a], [b]) => a.localeCompare(b)));
    fs.writeFileSync(durationsFile, `${JSON.stringify(sorted, null, 1)}\n`);
    console.log(`run-tests: wrote ${Object.keys(sorted).length} files' times to ${path.relative(process.cwd(), durationsFile)}`);
  }
  const py = runPytest();
  passes += py.passes;
  failures += py.failures;
  printFailures(failedByFile);
  console.log(`${passes} passed, ${failures} failed`);
  process.exitCode = failures > 0 ? 1 : 0;
}

main().catch((err) => {
  console.log(`run-tests: ${err.stack ?? err}`);
  console.log('0 passed, 1 failed');
  process.exitCode = 1;
});
