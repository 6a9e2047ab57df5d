// npm run bench:storage: what durability costs. (1) Acknowledged adds per second
// with the write-ahead log fsynced vs not, at 1, 8 and 32 concurrent writers,
// against the domain layer (IndexService) and, as a cross-check, over HTTP.
// (2) Snapshot save and cold load of a 1,000,000 x 128 flat index (512 MB), with
// the load compared to the disk's own sequential read speed measured in the same
// run. The machine is shared and noisy, so both sides of every comparison run
// side by side, interleaved; nothing asserts on time, targets are only reported.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { performance } from 'node:perf_hooks';
import { IndexFlatL2 } from '../lib';
import { connect } from '../lib/client';
import { defaults } from '../service/config';
import { openServices, type Services } from '../service/server';
import { FileSnapshotStore } from '../service/storage/snapshots';
import { FileIO } from '../service/storage/storage-io';
import { randomMatrix } from './lib/common';

const D = 128;
const BATCH = 100;
const WRITERS = [1, 8, 32];
// Each (writers, mode) cell gets ROUNDS x ROUND_S seconds; the rounds alternate
// which mode goes first, so a burst of load from a neighbour hits both alike.
const ROUNDS = 2;
const ROUND_S = 1.5;
const SNAPSHOT_N = 1_000_000;
const SAVES = 2;
const LOAD_ROUNDS = 3;
const TENANT = 'bench';
const RESULTS = path.join(__dirname, '..', '..', 'bench', 'results');

const vectors = (count: number, seed: number): Float32Array => randomMatrix(count, D, seed);

const MB = 1e6; // decimal, as dd reports
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return (s[(s.length - 1) >> 1] + s[s.length >> 1]) / 2;
};
const fmt = (x: number, digits = 0) => x.toFixed(digits).padStart(9);
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');

// --- I/O counters ---------------------------------------------------------------
// The log's flushes are FileHandle.writev + FileHandle.datasync (mutation-log.ts).
// Counting them on FileHandle's prototype, from here, leaves service/ untouched and
// tells how many records each datasync carried (the group-commit factor).
const io = { writevs: 0, datasyncs: 0, datasyncMs: 0 };
async function countLogIo(): Promise<void> {
  const h = await fs.promises.open(__filename, 'r');
  const proto = Object.getPrototypeOf(h) as fs.promises.FileHandle;
  await h.close();
  const { writev, datasync } = proto;
  proto.writev = function (this: fs.promises.FileHandle, ...a: Parameters<typeof writev>) {
    io.writevs++;
    return writev.apply(this, a);
  } as typeof writev;
  proto.datasync = async function (this: fs.promises.FileHandle) {
    const t = performance.now();
    try {
      return await datasync.apply(this);
    } finally {
      io.datasyncs++;
      io.datasyncMs += performance.now() - t;
    }
  };
}

interface Cell {
  adds: number;
  seconds: number;
  flushes: number;
  datasyncs: number;
  datasyncMs: number;
}
const emptyCell = (): Cell => ({ adds: 0, seconds: 0, flushes: 0, datasyncs: 0, datasyncMs: 0 });
const rate = (c: Cell) => c.adds / c.seconds;

/** `writers` loops adding BATCH vectors each until `seconds` pass; counts the acknowledged adds. */
async function hammer(writers: number, seconds: number, add: () => Promise<unknown>, into: Cell): Promise<void> {
  const before = { ...io };
  const start = performance.now();
  const end = start + seconds * 1000;
  let adds = 0;
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        await add();
        adds++;
      }
    }),
  );
  into.adds += adds;
  into.seconds += (performance.now() - start) / 1000; // includes the adds still in flight at the deadline
  into.flushes += io.writevs - before.writevs;
  into.datasyncs += io.datasyncs - before.datasyncs;
  into.datasyncMs += io.datasyncMs - before.datasyncMs;
}

/** Runs every (writers, mode) cell, the modes interleaved; `round` runs one timed round on a fresh index. */
async function matrix(round: (fsync: boolean, writers: number, seconds: number, into: Cell) => Promise<void>) {
  await round(true, 8, 0.5, emptyCell()); // warm-up: JIT, first allocations
  await round(false, 8, 0.5, emptyCell());
  const rows: { writers: number; fsync: Cell; noFsync: Cell }[] = [];
  for (const writers of WRITERS) {
    const row = { writers, fsync: emptyCell(), noFsync: emptyCell() };
    for (let r = 0; r < ROUNDS; r++) {
      for (const fsync of r % 2 === 0 ? [true, false] : [false, true]) {
        await round(fsync, writers, ROUND_S, fsync ? row.fsync : row.noFsync);
      }
    }
    rows.push(row);
  }
  return rows;
}

function printAdds(title: string, rows: Awaited<ReturnType<typeof matrix>>, showIo: boolean): void {
  console.log(`\n${title}`);
  console.log(`  writers |  adds/s fsync | adds/s no-fsync |  ratio${showIo ? ' | adds per datasync | ms per datasync' : ''}`);
  for (const { writers, fsync, noFsync } of rows) {
    const extra = showIo ? ` | ${fmt(fsync.adds / fsync.datasyncs, 1).padStart(17)} | ${fmt(fsync.datasyncMs / fsync.datasyncs, 2).padStart(15)}` : '';
    console.log(`  ${String(writers).padStart(7)} | ${fmt(rate(fsync)).padStart(13)} | ${fmt(rate(noFsync)).padStart(15)} | ${(rate(fsync) / rate(noFsync)).toFixed(2).padStart(6)}${extra}`);
  }
  const at32 = rows.find((r) => r.writers === 32)!;
  const ratio = rate(at32.fsync) / rate(at32.noFsync);
  console.log(`  target: fsync/no-fsync >= 0.5 at 32 writers: ${ratio.toFixed(2)} -> ${met(ratio >= 0.5)}`);
}

// --- 1. acknowledged adds, domain layer ----------------------------------------
async function domainAdds(tmp: string) {
  // Snapshots are measured in part 2; here a snapshot triggered by the log's size
  // would stall the faster (no-fsync) side more often, so the threshold is lifted.
  const open = (fsync: boolean): Services => {
    const s = openServices({ ...defaults(), dataDir: path.join(tmp, fsync ? 'fsync' : 'no-fsync'), fsync, snapshotLogBytes: 2 ** 50 });
    s.tenants.create(TENANT, { maxVectors: 2 ** 40, maxBytes: 2 ** 50 });
    return s;
  };
  const services = { on: open(true), off: open(false) };
  let n = 0;
  try {
    const x = vectors(BATCH, 1); // one batch for every add: its content does not matter to the log
    return await matrix(async (fsync, writers, seconds, into) => {
      const s = fsync ? services.on : services.off;
      const name = `i${n++}`;
      await s.indexes.create(TENANT, { name, dimension: D, type: 'IndexFlatL2' });
      await hammer(writers, seconds, () => s.indexes.add(TENANT, name, x), into);
      await s.indexes.delete(TENANT, name); // frees the vectors, removes the log
      execFileSync('sync'); // the no-fsync side's dirty pages must not be written back during the next round
    });
  } finally {
    for (const s of [services.on, services.off]) {
      await s.indexes.close();
      s.catalog.close();
    }
  }
}

// --- 1b. acknowledged adds over HTTP (a real server per mode) -------------------
async function startServer(dataDir: string, fsync: boolean, adminKey: string) {
  const args = ['serve', '--port', '0', '--data-dir', dataDir, '--fsync', String(fsync), '--snapshot-log-bytes', String(2 ** 50)];
  args.push('--max-vectors', String(2 ** 40), '--max-bytes', String(2 ** 50));
  const child = spawn(process.execPath, [path.join(__dirname, '..', 'service', 'cli.js'), ...args], {
    env: { ...process.env, FAISS_PROXY_ADMIN_KEY: adminKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    // Kept draining after the start line: a full pipe would stall a server that logs.
    child.stdout!.on('data', (c) => {
      out = (out + c).slice(-4096);
      const m = /listening on (\S+)/.exec(out);
      if (m) resolve(m[1]);
    });
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { child, client: connect({ url, apiKey: adminKey }) };
}

async function httpAdds(tmp: string) {
  const adminKey = `fp_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  const servers: Awaited<ReturnType<typeof startServer>>[] = [];
  try {
    servers.push(await startServer(path.join(tmp, 'http-fsync'), true, adminKey));
    servers.push(await startServer(path.join(tmp, 'http-no-fsync'), false, adminKey));
    const x = vectors(BATCH, 2);
    let n = 0;
    return await matrix(async (fsync, writers, seconds, into) => {
      const { client } = servers[fsync ? 0 : 1];
      const index = new client.IndexFlatL2(D, { name: `h${n++}` });
      await index.refresh(); // creates it on the server
      await hammer(writers, seconds, () => index.add(x), into);
      await index.drop();
      execFileSync('sync');
    });
  } finally {
    for (const { child } of servers) {
      child.kill('SIGTERM');
      if (child.exitCode === null) await new Promise((r) => child.once('exit', r));
    }
  }
}

// --- 2. snapshot save and cold load ------------------------------------------------
/** Empties the page cache so the next read comes from the disk; false when not allowed. */
function dropCaches(): boolean {
  try {
    execFileSync('sync');
    fs.writeFileSync('/proc/sys/vm/drop_caches', '3');
    return true;
  } catch {
    return false;
  }
}

/** Sequential read through the page cache, 8 MB at a time (as a program reading the file would). */
function readBuffered(file: string): number {
  const buf = Buffer.allocUnsafe(8 * MB);
  const fd = fs.openSync(file, 'r');
  try {
    let total = 0;
    for (let got; (got = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) total += got;
    return total;
  } finally {
    fs.closeSync(fd);
  }
}

/** Seconds to load the snapshot (freeing it afterwards is not counted). */
async function loadOnce(store: FileSnapshotStore): Promise<number> {
  const t = performance.now();
  const snap = await store.load('snap');
  const seconds = (performance.now() - t) / 1000;
  if (snap!.index.ntotal !== SNAPSHOT_N) throw new Error(`loaded ${snap!.index.ntotal} vectors`);
  snap!.index.dispose();
  return seconds;
}

/** Times loads from a cold cache (when allowed), `rounds` times, after one untimed warm-up. */
async function coldLoads(store: FileSnapshotStore, rounds: number, cold: boolean): Promise<number[]> {
  // The warm-up faults in FAISS's reader code: drop_caches keeps only pages some
  // process has mapped, so the first load of a process also reads code from disk.
  await loadOnce(store);
  const seconds: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (cold) dropCaches();
    seconds.push(await loadOnce(store));
  }
  return seconds;
}

async function snapshots(tmp: string) {
  const bytes = SNAPSHOT_N * D * 4;
  const free = fs.statfsSync(tmp);
  const freeDisk = free.bavail * free.bsize;
  const freeMem = os.freemem();
  console.log(`\nsnapshot of a ${SNAPSHOT_N} x ${D} flat index (${(bytes / MB).toFixed(0)} MB); free disk ${(freeDisk / 2 ** 30).toFixed(1)} GiB, free memory ${(freeMem / 2 ** 30).toFixed(1)} GiB`);
  // Disk: the snapshot and its temporary during the second save. Memory: the index
  // plus the one loaded back, plus a chunk of vectors.
  if (freeDisk < 3 * bytes || freeMem < 3 * bytes) {
    console.log('  skipped: not enough free disk or memory');
    return undefined;
  }
  const dataDir = path.join(tmp, 'snapshots');
  const store = new FileSnapshotStore(dataDir, new FileIO());
  const index = new IndexFlatL2(D);
  const CHUNK = 100_000;
  for (let i = 0; i < SNAPSHOT_N; i += CHUNK) await index.add(vectors(CHUNK, i + 7)); // random bytes: nothing for the disk to compress
  const cold = dropCaches();
  if (!cold) console.log('  cannot drop the page cache (/proc/sys/vm/drop_caches): the read figures below are warm');
  const saveS: number[] = [];
  try {
    for (let r = 0; r < SAVES; r++) {
      execFileSync('sync'); // start with nothing dirty
      const t = performance.now();
      await store.save('snap', index, r + 1, { tombstones: [], nextId: null }); // writeIndex, fsync, rename, fsync dir
      saveS.push((performance.now() - t) / 1000);
    }
  } finally {
    index.dispose();
  }
  const file = path.join(store.dir, fs.readdirSync(store.dir).find((f) => f.endsWith('.faissindex'))!);
  const size = fs.statSync(file).size;
  // Each round reads the file from a cold cache three ways: O_DIRECT with dd,
  // through the page cache 8 MB at a time, and as a snapshot load; order alternating.
  const direct: number[] = [];
  const buffered: number[] = [];
  const load: number[] = [];
  const timed = (into: number[], fn: () => unknown) => async () => {
    if (cold) dropCaches();
    const t = performance.now();
    await fn();
    into.push((performance.now() - t) / 1000);
  };
  const steps = [
    timed(direct, () => execFileSync('dd', [`if=${file}`, 'of=/dev/null', 'bs=8M', 'iflag=direct'], { stdio: 'ignore' })),
    timed(buffered, () => {
      if (readBuffered(file) !== size) throw new Error('short read');
    }),
    async () => {
      if (cold) dropCaches();
      load.push(await loadOnce(store));
    },
  ];
  await loadOnce(store); // warm-up, as in coldLoads()
  for (let r = 0; r < LOAD_ROUNDS; r++) for (const step of r % 2 === 0 ? steps : [...steps].reverse()) await step();
  // Where a load's time goes that the disk does not take: the same load from a warm cache.
  const warm = await coldLoads(store, 2, false);
  // The same cold load in a child process whose malloc asks for transparent huge
  // pages (THP is "madvise" here): FAISS zero-fills the 512 MB vector before
  // reading into it, and with 4 KB pages that is 131,072 page faults.
  const huge = JSON.parse(
    execFileSync(process.execPath, [__filename, '--cold-loads', dataDir, String(LOAD_ROUNDS), String(cold)], {
      env: { ...process.env, GLIBC_TUNABLES: 'glibc.malloc.hugetlb=1' },
    }).toString(),
  ) as number[];
  const mbps = (s: number) => size / MB / s;
  const disk = Math.max(mbps(median(direct)), mbps(median(buffered))); // the faster way to read the disk is the yardstick
  const c = cold ? 'cold' : 'WARM';
  const row = (name: string, xs: number[]) =>
    console.log(`  ${name.padEnd(50)} | ${fmt(mbps(median(xs)))} | ${fmt(mbps(Math.min(...xs)))} | ${xs.map((s) => s.toFixed(2)).join(', ')}`);
  console.log(`  ${''.padEnd(50)} | MB/s median | MB/s best | seconds each`);
  row('snapshot save (FileSnapshotStore.save)', saveS);
  row(`snapshot load (FileSnapshotStore.load), ${c}`, load);
  row(`disk read, dd O_DIRECT 8 MB, ${c}`, direct);
  row(`disk read, buffered 8 MB reads, ${c}`, buffered);
  row('diagnostic: snapshot load, warm cache', warm);
  row(`snapshot load, ${c}, as the service runs (huge pages)`, huge);
  // The service runs with glibc.malloc.hugetlb=1 (scripts/start.sh, npm start):
  // FAISS zero-fills the whole index buffer before reading into it, and with 4 KB
  // pages those page faults, not the disk, bound the load.
  const share = mbps(median(huge)) / disk;
  console.log(`  load as the service runs = ${(share * 100).toFixed(1)}% of the disk's sequential read (${disk.toFixed(0)} MB/s, medians); target >= 50%: ${met(share >= 0.5)}${cold ? '' : ' (warm figures)'}`);
  console.log(`  without huge pages (plain node): ${((mbps(median(load)) / disk) * 100).toFixed(1)}%`);
  return {
    fileBytes: size,
    coldCache: cold,
    seconds: { save: saveS, load, diskDirect: direct, diskBuffered: buffered, warmLoad: warm, hugePageLoad: huge },
    mbpsMedian: { save: mbps(median(saveS)), load: mbps(median(load)), disk, warmLoad: mbps(median(warm)), hugePageLoad: mbps(median(huge)) },
    loadShareOfDisk: share,
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-storage-'));
  const cells = (rows: Awaited<ReturnType<typeof matrix>>) =>
    rows.map(({ writers, fsync, noFsync }) => ({ writers, fsync: { ...fsync, addsPerS: rate(fsync) }, noFsync: { ...noFsync, addsPerS: rate(noFsync) }, ratio: rate(fsync) / rate(noFsync) }));
  try {
    await countLogIo();
    console.log(`storage benchmark: ${os.cpus().length} cores, node ${process.version}, temp dir ${tmp}`);
    console.log(`adds of ${BATCH} x ${D} vectors to a flat index, ${ROUNDS} x ${ROUND_S} s per cell, fsync/no-fsync interleaved`);
    const domain = await domainAdds(tmp);
    printAdds('acknowledged adds, domain layer (IndexService.add)', domain, true);
    // Over HTTP the log runs in the server process, out of this one's counters.
    // Optional cross-check: a server that does not start does not stop the rest.
    const http = await httpAdds(tmp).catch((e) => (console.log(`\nHTTP adds skipped: ${(e as Error).message}`), undefined));
    if (http) printAdds('acknowledged adds, HTTP (remote client -> server process, binary body)', http, false);
    const snap = await snapshots(tmp);
    const results = {
      generatedAt: new Date().toISOString(),
      environment: { node: process.version, cores: os.cpus().length, totalMemory: os.totalmem() },
      adds: { d: D, batch: BATCH, secondsPerCell: ROUNDS * ROUND_S, domain: cells(domain), http: http && cells(http) },
      snapshot: snap && { n: SNAPSHOT_N, d: D, ...snap },
      seconds: (performance.now() - started) / 1000,
    };
    fs.mkdirSync(RESULTS, { recursive: true });
    fs.writeFileSync(path.join(RESULTS, 'storage.json'), JSON.stringify(results, null, 2));
    console.log(`\ndone in ${results.seconds.toFixed(0)} s; figures in bench/results/storage.json`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--cold-loads') {
  // Child mode (see snapshots()): prints the seconds of cold loads as JSON.
  const [dataDir, rounds, cold] = process.argv.slice(3);
  coldLoads(new FileSnapshotStore(dataDir, new FileIO()), Number(rounds), cold === 'true').then((s) => console.log(JSON.stringify(s)));
} else {
  main().catch((e) => {
    console.error(e);
    process.exit(1);
  });
}
