// Damaged and hostile binary index files (test/support/crafted_binary_files.py),
// each read in a node process of its own (test/support/crash-case.ts) so that a
// crash shows as a crash. FAISS 1.7.3's read_index_binary trusts every size in a
// file; the default path reads it in the sandbox (--binary), checks it
// (native/binary_validate.cc) and tries it, and refuses it with a code.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokenPromise, runCase } from '../support/crash-case';
import { PYTHON } from '../support/oracle';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'crafted_binary_files.py');
const MAX_RSS = 1.5 * 1024 ** 3;

// Reads, then uses what was read as a caller would: add and search.
const readThenUse = (read: string): string => `
  const ix = await ${read};
  const x = new Uint8Array(30 * ix.codeSize).map((_, i) => (i * 37) & 255);
  if (ix.isTrained) await ix.add(x);
  return { typeName: ix.typeName, labels: (await ix.search(x, 3)).labels.length };`;

const unsupported = new Set(['hash-unchecked', 'idmap-unchecked']);

describe('binary index files from outside are read where a crash cannot hurt', function () {
  this.timeout(240_000);
  let dir: string;
  let files: string[];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unsafe-binary-'));
    execFileSync(PYTHON, [SCRIPT, dir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 120_000 });
    files = fs.readdirSync(dir).map((f) => f.replace(/\.index$/, ''));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (name: string): string => JSON.stringify(path.join(dir, `${name}.index`));

  it('python wrote every crafted file', () => {
    for (const name of ['flat-code-size-twice-d', 'hnsw-neighbour-out-of-range', 'ivf-quantizer-past-nlist', 'hash-unchecked', 'idmap-unchecked']) {
      assert.ok(files.includes(name), name);
    }
  });

  it('valid files are read and used', async () => {
    for (const name of files.filter((f) => f.startsWith('valid-'))) {
      const o = await runCase(readThenUse(`faiss.readIndexBinary(${file(name)})`), { timeoutMs: 60_000, maxRssBytes: MAX_RSS });
      assert.equal(o.status, 'value', `${name}: ${o.status} ${o.code} ${o.message} ${o.stderr}`);
      assert.equal((o.value as { labels: number }).labels, 90);
    }
  });

  it('read trusted, in process, a damaged file kills the process: what the sandbox is for', async () => {
    const o = await runCase(readThenUse(`faiss.readIndexBinary(${file('hnsw-neighbour-out-of-range')}, { trusted: true })`), {
      timeoutMs: 60_000,
      maxRssBytes: MAX_RSS,
    });
    assert.equal(o.status, 'signal', `${o.status} ${o.code} ${JSON.stringify(o.value)}`);
  });

  it('every damaged or unchecked file is refused with a code, from a file and from bytes', async () => {
    const damaged = files.filter((f) => !f.startsWith('valid-'));
    assert.ok(damaged.length >= 15);
    for (const name of damaged) {
      for (const read of [`faiss.readIndexBinary(${file(name)})`, `faiss.deserializeIndexBinary(require('fs').readFileSync(${file(name)}))`]) {
        const o = await runCase(readThenUse(read), { timeoutMs: 60_000, maxRssBytes: MAX_RSS });
        assert.equal(brokenPromise(o, MAX_RSS), undefined, `${name}: ${o.status} ${o.stderr}`);
        assert.equal(o.status, 'error', `${name}: expected a refusal, got ${JSON.stringify(o.value)}`);
        assert.equal(o.code, unsupported.has(name) ? 'ERR_UNSUPPORTED' : 'ERR_CORRUPT_INDEX', `${name}: ${o.message}`);
      }
    }
  });
});
