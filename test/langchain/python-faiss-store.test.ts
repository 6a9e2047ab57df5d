// Moving from Python LangChain's FAISS store: test/fixtures/python-faiss-store/{l2,ip} are what
// FAISS.save_local wrote (index.faiss + index.pkl, made by Python LangChain itself: make.py there, with the
// versions in expected.json). fromFaissStoreDirectory imports the same documents (ids, page content,
// metadata) and answers searches as Python LangChain's own similarity_search_with_score_by_vector did. The
// pickle is read without running it: hostile pickles (a call of os.system, REDUCE, huge lengths, deep
// nesting, a value repeated 2^40 times, a cycle, truncation, random damage), each in a child process of
// bounded memory and time, are refused with ERR_INVALID_ARGUMENT, never a crash or a hang.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { FakeEmbeddings } from '@langchain/core/utils/testing';
import { FaissProxyStore } from '../../lib/langchain';
import { PAGE_CONTENT_KEY } from '../../lib/langchain/documents';

const root = path.resolve(__dirname, '..', '..', '..');
const fixtures = path.join(root, 'test', 'fixtures', 'python-faiss-store');

interface Expected {
  metric: 'l2' | 'ip';
  documents: { label: number; id: string; pageContent: string; metadata: Record<string, unknown> }[];
  queries: { vector: number[]; hits: { pageContent: string; score: number }[] }[];
}
const expected = JSON.parse(fs.readFileSync(path.join(fixtures, 'expected.json'), 'utf8')) as Record<'l2' | 'ip', Expected>;

describe('moving from Python LangChain\'s FAISS store (index.faiss + index.pkl)', () => {
  for (const name of ['l2', 'ip'] as const) {
    it(`${name}: the same documents, and the answers Python LangChain gave`, async () => {
      const want = expected[name];
      const store = await FaissProxyStore.fromFaissStoreDirectory(path.join(fixtures, name), new FakeEmbeddings(), { collection: `py-${name}` });
      try {
        const collection = await store.getCollection();
        assert.equal((await collection.info()).metric, want.metric);
        assert.equal(await collection.count(), want.documents.length);
        const points = await collection.get(want.documents.map((d) => d.id), { withPayload: true, withVector: false });
        assert.deepEqual(
          points.map((p) => [p.id, p.payload]),
          want.documents.map((d) => [d.id, { ...d.metadata, [PAGE_CONTENT_KEY]: d.pageContent }]),
        );
        for (const q of want.queries) {
          const hits = await store.similaritySearchVectorWithScore(q.vector, 5);
          assert.deepEqual(hits.map(([doc]) => doc.pageContent), q.hits.map((h) => h.pageContent));
          hits.forEach(([, score], i) => assert.ok(Math.abs(score - q.hits[i].score) < 1e-5, `${score} vs ${q.hits[i].score}`));
        }
      } finally {
        await store.close();
      }
    });
  }

  it('index.pkl beside an index of other vectors than its labels is refused before anything is stored', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-pyfaiss-'));
    try {
      fs.copyFileSync(path.join(fixtures, 'l2', 'index.pkl'), path.join(dir, 'index.pkl'));
      fs.copyFileSync(path.join(fixtures, 'ip', 'index.faiss'), path.join(dir, 'index.faiss')); // one vector fewer
      await assert.rejects(
        FaissProxyStore.fromFaissStoreDirectory(dir, new FakeEmbeddings(), { collection: 'c' }),
        (e: { code?: string; message: string }) => e.code === 'ERR_INVALID_ARGUMENT' && /names label 39/.test(e.message),
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// A pickle written opcode by opcode: the shape of index.pkl, with a chosen metadata value.
const bytes = (...parts: (number | string | Buffer)[]): Buffer =>
  Buffer.concat(parts.map((p) => (typeof p === 'number' ? Buffer.of(p) : typeof p === 'string' ? Buffer.from(p, 'latin1') : p)));
const str = (s: string): Buffer => bytes(0x8c, Buffer.byteLength(s), Buffer.from(s, 'utf8'));
const cls = (module: string, name: string): Buffer => bytes(str(module), str(name), 0x93);
const dict = (...pairs: [Buffer, Buffer][]): Buffer => bytes('}', '(', ...pairs.flat(), 'u');
const u32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n);
  return b;
};
const withMetadata = (metadata: Buffer): Buffer => {
  const document = bytes(cls('langchain_core.documents.base', 'Document'), ')', 0x81, dict([str('__dict__'), dict([str('page_content'), str('x')], [str('metadata'), metadata])]), 'b');
  const docstore = bytes(cls('langchain_community.docstore.in_memory', 'InMemoryDocstore'), ')', 0x81, dict([str('_dict'), dict([str('a'), document])]), 'b');
  return bytes(0x80, 4, docstore, dict([bytes('K', 0), str('a')]), 0x86, '.');
};
const DEPTH = 100_000;
const real = fs.readFileSync(path.join(fixtures, 'l2', 'index.pkl'));

const HOSTILE: [string, Buffer, RegExp][] = [
  ['a call of posix.system', bytes(0x80, 4, cls('posix', 'system'), str('touch /tmp/pwned'), 0x85, 'R', '.'), /the class posix\.system/],
  ['REDUCE on an allowed class', bytes(0x80, 4, cls('langchain_core.documents.base', 'Document'), ')', 'R', '.'), /REDUCE/],
  ['GLOBAL (protocol 2) of builtins.eval', bytes(0x80, 2, 'cbuiltins\neval\n', '.'), /the class builtins\.eval/],
  ['a datetime in the metadata', withMetadata(dict([str('when'), bytes(cls('datetime', 'datetime'), 'C', 10, Buffer.alloc(10), 0x85, 'R')])), /the class datetime\.datetime/],
  ['a string of 2^62 bytes', bytes(0x80, 4, 0x8d, Buffer.from([0, 0, 0, 0, 0, 0, 0, 0x40]), 'abc', '.'), /past the end/],
  ['LONG4 of 2^31 - 1 bytes', bytes(0x80, 4, 0x8b, Buffer.from([0xff, 0xff, 0xff, 0x7f]), '.'), /integer of/],
  ['a memo entry never stored', bytes(0x80, 4, 'j', u32(0xffffffff), '.'), /never stored/],
  ['a protocol 0 pickle', Buffer.from('(lp0\n.', 'latin1'), /PROTO/],
  ['the real file cut in half', real.subarray(0, real.length >> 1), /ends before STOP|too few|past the end/],
  ['metadata nested 100,000 deep', withMetadata(dict([str('k'), bytes(']'.repeat(DEPTH), 'a'.repeat(DEPTH - 1))])), /nested deeper than 64/],
  [
    'a list repeated 2^40 times',
    // Each level a pair of the level below it (the one on the stack and the memo's): 2^40 lists in all.
    withMetadata(dict([str('k'), bytes(']', 0x94, ...Array.from({ length: 40 }, (_, i) => bytes('j', u32(i), 0x86, 0x94)))])),
    /repeated over and over/,
  ],
  ['a list that contains itself', withMetadata(dict([str('k'), bytes(']', 0x94, 'j', u32(0), 'a')])), /contains itself/],
  ['a set in the metadata', withMetadata(dict([str('k'), bytes(0x8f)])), /a set, not a JSON value/],
  ['NaN in the metadata', withMetadata(dict([str('k'), bytes('G', Buffer.from([0x7f, 0xf8, 0, 0, 0, 0, 0, 0]))])), /NaN/],
];

// One child process per case: reads the pickle as fromFaissStoreDirectory does, prints the outcome.
const CHILD = `
const { parsePythonDocstore } = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'langchain', 'python-faiss-store.js'))});
const bytes = require('node:fs').readFileSync(process.argv[1]);
const out = [];
for (const ntotal of process.argv.slice(2).map(Number)) {
  try { parsePythonDocstore('index.pkl', bytes, ntotal); out.push({ ok: true }); }
  catch (e) { out.push({ code: e.code, message: e.message, name: e.constructor.name }); }
}
console.log(JSON.stringify(out));`;

function inChild(data: Buffer, ...ntotals: number[]): { ok?: boolean; code?: string; message?: string; name?: string }[] {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-pickle-'));
  try {
    fs.writeFileSync(path.join(dir, 'index.pkl'), data);
    const r = spawnSync(process.execPath, ['--max-old-space-size=96', '--stack-size=900', '-e', CHILD, path.join(dir, 'index.pkl'), ...ntotals.map(String)], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(r.status, 0, `the child ended with ${r.status ?? r.signal}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

describe('index.pkl is read without running it: hostile pickles', function () {
  this.timeout(120_000);
  for (const [name, data, message] of HOSTILE) {
    it(`${name}: ERR_INVALID_ARGUMENT, in a child process of bounded memory`, () => {
      const [out] = inChild(data, 1);
      assert.equal(out.code, 'ERR_INVALID_ARGUMENT', JSON.stringify(out));
      assert.match(out.message ?? '', message);
    });
  }

  it('the real file with random bytes changed, 300 times: read, or ERR_INVALID_ARGUMENT', () => {
    let seed = 7;
    const next = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-pickle-fuzz-'));
    try {
      // Each damaged file in the same child: its outcomes, in order.
      const files: string[] = [];
      for (let t = 0; t < 300; t++) {
        const damaged = Buffer.from(real);
        for (let j = 0; j <= t % 4; j++) damaged[Math.floor(next() * damaged.length)] = Math.floor(next() * 256);
        const file = path.join(dir, `${t}.pkl`);
        fs.writeFileSync(file, damaged);
        files.push(file);
      }
      const script = `
        const { parsePythonDocstore } = require(${JSON.stringify(path.join(root, 'dist', 'lib', 'langchain', 'python-faiss-store.js'))});
        const fs = require('node:fs');
        const out = [];
        for (const f of process.argv.slice(1)) {
          try { parsePythonDocstore('index.pkl', fs.readFileSync(f), 40); out.push('ok'); }
          catch (e) { out.push(e.code === 'ERR_INVALID_ARGUMENT' ? 'refused' : 'other: ' + e.stack); }
        }
        console.log(JSON.stringify(out));`;
      const r = spawnSync(process.execPath, ['--max-old-space-size=128', '-e', script, ...files], { encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, `the child ended with ${r.status ?? r.signal}: ${r.stderr}`);
      const outcomes = JSON.parse(r.stdout) as string[];
      assert.equal(outcomes.length, 300);
      for (const o of outcomes) assert.ok(o === 'ok' || o === 'refused', o);
      assert.ok(outcomes.includes('refused'));
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the real file is read in the same child (the harness refuses nothing by itself)', () => {
    assert.deepEqual(inChild(real, 40, 39), [{ ok: true }, { code: 'ERR_INVALID_ARGUMENT', message: 'index.pkl is not a Python LangChain FAISS docstore: index_to_docstore_id names label 39, not one of the index\'s 0..38', name: 'FaissError' }]);
  });
});
