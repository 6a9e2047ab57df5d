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

const runner = mocha.run(() => {
  const { passes, failures } = runner.stats;
  console.log(`${passes} passed, ${failures} failed`);
  process.exitCode = failures > 0 ? 1 : 0;
  // A test that leaks a handle must not hang CI: leave soon after the summary.
  setTimeout(() => process.exit(), 2000).unref();
});
