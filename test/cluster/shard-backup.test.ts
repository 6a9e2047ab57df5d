// Backup of a cluster's sharded indexes that are not flat (docs/cluster.md
// "Export and import of a sharded index"): IVF (flat and SQ codes) and PQ under an IDMap export as
// one FAISS file (the shards merged), HNSW as the archive of its shards' files;
// the whole cluster is wiped (every NATS server and proxy stopped, a new cluster
// started on empty stores), the indexes made again and imported, and they answer
// exactly as before. Hostile archives are refused with a 4xx by nodes that stay
// up (each node is a child process: a crash would show as its exit).
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { deserializeIndex } from '../../lib';
import { hashedVector } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import type { ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startClusterWithTenant, stopCluster, type TenantKeys } from '../support/cluster-fixture';

const D = 8;
const vector = (i: number): number[] => hashedVector(i, D);
const IDS = Array.from({ length: 1500 }, (_, i) => 10_000 + 7 * i);
const GONE = [IDS[2], IDS[500], IDS[1499]];
/** Fewer than 20 queries: FAISS's coarse search then runs its sequential code, the same in a shard as in one index. */
const QUERIES = Array.from({ length: 12 }, (_, q) => vector(90_000 + q));
const K = 10;
const CLI = path.resolve(__dirname, '..', '..', 'service', 'cli.js');
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), 'shard-backup-'));

interface Spec {
  name: string;
  factory: string;
  shards: number;
  params?: Record<string, number>;
  /** What its export is: one FAISS file (the shards merged) or the archive of the shards' files. */
  exports: 'faiss' | 'archive';
}
const SPECS: Spec[] = [
  { name: 'ivf', factory: 'IVF8,Flat', shards: 3, params: { nprobe: 3 }, exports: 'faiss' },
  { name: 'ivfsq', factory: 'IVF8,SQ8', shards: 2, params: { nprobe: 8 }, exports: 'faiss' },
  { name: 'pq', factory: 'IDMap,PQ4x4', shards: 2, exports: 'faiss' },
  { name: 'hnsw', factory: 'IDMap,HNSW16', shards: 3, exports: 'archive' },
];
const trains = (factory: string): boolean => /IVF|PQ|SQ/.test(factory);

type Api = ReturnType<typeof client>;
type TopK = { distances: number[][]; labels: number[][] };

/** An archive as docs/cluster.md lays it out, from a manifest and files (the test's own writer: hostile ones too). */
function archive(manifest: unknown, files: Buffer[]): Buffer {
  const m = Buffer.from(typeof manifest === 'string' ? manifest : JSON.stringify(manifest));
  const n = Buffer.alloc(4);
  n.writeUInt32LE(m.length);
  return Buffer.concat([Buffer.from('FPSHARDS'), n, m, ...files]);
}
/** The manifest and files of an archive (read as docs/cluster.md lays it out). */
function unpack(a: Buffer): { manifest: { shards: number; factory: string; dimension: number; metric: string; files: { bytes: number; sha256: string }[] }; files: Buffer[] } {
  assert.equal(a.subarray(0, 8).toString('latin1'), 'FPSHARDS');
  const n = a.readUInt32LE(8);
  const manifest = JSON.parse(a.subarray(12, 12 + n).toString('utf8'));
  const files: Buffer[] = [];
  let at = 12 + n;
  for (const f of manifest.files) {
    assert.equal(createHash('sha256').update(a.subarray(at, at + f.bytes)).digest('hex'), f.sha256);
    files.push(a.subarray(at, at + f.bytes));
    at += f.bytes;
  }
  assert.equal(at, a.length);
  return { manifest, files };
}
const described = (manifest: ReturnType<typeof unpack>['manifest'], files: Buffer[]) => ({
  ...manifest,
  files: files.map((f) => ({ bytes: f.length, sha256: createHash('sha256').update(f).digest('hex') })),
});

describe('cluster: backup of sharded indexes (export, wipe, import)', function () {
  this.timeout(180_000);
  let nats: NatsCluster | undefined;
  let nodes: ProxyNode[] = [];
  let keys: TenantKeys;
  const api = (i: number): Api => client(nodes[i].url, keys.write);
  const exported = new Map<string, Buffer>();
  const answers = new Map<string, TopK>();
  const search = async (via: number, name: string): Promise<TopK> => {
    const r = await api(via).post(`/v1/indexes/${name}/search`, { vectors: QUERIES, k: K });
    assert.equal(r.status, 200, `${name}: ${JSON.stringify(r.json)}`);
    return { distances: r.json.distances, labels: r.json.labels };
  };
  const create = async (s: Spec, name = s.name, shards = s.shards) => {
    const r = await api(0).post('/v1/indexes', { name, dimension: D, factory: s.factory, shards, ...(s.params && { params: s.params }) });
    assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.json)}`);
  };
  const start = async () => {
    ({ nats, nodes, keys } = await startClusterWithTenant(['A', 'B']));
  };
  const stop = () => stopCluster(nats, nodes);
  /** Both nodes still running and answering (a crash shows here, as the node's exit). */
  const alive = async (what: string) => {
    for (const n of nodes) {
      assert.equal(n.proc.exitCode, null, `${what}: node ${n.node} exited: ${n.output().slice(-2000)}`);
      assert.equal((await client(n.url).get('/healthz')).status, 200, `${what}: node ${n.node}`);
    }
  };
  /** faiss-proxy import or export of a .faissindex file through node `via`. */
  const cli = (command: 'import' | 'export', via: number, name: string, file: string) =>
    new Promise<{ code: number | null; out: string; err: string }>((resolve) =>
      execFile(process.execPath, [CLI, command, '--url', nodes[via].url, '--index', name, file], { env: { ...process.env, FAISS_PROXY_API_KEY: keys.write }, encoding: 'utf8', timeout: 60_000 }, (e, out, err) =>
        resolve({ code: e ? ((e as { code?: number }).code ?? 1) : 0, out, err }),
      ),
    );
  before(start);
  after(async () => {
    await stop();
    fs.rmSync(DIR, { recursive: true, force: true });
  });

  it('exports IVF and PQ shards merged into one FAISS file that answers as the shards do, and HNSW shards as an archive', async () => {
    for (const s of SPECS) {
      await create(s);
      if (trains(s.factory)) {
        const t = await api(1).post(`/v1/indexes/${s.name}/train`, { vectors: Array.from({ length: 1000 }, (_, i) => vector(50_000 + i)) });
        assert.equal(t.status, 200, `${s.name}: ${JSON.stringify(t.json)}`);
      }
      for (let at = 0; at < IDS.length; at += 500) {
        const some = IDS.slice(at, at + 500);
        const r = await api(at % 1000 === 0 ? 0 : 1).post(`/v1/indexes/${s.name}/add`, { vectors: some.map(vector), ids: some });
        assert.equal(r.status, 200, `${s.name}: ${JSON.stringify(r.json)}`);
      }
      assert.equal((await api(1).post(`/v1/indexes/${s.name}/remove`, { ids: GONE })).json.removed, GONE.length);
      const file = await api(1).get(`/v1/indexes/${s.name}/export`);
      assert.equal(file.status, 200, `${s.name}: ${JSON.stringify(file.json)}`);
      exported.set(s.name, file.bytes);
      // What the shards answer (the export wrote copies rebuilt without the removed ids, as one index's does).
      const before = await search(0, s.name);
      answers.set(s.name, before);
      assert.ok(before.labels.every((row) => row.every((l) => l !== -1 && !GONE.includes(l))), s.name);
      assert.deepEqual(await search(1, s.name), before, `${s.name} through B`);
      if (s.exports === 'archive') {
        // faiss-proxy export writes the same bytes (the restore below imports them with faiss-proxy import).
        const exportedByCli = await cli('export', 0, s.name, path.join(DIR, `${s.name}.faissindex`));
        assert.equal(exportedByCli.code, 0, exportedByCli.err);
        assert.ok(fs.readFileSync(path.join(DIR, `${s.name}.faissindex`)).equals(file.bytes), `${s.name}: the CLI's file`);
        const { manifest, files } = unpack(file.bytes);
        assert.deepEqual({ ...manifest, files: undefined }, { format: 1, shards: s.shards, factory: s.factory, dimension: D, metric: 'L2', files: undefined });
        assert.equal(files.length, s.shards);
        continue;
      }
      assert.notEqual(file.bytes.subarray(0, 8).toString('latin1'), 'FPSHARDS', s.name);
      const one = await deserializeIndex(file.bytes);
      try {
        assert.equal(one.ntotal, IDS.length - GONE.length, s.name);
        if (s.params?.nprobe !== undefined) one.nprobe = s.params.nprobe;
        const r = await one.search(new Float32Array(QUERIES.flat()), K);
        const labels = Array.from({ length: QUERIES.length }, (_, q) => Array.from(r.labels.subarray(q * K, (q + 1) * K), Number));
        assert.deepEqual(labels, before.labels, `${s.name}: the merged file answers as the shards`);
        r.distances.forEach((d, i) => assert.ok(Math.abs(d - before.distances[Math.floor(i / K)][i % K]) <= 1e-4 * Math.max(1, d), `${s.name}: distance ${i}`));
      } finally {
        one.dispose();
      }
    }
  });

  it('restores every index into a wiped cluster: made again, imported, the same answers through every node', async () => {
    await stop();
    await start();
    for (const s of SPECS) {
      await create(s);
      if (s.exports === 'archive') {
        const r = await cli('import', 1, s.name, path.join(DIR, `${s.name}.faissindex`));
        assert.equal(r.code, 0, r.err);
        assert.equal(JSON.parse(r.out).ntotal, IDS.length - GONE.length, s.name);
      } else {
        const r = await api(1).put(`/v1/indexes/${s.name}/import`, { body: exported.get(s.name)! });
        assert.equal(r.status, 200, `${s.name}: ${JSON.stringify(r.json)}`);
        assert.equal(r.json.ntotal, IDS.length - GONE.length, s.name);
        assert.equal(r.json.shards, s.shards, s.name);
      }
      for (const via of [0, 1]) assert.deepEqual(await search(via, s.name), answers.get(s.name), `${s.name} through ${nodes[via].node}`);
      // Writes go on after the restore, to the shards their ids hash to.
      assert.equal((await api(0).post(`/v1/indexes/${s.name}/add`, { vectors: [vector(1)], ids: [1] })).status, 200, s.name);
      assert.equal((await api(1).get(`/v1/indexes/${s.name}`)).json.ntotal, IDS.length - GONE.length + 1, s.name);
      assert.equal((await api(1).post(`/v1/indexes/${s.name}/remove`, { ids: [1] })).json.removed, 1, s.name);
    }
    // One IVF file splits over any shard count; an archive restores only as many shards.
    await create(SPECS[0], 'ivfTwo', 2);
    const split = await api(0).put('/v1/indexes/ivfTwo/import', { body: exported.get('ivf')! });
    assert.equal(split.status, 200, JSON.stringify(split.json));
    assert.deepEqual((await search(1, 'ivfTwo')).labels, answers.get('ivf')!.labels);
    await create(SPECS[3], 'hnswTwo', 2);
    const fewer = await api(0).put('/v1/indexes/hnswTwo/import', { body: exported.get('hnsw')! });
    assert.equal(fewer.status, 422, JSON.stringify(fewer.json));
    assert.match(fewer.json.error.message, /shard for shard/);
    // Nor into an index that is not sharded, nor as a new index.
    for (const name of ['absent', 'ivfTwo']) {
      const r = await api(0).put(`/v1/indexes/${name}/import`, { body: exported.get('hnsw')! });
      assert.equal(r.status, 422, `${name}: ${JSON.stringify(r.json)}`);
    }
    // An HNSW graph cannot be cut: one HNSW file into sharded HNSW is refused, and says why.
    const { files } = unpack(exported.get('hnsw')!);
    const one = await api(0).put('/v1/indexes/hnswTwo/import', { body: files[0] });
    assert.equal(one.status, 422, JSON.stringify(one.json));
    assert.match(one.json.error.message, /archive/);
    await alive('after the refusals');
  });

  it('refuses hostile archives with a 4xx, leaving the index as it was and every node up', async () => {
    const good = exported.get('hnsw')!;
    const { manifest, files } = unpack(good);
    const flipped = Buffer.from(good);
    flipped[flipped.length - 100] ^= 0x40;
    const ivfFile = exported.get('ivf')!;
    const huge = Buffer.from(good);
    huge.writeUInt32LE(0xffffffff, 8);
    const cases: [string, Buffer, string][] = [
      ['truncated', good.subarray(0, good.length - 10), 'ERR_CORRUPT_INDEX'],
      ['a byte of a file changed', flipped, 'ERR_CORRUPT_INDEX'],
      ['bytes after the last file', Buffer.concat([good, Buffer.from([0])]), 'ERR_CORRUPT_INDEX'],
      ['a manifest length past the end', huge, 'ERR_CORRUPT_INDEX'],
      ['only the magic', Buffer.from('FPSHARDS'), 'ERR_CORRUPT_INDEX'],
      ['a manifest that is not JSON', archive('{"format":1,', files), 'ERR_CORRUPT_INDEX'],
      ['a manifest that is an array', archive([1, 2, 3], files), 'ERR_CORRUPT_INDEX'],
      ['format 2', archive({ ...described(manifest, files), format: 2 }, files), 'ERR_CORRUPT_INDEX'],
      ['more shards than files', archive({ ...described(manifest, files), shards: 4 }, files), 'ERR_CORRUPT_INDEX'],
      ['a length that lies', archive({ ...described(manifest, files), files: described(manifest, files).files.map((f, i) => (i === 0 ? { ...f, bytes: f.bytes - 1 } : f)) }, files), 'ERR_CORRUPT_INDEX'],
      ['a negative length', archive({ ...described(manifest, files), files: described(manifest, files).files.map((f, i) => (i === 1 ? { ...f, bytes: -5 } : f)) }, files), 'ERR_CORRUPT_INDEX'],
      ['shards 0 and 1 swapped (each one\'s ids belong to the other)', archive(described(manifest, [files[1], files[0], files[2]]), [files[1], files[0], files[2]]), 'ERR_INVALID_ARGUMENT'],
      ['a shard file cut short (its digest made to match)', archive(described(manifest, [files[0].subarray(0, files[0].length >> 1), files[1], files[2]]), [files[0].subarray(0, files[0].length >> 1), files[1], files[2]]), 'ERR_CORRUPT_INDEX'],
      ['a shard file of another type', archive(described(manifest, [ivfFile, files[1], files[2]]), [ivfFile, files[1], files[2]]), 'ERR_UNSUPPORTED'],
      ['another factory in the manifest', archive({ ...described(manifest, files), factory: 'IDMap,HNSW32' }, files), 'ERR_UNSUPPORTED'],
    ];
    for (const [what, body, code] of cases) {
      const r = await api(0).put('/v1/indexes/hnsw/import', { body });
      assert.equal(r.status, code === 'ERR_UNSUPPORTED' ? 422 : 400, `${what}: ${r.status} ${JSON.stringify(r.json)}`);
      assert.equal(r.json.error.code, code, `${what}: ${r.json.error.message}`);
      await alive(what);
    }
    // Random bytes changed in a shard's file, its digest made to match: refused, or taken as the valid index it still is, never a crash.
    let seed = 19;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff);
    await create(SPECS[3], 'hnswScratch');
    for (let round = 0; round < 8; round++) {
      const bad = Buffer.from(files[1]);
      for (let i = 0; i < 4; i++) bad[random() % bad.length] = random() & 0xff;
      const body = archive(described(manifest, [files[0], bad, files[2]]), [files[0], bad, files[2]]);
      const r = await api(round % 2).put('/v1/indexes/hnswScratch/import', { body });
      assert.ok([200, 400, 422].includes(r.status), `round ${round}: ${r.status} ${JSON.stringify(r.json)}`);
      await alive(`round ${round}`);
    }
    assert.deepEqual(await search(1, 'hnsw'), answers.get('hnsw'), 'the index refused every hostile archive');
  });
});
