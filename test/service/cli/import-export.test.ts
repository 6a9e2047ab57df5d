// faiss-proxy import and export against a real server: every format in and out,
// a .jsonl collection, an import killed mid-way (SIGKILL) and run again (nothing
// lost, nothing twice), bad files refused naming the file and the offset, and
// the progress shown. numpy (python3) writes and reads the .npy files.
import { strict as assert } from 'node:assert';
import { execFileSync, spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../../../lib/client/connect';
import { deserializeIndex } from '../../../lib';
import { makeTenant, startServer, type ServerProcess } from '../../support/server';

const CLI = path.resolve(__dirname, '..', '..', '..', 'service', 'cli.js');

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI; `onStdout` may kill it (it gets the child and the output so far). */
function cli(args: string[], env: Record<string, string>, onStdout?: (out: string, kill: () => void) => void): Promise<Ran> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      stdout += c;
      onStdout?.(stdout, () => child.kill('SIGKILL'));
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** Deterministic rows, exact in float32 (and in uint8 when `integers`). */
function rows(n: number, d: number, integers = false): Float32Array {
  const x = new Float32Array(n * d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) x[i * d + j] = integers ? (i * 31 + j * 7) % 256 : (((i * 31 + j * 7) % 97) - 48) / 8;
  return x;
}

function vecs(x: Float32Array, d: number, format: 'fvecs' | 'bvecs' | 'ivecs'): Buffer {
  const item = format === 'bvecs' ? 1 : 4;
  const n = x.length / d;
  const out = Buffer.alloc(n * (4 + d * item));
  for (let i = 0; i < n; i++) {
    const at = i * (4 + d * item);
    out.writeInt32LE(d, at);
    for (let j = 0; j < d; j++) {
      const v = x[i * d + j];
      if (format === 'fvecs') out.writeFloatLE(v, at + 4 + j * 4);
      else if (format === 'bvecs') out[at + 4 + j] = v;
      else out.writeInt32LE(v, at + 4 + j * 4);
    }
  }
  return out;
}

const f32 = (x: Float32Array) => Buffer.from(x.buffer, x.byteOffset, x.byteLength);
const python = (script: string, ...args: string[]) => execFileSync('python3', ['-c', script, ...args], { encoding: 'utf8' });

describe('cli: import and export', function () {
  this.timeout(120_000);
  let s: ServerProcess;
  let env: Record<string, string>;
  let dir: string;
  let faiss: ReturnType<typeof connect>;

  before(async () => {
    s = await startServer({ args: ['--fsync', 'false'] });
    const keys = await makeTenant(s, 'acme');
    env = { FAISS_PROXY_URL: s.url, FAISS_PROXY_API_KEY: keys.write };
    faiss = connect({ url: s.url, apiKey: keys.write });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-proxy-import-'));
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  const stored = async (name: string) => {
    const index = await faiss.openIndex(name);
    const { ntotal } = await index.refresh();
    return { ntotal, x: ntotal ? await index.reconstructN(0, ntotal) : new Float32Array(0) };
  };

  for (const format of ['fvecs', 'bvecs', 'ivecs', 'f32'] as const) {
    it(`imports a .${format} file into a new index in chunks, and exports the same bytes`, async () => {
      const d = 12;
      const x = rows(250, d, format !== 'fvecs' && format !== 'f32');
      const file = path.join(dir, `in.${format}`);
      fs.writeFileSync(file, format === 'f32' ? f32(x) : vecs(x, d, format));
      const dim = format === 'f32' ? ['--dim', String(d)] : [];
      const r = await cli(['import', '--index', `v-${format}`, '--factory', 'Flat', '--chunk-rows', '64', ...dim, file], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))), { file, index: `v-${format}`, vectors: 250, chunks: 4, ntotal: 250 });
      const got = await stored(`v-${format}`);
      assert.deepEqual(got.x, x);
      const out = path.join(dir, `out.${format}`);
      const e = await cli(['export', '--index', `v-${format}`, out], env);
      assert.equal(e.code, 0, e.stderr);
      assert.ok(fs.readFileSync(out).equals(fs.readFileSync(file)), 'exported bytes differ from the imported file');
      assert.ok(!fs.existsSync(`${out}.partial`));
    });
  }

  it('exports a whole index to .faissindex (a FAISS index file) and imports it as a new index, or over one', async () => {
    const d = 12;
    const x = rows(300, d);
    const index = faiss.indexFactory(d, 'IVF4,Flat', 1, { name: 'whole' });
    await index.train(x);
    await index.add(x);
    const file = path.join(dir, 'whole.faissindex');
    const e = await cli(['export', '--index', 'whole', file], env);
    assert.equal(e.code, 0, e.stderr);
    assert.deepEqual(JSON.parse(e.stdout.slice(e.stdout.indexOf('{'))), { file, index: 'whole', bytes: fs.statSync(file).size });
    assert.ok(!fs.existsSync(`${file}.partial`));
    const read = await deserializeIndex(fs.readFileSync(file));
    assert.deepEqual([read.typeName, read.ntotal], ['IndexIVFFlat', 300]);
    read.dispose();
    for (const name of ['copy', 'copy']) {
      const r = await cli(['import', '--index', name, file], env);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))), { file, index: name, bytes: fs.statSync(file).size, ntotal: 300 });
    }
    const want = await index.search(x.subarray(0, 5 * d), 4);
    const got = await (await faiss.openIndex('copy')).search(x.subarray(0, 5 * d), 4);
    assert.deepEqual(got.labels, want.labels);
    // A file that is not an index: the server's 400, and the CLI fails saying so.
    fs.writeFileSync(path.join(dir, 'junk.faissindex'), 'not an index');
    const junk = await cli(['import', '--index', 'junk', path.join(dir, 'junk.faissindex')], env);
    assert.notEqual(junk.code, 0);
    assert.match(junk.stderr, /ERR_CORRUPT_INDEX|corrupt|not/i);
  });

  it('imports .npy float32 and float16 (converted) files that numpy wrote, and exports files numpy reads back the same', async () => {
    const script = `
import numpy as np, sys
rng = np.random.default_rng(7)
a = rng.standard_normal((300, 10)).astype(np.float32)
np.save(sys.argv[1] + '/f4.npy', a)
h = (rng.standard_normal((300, 10)) * 100).astype(np.float16)
h[0, :4] = [np.float16(6e-8), np.float16(-3e-6), np.float16(65504), np.float16(-0.0)]  # subnormals, the largest, -0
np.save(sys.argv[1] + '/f2.npy', h)
sys.stdout.buffer.write(a.tobytes() + h.astype(np.float32).tobytes())`;
    const expected = execFileSync('python3', ['-c', script, dir]);
    for (const [name, at] of [['f4', 0], ['f2', 300 * 10 * 4]] as const) {
      const r = await cli(['import', '--index', `npy-${name}`, '--factory', 'Flat', '--chunk-rows', '128', path.join(dir, `${name}.npy`)], env);
      assert.equal(r.code, 0, r.stderr);
      const got = await stored(`npy-${name}`);
      assert.equal(got.ntotal, 300);
      assert.ok(f32(got.x).equals(expected.subarray(at, at + 300 * 10 * 4)), `${name}: the stored vectors differ from numpy's`);
    }
    assert.equal((await cli(['export', '--index', 'npy-f4', path.join(dir, 'f4-out.npy')], env)).code, 0);
    const e = await cli(['export', '--index', 'npy-f2', '--dtype', 'float16', path.join(dir, 'f2-out.npy')], env);
    assert.equal(e.code, 0, e.stderr);
    const same = python(`
import numpy as np, sys
d = sys.argv[1]
a, b = np.load(d + '/f4.npy'), np.load(d + '/f4-out.npy')
h, g = np.load(d + '/f2.npy'), np.load(d + '/f2-out.npy')
print(a.dtype == b.dtype and a.shape == b.shape and (a.view(np.uint32) == b.view(np.uint32)).all(),
      h.dtype == g.dtype and h.shape == g.shape and (h.view(np.uint16) == g.view(np.uint16)).all())`, dir);
    assert.equal(same.trim(), 'True True');
  });

  it('imports a .jsonl file into a new collection and exports its points', async () => {
    const points = Array.from({ length: 230 }, (_, i) => ({ id: `p${i}`, vector: Array.from(rows(1, 6).map((v, j) => v + i + j * 0.5)), ...(i % 3 ? { payload: { n: i, tag: `t${i % 5}` } } : {}) }));
    const file = path.join(dir, 'points.jsonl');
    fs.writeFileSync(file, points.map((p, i) => JSON.stringify(p) + (i === 100 ? '\n' : '')).join('\n') + '\n'); // a blank line is skipped
    const r = await cli(['import', '--collection', 'pts', '--factory', 'Flat', '--chunk-rows', '100', file], env);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(JSON.parse(r.stdout.slice(r.stdout.indexOf('{'))), { file, collection: 'pts', points: 230, chunks: 3, count: 230 });
    const out = path.join(dir, 'points-out.jsonl');
    const e = await cli(['export', '--collection', 'pts', out], env);
    assert.equal(e.code, 0, e.stderr);
    const back = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(back.sort((a, b) => Number(a.id.slice(1)) - Number(b.id.slice(1))), points);
  });

  it('an import killed mid-way (SIGKILL) and run again holds every vector once, in the file order', async () => {
    const d = 16;
    const n = 40_000;
    const x = rows(n, d);
    const file = path.join(dir, 'big.f32');
    fs.writeFileSync(file, f32(x));
    const args = ['import', '--index', 'resumed', '--factory', 'Flat', '--dim', String(d), '--chunk-rows', '100', '--progress', 'lines', file];
    const killed = await cli(args, env, (out, kill) => {
      if (/: [1-9][0-9]?\.[0-9]% /.test(out)) kill(); // a tenth or more of the way, not done
    });
    assert.equal(killed.signal, 'SIGKILL', `the import ended before it was killed:\n${killed.stdout}`);
    const partial = (await stored('resumed')).ntotal;
    assert.ok(partial > 0 && partial < n, `killed after ${partial} of ${n} vectors`);
    const again = await cli(args, env);
    assert.equal(again.code, 0, again.stderr);
    const got = await stored('resumed');
    assert.equal(got.ntotal, n);
    assert.ok(f32(got.x).equals(f32(x)), 'the index holds other vectors than the file, or in another order');
    const thrice = await cli(args, env);
    assert.equal(thrice.code, 0, thrice.stderr);
    assert.equal((await stored('resumed')).ntotal, n, 'a finished import run again adds nothing');
  });

  it('an import stopped by a bad row, run again once the file is fixed in place, holds every row once', async () => {
    const d = 8;
    const x = rows(300, d);
    const file = path.join(dir, 'fixed.f32');
    fs.writeFileSync(file, f32(x.map((v, i) => (i === 150 * d + 2 ? NaN : v))));
    const args = ['import', '--index', 'fixed', '--factory', 'Flat', '--dim', String(d), '--chunk-rows', '100', file];
    const bad = await cli(args, env);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /fixed\.f32: at byte offset 4808 \(row 150, component 2\): NaN is not a finite number/);
    assert.equal((await stored('fixed')).ntotal, 100, 'the chunk before the bad row');
    fs.writeFileSync(file, f32(x));
    const fixed = await cli(args, env);
    assert.equal(fixed.code, 0, fixed.stderr);
    const got = await stored('fixed');
    assert.equal(got.ntotal, 300);
    assert.ok(f32(got.x).equals(f32(x)));
  });

  it('--import-id imports the same file again; a changed file under the same id is refused', async () => {
    const file = path.join(dir, 'again.fvecs');
    fs.writeFileSync(file, vecs(rows(30, 4), 4, 'fvecs'));
    const base = ['import', '--index', 'again', '--factory', 'Flat', file];
    assert.equal((await cli(base, env)).code, 0);
    assert.equal((await cli([...base, '--import-id', 'second'], env)).code, 0);
    assert.equal((await stored('again')).ntotal, 60);
    fs.writeFileSync(file, vecs(rows(30, 4).map((v) => v + 1), 4, 'fvecs'));
    const changed = await cli([...base, '--import-id', 'second'], env);
    assert.equal(changed.code, 2);
    assert.match(changed.stderr, /again\.fvecs: the chunk at row 0 \(byte offset 0\) was imported before with other contents/);
    assert.equal((await stored('again')).ntotal, 60);
  });

  describe('bad files are refused naming the file and where', () => {
    const d = 16;
    const cases: [string, () => Buffer | string, string[], RegExp][] = [
      ['truncated.fvecs', () => vecs(rows(10, d), d, 'fvecs').subarray(0, 10 * 68 - 3), [], /truncated\.fvecs: truncated: the row at byte offset 612 \(row 9\) has 65 of its 68 bytes/],
      ['mixed.fvecs', () => Buffer.concat([vecs(rows(2, d), d, 'fvecs'), vecs(rows(1, 5), 5, 'fvecs'), Buffer.alloc(68 * 2 - 24)]), [], /mixed\.fvecs: at byte offset 136 \(row 2\): a row of dimension 5, the first row's is 16/],
      ['header.npy', () => Buffer.from('NOTNUMPY at all, just text'), [], /header\.npy: not a \.npy file we can read: at byte offset 0: no \\x93NUMPY magic/],
      ['nan.f32', () => f32(rows(20, d).map((v, i) => (i === 5 * d + 3 ? NaN : v))), ['--dim', String(d)], /nan\.f32: at byte offset 332 \(row 5, component 3\): NaN is not a finite number/],
      ['inf.fvecs', () => vecs(rows(4, d).map((v, i) => (i === 2 * d ? Infinity : v)), d, 'fvecs'), [], /inf\.fvecs: at byte offset 140 \(row 2, component 0\): Infinity is not a finite number/],
      ['nodim.f32', () => f32(rows(4, d)), [], /nodim\.f32: a raw \.f32 file has no header: give its dimension with --dim/],
      ['odd.f32', () => f32(rows(4, d)).subarray(0, 4 * d * 4 - 8), ['--dim', String(d)], /odd\.f32: truncated: the row at byte offset 192 \(row 3\) has 56 of its 64 bytes/],
      ['wrongdim.fvecs', () => vecs(rows(4, 8), 8, 'fvecs'), [], /wrongdim\.fvecs: vectors of dimension 8, but index bad holds vectors of dimension 16/],
      ['vectors.txt', () => 'hello', [], /vectors\.txt: cannot tell its format from its name/],
      ['missing.npy', () => '', ['--gone'], /missing\.npy: cannot read it \(ENOENT\)/],
      ['points.jsonl', () => '{"id":"a","vector":[1,2]}\n{"id":"b","vector":[1,2]}\n{"id":"c","vector":[1,2\n', ['--collection'], /points\.jsonl: line 3 \(byte offset 52\): not JSON/],
      ['inf.jsonl', () => '{"id":"a","vector":[1,2]}\n{"id":"b","vector":[1,1e999]}\n', ['--collection'], /inf\.jsonl: line 2 \(byte offset 26\): vector\[1\] is Infinity: vectors hold finite numbers only/],
      ['dims.jsonl', () => '{"id":"a","vector":[1,2]}\n{"id":"b","vector":[1,2,3]}\n', ['--collection'], /dims\.jsonl: line 2 \(byte offset 26\): a vector of dimension 3; the first point's is 2/],
    ];
    before(async () => {
      fs.writeFileSync(path.join(dir, 'seed.f32'), f32(rows(3, d)));
      assert.equal((await cli(['import', '--index', 'bad', '--factory', 'Flat', '--dim', String(d), path.join(dir, 'seed.f32')], env)).code, 0);
    });
    for (const [name, content, extra, message] of cases) {
      it(`${name}: ${message.source.slice(0, 60)}...`, async () => {
        const file = path.join(dir, name);
        const gone = extra.includes('--gone');
        if (!gone) fs.writeFileSync(file, content());
        const target = extra.includes('--collection') ? ['--collection', `c-${name.replace(/\W/g, '')}`, '--factory', 'Flat'] : ['--index', 'bad'];
        const r = await cli(['import', ...target, ...extra.filter((a) => a !== '--gone' && a !== '--collection'), file], env);
        assert.equal(r.code, 2, r.stdout + r.stderr);
        assert.match(r.stderr, message);
        assert.ok(!/at .*\.js:\d+/.test(r.stderr), `a stack trace:\n${r.stderr}`);
        assert.equal((await stored('bad')).ntotal, 3, 'a bad file added nothing');
      });
    }
  });

  it('shows a bar with rate and ETA on a terminal (--progress bar), plain lines elsewhere', async () => {
    const file = path.join(dir, 'progress.fvecs');
    fs.writeFileSync(file, vecs(rows(100, 4), 4, 'fvecs'));
    const bar = await cli(['import', '--index', 'progress', '--factory', 'Flat', '--chunk-rows', '10', '--progress', 'bar', file], env);
    assert.equal(bar.code, 0, bar.stderr);
    assert.match(bar.stdout, /\rimport .*progress\.fvecs \[#+\.*\] +\d+% \d+ vectors, [\d.,]+ vectors\/s, ETA \w+/);
    assert.match(bar.stdout, /\[#{30}\] 100% 100 vectors/);
    const lines = await cli(['import', '--index', 'progress2', '--factory', 'Flat', '--chunk-rows', '10', file], env); // stdout is a pipe: lines
    assert.equal(lines.code, 0, lines.stderr);
    assert.ok(!lines.stdout.includes('\r'));
    assert.match(lines.stdout, /^import .*progress\.fvecs: 100\.0% 100 vectors, [\d.,]+ vectors\/s, ETA 0s$/m);
  });
});
