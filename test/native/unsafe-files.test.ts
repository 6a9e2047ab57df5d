// The crash suite for index files (issue 24): crafted, damaged and hostile FAISS
// files, each read in a node process of its own (test/support/crash-case.ts), so
// that a crash shows as a crash. FAISS 1.7.3's reader trusts every size in a file;
// read in process, each file below killed it (SIGFPE, SIGSEGV, SIGABRT) or loaded
// and killed the first add or search. The safe path (the default of readIndex and
// deserializeIndex) reads them in the sandbox process and refuses them with a code.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { brokenPromise, runCase, type CaseOutcome } from '../support/crash-case';
import { rng } from '../support/data';
import { PYTHON } from '../support/oracle';

const SCRIPT = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'crafted_index_files.py');
const MAX_RSS = 1.5 * 1024 ** 3;

// Reads, then uses what was read the way a caller would: add (with ids where the
// index wants them) and search. Every step must settle with a value or a code.
function readThenUse(read: string): string {
  return `
    const ix = await ${read};
    const d = ix.d, x = new Float32Array(30 * d).map((_, i) => (i % 7) / 7);
    if (ix.isTrained) {
      if (ix.typeName.startsWith('IndexIDMap')) await ix.addWithIds(x, BigInt64Array.from({ length: 30 }, (_, i) => BigInt(i)));
      else await ix.add(x);
    }
    return (await ix.search(x, 3)).labels.length;`;
}

async function expectRefused(body: string, codes = ['ERR_CORRUPT_INDEX', 'ERR_UNSUPPORTED']): Promise<CaseOutcome> {
  const o = await runCase(body, { timeoutMs: 30_000, maxRssBytes: MAX_RSS });
  assert.equal(brokenPromise(o, MAX_RSS), undefined);
  assert.equal(o.status, 'error', `expected a refusal, got ${JSON.stringify(o.value)}`);
  assert.ok(codes.includes(o.code!), `${o.code}: ${o.message}`);
  return o;
}

describe('unsafe index files are read where a crash cannot hurt', function () {
  this.timeout(120_000);
  let dir: string;
  let cases: string[];

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'unsafe-files-'));
    execFileSync(PYTHON, [SCRIPT, dir], { stdio: ['ignore', 'ignore', 'ignore'], timeout: 120_000 });
    cases = fs.readdirSync(dir).filter((f) => !f.startsWith('valid-')).map((f) => f.replace(/\.index$/, ''));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const file = (name: string): string => JSON.stringify(path.join(dir, `${name}.index`));

  it('python wrote every crafted file', () => {
    for (const name of ['pq-M-0', 'lattice-nsq-0', 'rq-M-minus-1', 'lsq-M-minus-1', 'sq8-trained-empty-table',
      'hnsw-probas-past-levels', 'ivf-idmap-quantizer-id-beyond-nlist', 'idmap-ids-short', 'ivfpq-quantizer-ntotal-wraps']) {
      assert.ok(cases.includes(name), name);
    }
  });

  describe('deserializeIndex refuses each crafted file with a code', () => {
    // The names are known before `before` runs: the test list is static.
    for (const name of [
      'pq-nbits-0', 'pq-M-0', 'pq-nbits-64', 'pq-M-huge', 'ivfpq-quantizer-ntotal-huge', 'ivfpq-quantizer-ntotal-small',
      'ivfpq-quantizer-ntotal-wraps', 'rq-M-minus-1', 'rq-code-size-minus-1', 'lsq-M-minus-1', 'lsq-K-minus-1',
      'lattice-nsq-0', 'lattice-nsq-minus-1', 'idmap-ids-short', 'idmap-ids-empty', 'idmap-ntotal-huge',
      'flat-ntotal-huge', 'flat-ntotal-negative', 'flat-ntotal-wraps',
      'sq8-trained-empty-table', 'sq4-uniform-trained-empty-table', 'ivfsq-trained-empty-table',
      'hnsw-probas-past-levels', 'hnsw-neighbour-past-end', 'hnsw-neighbour-negative',
      'ivf-idmap-quantizer-id-beyond-nlist', 'ivf-idmap-quantizer-id-negative',
    ]) {
      it(name, async () => {
        await expectRefused(readThenUse(`faiss.deserializeIndex(require('fs').readFileSync(${file(name)}))`));
      });
    }
  });

  describe('readIndex the same, from the file', () => {
    for (const name of ['pq-M-0', 'lattice-nsq-0', 'lsq-M-minus-1', 'sq8-trained-empty-table', 'hnsw-probas-past-levels',
      'ivf-idmap-quantizer-id-beyond-nlist', 'ivfpq-quantizer-ntotal-wraps']) {
      it(name, async () => {
        await expectRefused(readThenUse(`faiss.readIndex(${file(name)})`));
      });
    }
    it('memory-mapped: an IVF whose quantizer has an id beyond nlist', async () => {
      await expectRefused(readThenUse(`faiss.readIndex(${file('ivf-idmap-quantizer-id-beyond-nlist')}, { mmap: true })`));
    });
  });

  describe('bytes built here', () => {
    for (let seed = 1; seed <= 4; seed++) {
      it(`"IxPq" followed by garbage (seed ${seed})`, async () => {
        const next = rng(seed);
        const bytes = Buffer.concat([Buffer.from('IxPq'), Buffer.from(Array.from({ length: 40 + seed * 50 }, () => Math.floor(next() * 256)))]);
        await expectRefused(readThenUse(`faiss.deserializeIndex(Buffer.from(${JSON.stringify(bytes.toString('base64'))}, 'base64'))`));
      });
    }
    for (const fourcc of ['IxLa', 'IwPQ', 'IHNf', 'IxM2', 'IxPT']) {
      it(`"${fourcc}" followed by 0xff bytes`, async () => {
        const bytes = Buffer.concat([Buffer.from(fourcc), Buffer.alloc(40, 0xff)]);
        await expectRefused(readThenUse(`faiss.deserializeIndex(Buffer.from(${JSON.stringify(bytes.toString('base64'))}, 'base64'))`));
      });
    }
    for (const kind of ['pq', 'ivfpq', 'hnsw', 'sq']) {
      it(`a valid ${kind} file cut short at 40 places`, async () => {
        const o = await runCase(`
          const bytes = require('fs').readFileSync(${file(`valid-${kind}`)});
          const codes = [];
          for (let i = 0; i < 40; i++) {
            const n = Math.floor((i * bytes.length) / 40) + (i % 5);
            codes.push(await faiss.deserializeIndex(bytes.subarray(0, n)).then(() => 'accepted ' + n, (e) => e.code));
          }
          return [...new Set(codes)];`);
        assert.equal(brokenPromise(o, MAX_RSS), undefined);
        assert.deepEqual(o.value, ['ERR_CORRUPT_INDEX']);
      });
    }
  });

  it('options: trusted must be a boolean, on both the embedded and the remote API', async () => {
    const o = await runCase(`
      const bytes = require('fs').readFileSync(${file('valid-flat')});
      const { connect } = require(${JSON.stringify(path.resolve(__dirname, '..', '..', 'lib', 'client'))});
      const remote = connect({ url: 'http://127.0.0.1:9', apiKey: 'k', retryForMs: 0 });
      const code = (p) => p.then(() => 'settled', (e) => e.code);
      return [await code(faiss.deserializeIndex(bytes, { trusted: 'yes' })), await code(faiss.readIndex(${file('valid-flat')}, { trusted: 1 })),
        await code(remote.deserializeIndex(bytes, { trusted: 'yes' }))];`);
    assert.equal(brokenPromise(o), undefined);
    assert.deepEqual(o.value, ['ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT', 'ERR_INVALID_ARGUMENT']);
  });

  it('without the sandbox executable next to the addon, an untrusted read is ERR_IO; a trusted one still works', async () => {
    const lonely = fs.mkdtempSync(path.join(os.tmpdir(), 'addon-alone-'));
    try {
      const addon = require('../../lib/native').addonCandidates().find((p: string) => fs.existsSync(p));
      fs.copyFileSync(addon, path.join(lonely, 'faiss_node.node'));
      const o = await runCase(`
        const bytes = require('fs').readFileSync(${file('valid-flat')});
        const e = await faiss.deserializeIndex(bytes).then(() => undefined, (e) => e);
        return [e && e.code, e && e.message, (await faiss.deserializeIndex(bytes, { trusted: true })).ntotal];`,
      { env: { ...process.env, FAISS_PROXY_ADDON: path.join(lonely, 'faiss_node.node') } });
      assert.equal(brokenPromise(o), undefined);
      const [code, message, ntotal] = o.value as [string, string, number];
      assert.equal(code, 'ERR_IO');
      assert.match(message, /faiss-proxy-sandbox cannot be started/);
      assert.equal(ntotal, 100);
    } finally {
      fs.rmSync(lonely, { recursive: true, force: true });
    }
  });

  it('a valid file still reads, safe or trusted, and answers the same', async () => {
    const o = await runCase(`
      const bytes = require('fs').readFileSync(${file('valid-ivfpq')});
      const safe = await faiss.deserializeIndex(bytes), trusted = await faiss.deserializeIndex(bytes, { trusted: true });
      const q = new Float32Array(8).fill(0.5);
      return [safe.typeName, safe.ntotal, [...(await safe.search(q, 5)).labels].join(), [...(await trusted.search(q, 5)).labels].join()];`);
    assert.equal(brokenPromise(o), undefined);
    const [type, ntotal, safeLabels, trustedLabels] = o.value as [string, number, string, string];
    assert.equal(type, 'IndexIVFPQ');
    assert.equal(ntotal, 100);
    assert.equal(safeLabels, trustedLabels);
  });
});
