// Index files written by a FAISS newer than the 1.7.3 this library is built on
// (pip's faiss-cpu 1.15, test/fixtures/newer-faiss/): those of types 1.7.3 knows
// read, through the sandbox and trusted, and answer what 1.15 answered on them;
// those of types added since are refused with ERR_UNSUPPORTED naming the type,
// not taken for damaged files (ERR_CORRUPT_INDEX), which truly damaged ones stay.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as faiss from '../../lib';
import { newerFaiss } from '../support/fixtures';
import { sameKnn } from '../support/oracle';

const { spec, queries, file } = newerFaiss();
const readable = Object.entries(spec.files).filter(([, f]) => f.labels);
const newer = Object.entries(spec.files).filter(([, f]) => f.unknownType);

const reads: [string, (name: string) => Promise<faiss.Index>][] = [
  ['readIndex (sandbox)', (name) => faiss.readIndex(file(name))],
  ['readIndex({ trusted: true })', (name) => faiss.readIndex(file(name), { trusted: true })],
  ['deserializeIndex (sandbox)', (name) => faiss.deserializeIndex(fs.readFileSync(file(name)))],
  ['deserializeIndex({ trusted: true })', (name) => faiss.deserializeIndex(fs.readFileSync(file(name)), { trusted: true })],
];

describe(`index files written by FAISS ${spec.faiss}`, function () {
  this.timeout(60_000);

  it('the fixtures are there: files FAISS 1.7.3 reads and files of newer types', () => {
    assert.ok(readable.length >= 11 && newer.length >= 5, `${readable.length} readable, ${newer.length} newer`);
  });

  for (const [name, f] of readable) {
    it(`${name} (${f.factory}): read by each path, searched ${JSON.stringify(f.tunables)}, gives ${spec.faiss}'s labels`, async () => {
      for (const [how, read] of reads) {
        const index = await read(name);
        try {
          // This binding names a flat index by its metric, as Python's constructors do.
          assert.equal(index.typeName.replace(/^IndexFlatL2$/, 'IndexFlat'), f.type, how);
          const r = await index.search(queries, spec.k, f.tunables);
          const diff = sameKnn({ distances: r.distances, labels: Array.from(r.labels, Number) }, { distances: f.distances!, labels: f.labels! }, spec.k);
          assert.equal(diff, null, `${how}: ${diff}`);
        } finally {
          index.dispose();
        }
      }
    });
  }

  for (const [name, f] of newer) {
    it(`${name} (${f.factory ?? f.class}): ERR_UNSUPPORTED naming type "${f.unknownType}", by each path`, async () => {
      for (const [how, read] of reads) {
        await assert.rejects(read(name), (e: faiss.FaissError) => {
          assert.equal(e.code, 'ERR_UNSUPPORTED', `${how}: ${e.message}`);
          assert.match(e.message, /written by a newer FAISS than 1\.7\.3/, how);
          assert.ok(e.message.includes(`"${f.unknownType}"`) && /Index|RaBitQ|Cagra/.test(e.message), `${how}: ${e.message}`);
          return true;
        });
      }
    });
  }

  it('a file whose type code is damaged (not one any FAISS writes) stays ERR_CORRUPT_INDEX', async () => {
    const bytes = Buffer.from(fs.readFileSync(file('ivfflat')));
    bytes.write('Iw?q', 0);
    for (const trusted of [false, true]) {
      await assert.rejects(faiss.deserializeIndex(bytes, { trusted }), (e: faiss.FaissError) => e.code === 'ERR_CORRUPT_INDEX' && /"Iw\?q"/.test(e.message));
    }
  });
});
