// One compiled mocha test file, in a process of its own: scripts/run-tests.js starts
// this for each file and reads its counts from the IPC message sent at the end. A
// process that ends without that message (a crash, a throw out of mocha) is a failed
// file there, never a passed one.
// Usage (by scripts/run-tests.js): node scripts/run-test-file.js <file.test.js> [--color]
const Mocha = require('mocha');

const [file, ...flags] = process.argv.slice(2);
const mocha = new Mocha({ reporter: 'spec', timeout: 60_000, color: flags.includes('--color') });
mocha.addFile(file);

// Each failure's title and message, for the list scripts/run-tests.js prints again at the
// end of the run: CI shows only the tail of the output.
const failed = [];

const runner = mocha.run(() => {
  const counts = { passes: runner.stats.passes, failures: runner.stats.failures, tests: runner.stats.tests };
  process.send({ ...counts, failed }, () => {
    // A test that leaks a handle must not hang the run: leave soon after the counts.
    setTimeout(() => process.exit(), 2000).unref();
    process.disconnect();
  });
});

// Mocha's reporters JSON.stringify a failed assertion's two values for the diff,
// which throws on a BigInt (a BigInt64Array of labels, say): mocha then dies in the
// middle of the file. Such a failure is reported without the diff.
runner.prependListener('fail', (test, err) => {
  const message = err instanceof Error ? err.message : String(err);
  failed.push({ title: test.fullTitle(), message: message.split('\n').slice(0, 12).join('\n') });
  if (err === null || typeof err !== 'object' || err.showDiff === false) return;
  try {
    JSON.stringify([err.actual, err.expected]);
  } catch {
    err.showDiff = false;
  }
});
