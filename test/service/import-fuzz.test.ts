// A corrupt index file is a 4xx, never a crash: exports of several index types
// with bytes flipped or cut, the crash suite's crafted files and the fuzzer's
// mutations are imported, then searched; the server must answer every request
// with a 2xx or a 4xx and stay up, and another tenant's searches go on.
import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomVectors, rng } from '../support/data';
import { mutations, sample, traceReads, validFile } from '../support/index-file-fuzz';
import { PYTHON } from '../support/oracle';
import { client, makeTenant, startServer, type ServerProcess } from '../support/server';

const CRAFTED = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'crafted_index_files.py');

const d = 8;
const bytes = (a: ArrayBufferView): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('service: importing damaged index files', function () {
  this.timeout(180_000);
  let s: ServerProcess;
  let api: ReturnType<typeof client>;

  before(async () => {
    s = await startServer();
    api = client(s.url, (await makeTenant(s, 'fuzz')).write);
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  for (const spec of [
    { type: 'IndexHNSWFlat', params: { M: 8 } },
    { type: 'IndexIVFFlat', params: { nlist: 4 } },
    { type: 'IndexIVFPQ', params: { nlist: 4, m: 4, nbits: 4 } },
    { type: 'IndexFlatL2', params: { idMap: true } },
    { type: 'IndexScalarQuantizer' },
  ]) {
    it(`${spec.type}: 150 damaged copies give 2xx or 4xx, and the server stays up`, async () => {
      const name = `src-${spec.type}`;
      assert.equal((await api.post('/v1/indexes', { name, dimension: d, ...spec })).status, 201);
      const xb = randomVectors(300, d, 5);
      if (spec.type.includes('IVF')) await api.post(`/v1/indexes/${name}/train`, undefined, { body: bytes(xb) });
      if ((spec.params as { idMap?: boolean } | undefined)?.idMap) {
        await api.post(`/v1/indexes/${name}/add?ids=true`, undefined, { body: Buffer.concat([bytes(xb), bytes(BigInt64Array.from({ length: 300 }, (_, i) => BigInt(i)))]) });
      } else {
        await api.post(`/v1/indexes/${name}/add`, undefined, { body: bytes(xb) });
      }
      const good = (await api.get(`/v1/indexes/${name}/export`)).bytes;
      const next = rng(spec.type.length * 97);
      const statuses = new Map<number, number>();
      for (let i = 0; i < 150; i++) {
        const bad = Buffer.from(good);
        if (i % 10 === 9) {
          bad.subarray(0, Math.floor(next() * bad.length)); // truncated below
        } else {
          for (let f = 0; f < 1 + (i % 3); f++) bad[Math.floor(next() * Math.min(bad.length, 400))] ^= 1 << Math.floor(next() * 8);
        }
        const body = i % 10 === 9 ? bad.subarray(0, Math.floor(next() * bad.length)) : bad;
        const r = await api.put(`/v1/indexes/fuzzed/import`, { body });
        statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
        assert.ok(r.status >= 200 && r.status < 500, `import ${i}: ${r.status} ${JSON.stringify(r.json)}`);
        if (r.status < 300) {
          const q = await api.post('/v1/indexes/fuzzed/search?k=3', undefined, { body: bytes(randomVectors(2, d, i)) });
          assert.ok(q.status < 500, `search after import ${i}: ${q.status}`);
        }
      }
      assert.equal(s.proc.exitCode, null, 'the server is still running');
      assert.equal((await api.get('/v1/indexes')).status, 200);
      assert.ok((statuses.get(400) ?? 0) > 0, `statuses ${JSON.stringify([...statuses])}`);
    });
  }

  describe('crafted files and fuzzer mutations', () => {
    let neighbour: ReturnType<typeof client>;
    let dir: string;
    const q = Buffer.from(randomVectors(1, d, 77).buffer);

    before(async () => {
      neighbour = client(s.url, (await makeTenant(s, 'neighbour')).write);
      assert.equal((await neighbour.post('/v1/indexes', { name: 'n', dimension: d, type: 'IndexFlatL2' })).status, 201);
      await neighbour.post('/v1/indexes/n/add', undefined, { body: Buffer.from(randomVectors(50, d, 78).buffer) });
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'import-crafted-'));
      execFileSync(PYTHON, [CRAFTED, dir], { stdio: ['ignore', 'ignore', 'ignore'], timeout: 120_000 });
    });
    after(() => fs.rmSync(dir, { recursive: true, force: true }));

    async function neighbourStillAnswers(): Promise<void> {
      const r = await neighbour.post('/v1/indexes/n/search?k=1', undefined, { body: q });
      assert.equal(r.status, 200);
    }

    it('every crash-suite file is refused with a 4xx, and the server and its other tenants go on', async () => {
      const files = fs.readdirSync(dir).filter((f) => !f.startsWith('valid-'));
      assert.ok(files.length >= 25, files.join());
      for (const f of files) {
        const r = await api.put('/v1/indexes/crafted/import', { body: fs.readFileSync(path.join(dir, f)) });
        assert.ok(r.status === 400 || r.status === 422, `${f}: ${r.status} ${JSON.stringify(r.json)}`);
        assert.match(String((r.json as { error?: { code?: string } }).error?.code), /^ERR_(CORRUPT_INDEX|UNSUPPORTED)$/, f);
        await neighbourStillAnswers();
      }
      assert.equal(s.proc.exitCode, null, 'the server is still running');
    });

    for (const type of ['PQ', 'IVFPQ', 'HNSW', 'IVFSQ', 'IDMap2']) {
      it(`${type}: 25 fuzzer mutations give 2xx or 4xx, and searches after an accepted one too`, async () => {
        const valid = await validFile(type);
        for (const m of sample(mutations(valid, traceReads(valid), 5, 40), 25)) {
          const r = await api.put('/v1/indexes/mutated/import', { body: m.bytes });
          assert.ok(r.status >= 200 && r.status < 500, `${m.name}: ${r.status} ${JSON.stringify(r.json)}`);
          if (r.status < 300) {
            const found = await api.post('/v1/indexes/mutated/search?k=3', undefined, { body: Buffer.from(randomVectors(2, (r.json as { dimension: number }).dimension, 1).buffer) });
            assert.ok(found.status >= 200 && found.status < 500, `search after ${m.name}: ${found.status}`);
          }
        }
        await neighbourStillAnswers();
        assert.equal(s.proc.exitCode, null, 'the server is still running');
      });
    }
  });
});
