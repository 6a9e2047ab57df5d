// npm run bench:client: the remote client against a local server, binary wire:
// single-query search latency, and what the optional results cache saves on
// repeated queries (same index version), measured side by side in one run.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { connect } from '../lib/client';
import { randomMatrix } from './lib/common';

const d = 128;
const n = 20_000;
const rounds = 400;

const vectors = (count: number, seed: number): Float32Array => randomMatrix(count, d, seed);

const percentile = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

async function main(): Promise<void> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-client-'));
  const adminKey = `fp_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  const server = spawn(process.execPath, [path.join(__dirname, '..', 'service', 'cli.js'), 'serve', '--port', '0', '--data-dir', dataDir], {
    env: { ...process.env, FAISS_PROXY_ADMIN_KEY: adminKey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      server.stdout!.on('data', (c) => {
        out += c;
        const m = /listening on (\S+)/.exec(out);
        if (m) resolve(m[1]);
      });
      server.once('exit', (code) => reject(new Error(`server exited ${code}`)));
    });
    const plain = connect({ url, apiKey: adminKey });
    const cached = connect({ url, apiKey: adminKey, cacheResults: { ttlMs: 60_000 } });
    const index = new plain.IndexHNSWFlat(d, 32, plain.METRIC_L2, { name: 'bench' });
    await index.add(vectors(n, 1));
    const queries = vectors(20, 2); // 20 distinct queries asked over and over
    const attached = await cached.openIndex('bench');
    const time = async (ix: typeof index, i: number) => {
      const t = process.hrtime.bigint();
      await ix.search(queries.subarray((i % 20) * d, (i % 20 + 1) * d), 10);
      return Number(process.hrtime.bigint() - t) / 1e6;
    };
    for (let i = 0; i < 40; i++) await time(index, i); // warm up
    const without: number[] = [];
    const withCache: number[] = [];
    for (let i = 0; i < rounds; i++) {
      without.push(await time(index, i));
      withCache.push(await time(attached, i));
    }
    const stats = cached.cacheStats();
    const row = (name: string, xs: number[]) => console.log(`${name.padEnd(28)} | ${percentile(xs, 50).toFixed(3).padStart(8)} ms | ${percentile(xs, 99).toFixed(3).padStart(8)} ms`);
    console.log(`remote client, HNSW32 over ${n} x ${d}, ${rounds} searches of 20 repeating queries, k=10, binary wire`);
    console.log(`${'client'.padEnd(28)} |      p50    |      p99`);
    row('no results cache', without);
    row('results cache (ttl 60 s)', withCache);
    console.log(`cache: ${stats.hits} hits, ${stats.misses} misses -> ${stats.misses} round trips instead of ${rounds}`);
    console.log(`median speed-up on repeated queries: ${(percentile(without, 50) / percentile(withCache, 50)).toFixed(1)}x`);
    fs.mkdirSync(path.join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
    fs.writeFileSync(
      path.join(__dirname, '..', '..', 'bench', 'results', 'client.json'),
      JSON.stringify({ n, d, rounds, without: { p50: percentile(without, 50), p99: percentile(without, 99) }, cached: { p50: percentile(withCache, 50), p99: percentile(withCache, 99) }, stats }, null, 2),
    );
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
