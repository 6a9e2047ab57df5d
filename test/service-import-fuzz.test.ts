// A corrupt index file is a 400, never a crash: exports of several index types
// with bytes flipped or cut are imported, then searched; the server must answer
// every request and stay up.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { randomVectors, rng } from './support/data';
import { client, makeTenant, startServer, type ServerProcess } from './support/server';

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
        assert.ok(r.status < 500, `import ${i}: ${r.status} ${JSON.stringify(r.json)}`);
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
});
