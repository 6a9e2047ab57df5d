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

let summarized = false;
const runner = mocha.run(() => {
  const { passes, failures } = runner.stats;
  console.log(`${passes} passed, ${failures} failed`);
  summarized = true;
  process.exitCode = failures > 0 ? 1 : 0;
  // A test that leaks a handle must not hang CI: leave soon after the summary.
  setTimeout(() => process.exit(), 2000).unref();
});

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
