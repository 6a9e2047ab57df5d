// Every factory string of FAISS's index-factory documentation ("The index
// factory" on FAISS's wiki) that FAISS 1.7.3 parses, as a table: each either is
// built here, trained, filled and searched (with and without its nprobe /
// efSearch), with the answers of python3-faiss on the same state, and its index
// files read both ways; or is refused with its code, for the reason given.
//
// Training (k-means, PQ codebooks, PCA, OPQ) and HNSW graphs depend on rounding,
// which differs between the addon's FAISS (compiled for this CPU) and Debian's:
// so Python answers on the state JS trained (test/support/factory_table_oracle.py):
// it searches the index JS built (JS's file read by Python), and adds the same
// vectors to the index JS trained, whose file JS reads through the sandbox and
// searches. A row that needs no training and builds no graph is also built by
// Python from scratch. Training quality itself is conformance.test.ts's concern.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as faiss from '../../lib';
import { randomVectors } from '../support/data';
import { PYTHON, sameKnn, type KnnAnswer } from '../support/oracle';

const d = 32;
const k = 10;
const nlist = 16;
const L2 = faiss.METRIC_L2;
const IP = faiss.METRIC_INNER_PRODUCT;

type Setting = { nprobe?: number; efSearch?: number };
interface Row {
  factory: string;
  metric?: faiss.MetricType;
}
// Strings FAISS 1.7.3 parses that this binding builds (the allow-list of
// native/factory_check.h). nlist 16, d 32 and codebooks of a few thousand
// vectors: small enough to train in a second or two each. 8-bit PQs go without
// polysemous training ("np"), which alone takes tens of CPU-seconds each
// (PQ8, IVF16,PQ8 and HNSW16_PQ8 are the same classes with it).
const built: Row[] = [
  { factory: 'Flat' },
  { factory: 'Flat', metric: IP },
  { factory: 'IDMap,Flat' },
  { factory: 'IDMap2,Flat' },
  { factory: 'PQ8x6np' },
  { factory: 'PQ8np' },
  { factory: 'PQ8x4fs' },
  { factory: 'PQ8x4fs', metric: IP },
  { factory: 'SQ4' },
  { factory: 'SQ6' },
  { factory: 'SQ8' },
  { factory: 'SQfp16' },
  { factory: 'LSH' },
  { factory: 'LSHrt' },
  { factory: 'HNSW16' },
  { factory: 'HNSW16', metric: IP },
  { factory: 'HNSW16,SQ8' },
  { factory: 'HNSW16_PQ8np' },
  { factory: 'IDMap2,HNSW16' },
  { factory: `IVF${nlist},Flat` },
  { factory: `IVF${nlist},Flat`, metric: IP },
  { factory: `IVF${nlist},SQ8` },
  { factory: `IVF${nlist},SQfp16` },
  { factory: `IVF${nlist},PQ8x4` },
  { factory: `IVF${nlist},PQ8np` },
  { factory: `IVF${nlist},PQ8x4fs` },
  { factory: `IVF${nlist},PQ8x4fs`, metric: IP },
  { factory: `IVF${nlist},PQ8x4fsr` },
  { factory: `IVF${nlist}_HNSW8,Flat` },
  { factory: `IDMap,IVF${nlist},PQ8x4fs` },
  { factory: `IDMap2,IVF${nlist},SQ8` },
  { factory: `PCA16,IVF${nlist},Flat` },
  { factory: `PCAR16,IVF${nlist},SQ8` },
  { factory: 'PCAW16,Flat' },
  { factory: `L2norm,IVF${nlist},Flat`, metric: IP },
  { factory: `OPQ4_16,IVF${nlist},PQ4x4` },
  { factory: `OPQ8,IVF${nlist},PQ8x4fsr` },
  { factory: 'Flat,RFlat' },
  { factory: `IVF${nlist},PQ8x4fs,RFlat` },
  { factory: `IVF${nlist},PQ8x4,RFlat` },
  { factory: 'HNSW16,RFlat' },
];

// Strings FAISS 1.7.3 parses that this binding refuses, with why.
const refused: { factory: string; code: string; why: string }[] = [
  { factory: 'NSG32,Flat', code: 'ERR_UNSUPPORTED', why: 'FAISS 1.7.3 NSG crashes when searched empty and its graph cannot be checked when read' },
  { factory: `IVF${nlist}_NSG32,Flat`, code: 'ERR_UNSUPPORTED', why: 'an NSG coarse quantizer, as NSG' },
  { factory: 'IMI2x4,Flat', code: 'ERR_UNSUPPORTED', why: 'MultiIndexQuantizer: outside the allow-list, and its files are not checked by the reader' },
  { factory: 'Residual4x4,PQ8', code: 'ERR_UNSUPPORTED', why: 'Index2Layer: outside the allow-list, and its files are not checked by the reader' },
  { factory: `IVF${nlist},PQ8+8`, code: 'ERR_UNSUPPORTED', why: 'IVFPQR crashes on ordinary use in FAISS 1.7.3' },
  { factory: `IVF${nlist},FlatDedup`, code: 'ERR_UNSUPPORTED', why: 'IVFFlatDedup: outside the allow-list, and its files are not checked by the reader' },
  { factory: 'ITQ16,LSHt', code: 'ERR_UNSUPPORTED', why: 'ITQ transforms: outside the allow-list, and the reader does not check them' },
  { factory: 'RR32,Flat', code: 'ERR_UNSUPPORTED', why: 'random rotation: outside the allow-list of the factory (its files are read)' },
  { factory: 'Pad64,Flat', code: 'ERR_UNSUPPORTED', why: 'padding transform: outside the allow-list' },
  { factory: 'PQ8x4fs,Refine(Flat)', code: 'ERR_UNSUPPORTED', why: 'parenthesised sub-indexes are not parsed by the allow-list (",RFlat" is)' },
  { factory: `IVF${nlist},PQ8,Refine(SQfp16)`, code: 'ERR_UNSUPPORTED', why: 'as PQ8x4fs,Refine(Flat)' },
  { factory: `IVF${nlist}(PQ8),Flat`, code: 'ERR_UNSUPPORTED', why: 'a parenthesised coarse quantizer, as PQ8x4fs,Refine(Flat)' },
  { factory: 'RQ4x8', code: 'ERR_UNSUPPORTED', why: 'the additive quantizers crash on ordinary use in FAISS 1.7.3' },
  { factory: 'LSQ4x8', code: 'ERR_UNSUPPORTED', why: 'as RQ' },
  { factory: 'PRQ2x2x8', code: 'ERR_UNSUPPORTED', why: 'as RQ' },
  { factory: 'RQ4x4fs_Nrq2x4', code: 'ERR_UNSUPPORTED', why: 'as RQ (fast-scan additive quantizer)' },
  { factory: `IVF${nlist},RQ4x8`, code: 'ERR_UNSUPPORTED', why: 'as RQ' },
  { factory: 'IDMap,Flat,RFlat', code: 'ERR_UNSUPPORTED', why: 'the refine step takes the IDMap\'s ids for positions' },
  { factory: 'PQ8x4fs_64', code: 'ERR_INVALID_ARGUMENT', why: 'fast scan with a block size other than 32 aborts FAISS 1.7.3 on some searches' },
];

/** The settings each row is searched with: its own, then each override. */
function settingsOf(index: faiss.Index): Setting[] {
  if (index.nprobe !== undefined) return [{}, { nprobe: 4 }, { nprobe: nlist }];
  if (index.efSearch !== undefined) return [{}, { efSearch: 4 }, { efSearch: 64 }];
  return [{}];
}

interface PyRow {
  type: string;
  jsFile: KnnAnswer[];
  pyFile: KnnAnswer[];
  scratch?: KnnAnswer[];
}

// Fast scan quantizes each query's distance tables to 8 bits: where the two
// builds' float tables differ in their last bits (more so after a rotation such
// as OPQ's), an entry can fall into the next step, and a distance moves by up to
// a few steps of the table's scale, a fraction of a percent.
const FAST_SCAN_TOLERANCE = 1e-2;
const toleranceOf = (factory: string): number | undefined => (/x4fs/.test(factory) ? FAST_SCAN_TOLERANCE : undefined);

const answer = (r: faiss.SearchResult): KnnAnswer => ({ distances: r.distances, labels: Array.from(r.labels, Number) });

describe('every index-factory string FAISS 1.7.3 parses: built and searched as python3-faiss does, or refused', function () {
  this.timeout(300_000);
  const workdir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-factory-table-'));
  const xt = randomVectors(3000, d, 21);
  const xb = randomVectors(2000, d, 22);
  const xq = randomVectors(20, d, 23);
  const ids = Array.from({ length: 2000 }, (_, i) => 5 + i * 3);
  const indexes: faiss.Index[] = [];
  const settings: Setting[][] = [];
  const js: KnnAnswer[][] = [];
  const viaField: KnnAnswer[][] = [];
  let py: PyRow[];

  before(async () => {
    faiss.setNumThreads(1); // HNSW construction is only deterministic on one thread
    try {
      for (const [i, row] of built.entries()) {
        const index = faiss.indexFactory(d, row.factory, row.metric ?? L2);
        indexes.push(index);
        if (!index.isTrained) await index.train(xt);
        await faiss.writeIndex(index, path.join(workdir, `js-trained-${i}.index`));
        if (row.factory.startsWith('IDMap')) await index.addWithIds(xb, ids);
        else await index.add(xb);
        await faiss.writeIndex(index, path.join(workdir, `js-${i}.index`));
        settings.push(settingsOf(index));
      }
    } finally {
      faiss.setNumThreads(0);
    }
    for (const [i, index] of indexes.entries()) {
      // Per call, then through the index's own nprobe / efSearch, as Python sets them.
      js.push(await Promise.all(settings[i].map(async (s) => answer(await index.search(xq, k, s)))));
      const field: KnnAnswer[] = [];
      for (const s of settings[i]) {
        if (s.nprobe !== undefined) index.nprobe = s.nprobe;
        if (s.efSearch !== undefined) index.efSearch = s.efSearch;
        field.push(answer(await index.search(xq, k)));
      }
      viaField.push(field);
    }
    fs.writeFileSync(path.join(workdir, 'xt.f32'), xt);
    fs.writeFileSync(path.join(workdir, 'xb.f32'), xb);
    fs.writeFileSync(path.join(workdir, 'xq.f32'), xq);
    const rows = built.map((row, i) => ({
      factory: row.factory,
      metric: row.metric ?? L2,
      withIds: row.factory.startsWith('IDMap'),
      settings: settings[i],
      scratch: faiss.indexFactory(d, row.factory).isTrained && !/HNSW/.test(row.factory),
    }));
    fs.writeFileSync(path.join(workdir, 'spec.json'), JSON.stringify({ d, k, ids, rows }));
    const script = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'factory_table_oracle.py');
    execFileSync(PYTHON, [script, workdir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 240_000 });
    py = JSON.parse(fs.readFileSync(path.join(workdir, 'python.json'), 'utf8'));
  });

  after(() => {
    for (const index of indexes) index.dispose();
    fs.rmSync(workdir, { recursive: true, force: true });
  });

  for (const [i, row] of built.entries()) {
    const name = `${row.factory}${row.metric === IP ? ' (inner product)' : ''}`;
    it(`${name}: the class Python builds; the answers Python gives on JS's index, per call and through the index's fields; Python's file read here`, async () => {
      const what = (j: number): string => `${name} ${JSON.stringify(settings[i][j])}`;
      const same = (a: KnnAnswer, b: KnnAnswer): string | null => sameKnn(a, b, k, toleranceOf(row.factory));
      // This binding names a flat index by its metric, as Python's constructors do.
      assert.equal(indexes[i].typeName.replace(/^IndexFlat(L2|IP)$/, 'IndexFlat'), py[i].type);
      settings[i].forEach((_, j) => {
        assert.equal(same(js[i][j], py[i].jsFile[j]), null, `${what(j)}, per call: ${same(js[i][j], py[i].jsFile[j])}`);
        assert.equal(same(viaField[i][j], py[i].jsFile[j]), null, `${what(j)}, set on the index: ${same(viaField[i][j], py[i].jsFile[j])}`);
        if (py[i].scratch) assert.equal(same(js[i][j], py[i].scratch[j]), null, `${what(j)}, Python's own build: ${same(js[i][j], py[i].scratch[j])}`);
      });
      // Each setting reaches the search: nprobe or efSearch changes some answer.
      if (settings[i].length > 1) {
        const labels = js[i].map((a) => Array.from(a.labels).join());
        assert.ok(new Set(labels).size > 1, `${name}: the same labels with every setting ${JSON.stringify(settings[i])}`);
      }
      const fromPython = await faiss.readIndex(path.join(workdir, `py-${i}.index`));
      try {
        for (const [j, s] of settings[i].entries()) {
          const got = answer(await fromPython.search(xq, k, s));
          assert.equal(same(got, py[i].pyFile[j]), null, `${what(j)}, Python's file: ${same(got, py[i].pyFile[j])}`);
        }
      } finally {
        fromPython.dispose();
      }
    });
  }

  for (const r of refused) {
    it(`${r.factory}: ${r.code} (${r.why})`, () => {
      assert.throws(() => faiss.indexFactory(d, r.factory), (e: faiss.FaissError) => e.code === r.code && e.message.includes(r.factory.split(',')[0].replace(/\(.*/, '')));
    });
  }

  it('each refused string is one FAISS 1.7.3 parses (Python builds it)', () => {
    const script = `
import faiss, json, sys
out = []
for s in json.loads(sys.argv[1]):
    try:
        faiss.index_factory(${d}, s); out.append(None)
    except RuntimeError as e:
        out.append(str(e).splitlines()[-1][:200])
print(json.dumps(out))
`;
    const errors: (string | null)[] = JSON.parse(execFileSync(PYTHON, ['-c', script, JSON.stringify(refused.map((r) => r.factory))], { encoding: 'utf8' }));
    refused.forEach((r, i) => assert.equal(errors[i], null, `${r.factory}: ${errors[i]}`));
  });
});
