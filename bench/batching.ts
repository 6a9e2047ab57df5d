// npm run bench:batching: flat 200,000 x 128 over HTTP (binary wire), single-query
// searches from 32 concurrent clients, against one server with dynamic batching
// and one without, in alternating rounds of the same run. Target: batching gives
// >= 5x the throughput, with p99 latency no worse.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { randomMatrix, serverArgsFromArgv } from './lib/common';

const d = 128;
const n = Number(process.env.BENCH_N ?? 200_000);
const clients = 32;
const roundMs = 5_000;
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
/** Extra flags for both servers, e.g. --server-arg=--batch-window-ms=20 (repeatable). */
const serverArgs = serverArgsFromArgv();

const vectors = (count: number, seed: number): Float32Array => randomMatrix(count, d, seed);

interface Server {
  proc: ChildProcess;
  port: number;
  key: string;
  dir: string;
}

async function start(batchMaxQueries: number): Promise<Server> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-batching-'));
  const key = `fp_${randomBytes(8).toString('hex')}_${randomBytes(32).toString('base64url')}`;
  const proc = spawn(process.execPath, [path.join(__dirname, '..', 'service', 'cli.js'), 'serve', '--port', '0', '--data-dir', dir, '--batch-max-queries', String(batchMaxQueries), '--log-level', 'silent', ...serverArgs], {
    env: { ...process.env, FAISS_PROXY_ADMIN_KEY: key },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    proc.stdout!.on('data', (c) => {
      out += c;
      const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    proc.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
  return { proc, port, key, dir };
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

function request(s: Server, method: string, route: string, body?: Buffer, json?: unknown): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const payload = json !== undefined ? Buffer.from(JSON.stringify(json)) : body;
    const req = http.request(
      {
        host: '127.0.0.1',
        port: s.port,
        method,
        path: route,
        agent,
        headers: {
          'X-API-Key': s.key,
          ...(payload ? { 'Content-Type': json !== undefined ? 'application/json' : 'application/octet-stream', 'Content-Length': payload.length } : {}),
          Accept: 'application/octet-stream',
        },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

async function load(s: Server, queries: Float32Array): Promise<{ qps: number; p50: number; p99: number; errors: number }> {
  const latencies: number[] = [];
  let errors = 0;
  const stopAt = Date.now() + roundMs;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; Date.now() < stopAt; i += clients) {
        const q = queries.subarray((i % 1000) * d, (i % 1000 + 1) * d);
        const t = process.hrtime.bigint();
        const r = await request(s, 'POST', '/v1/indexes/flat/search?k=10', Buffer.from(q.buffer, q.byteOffset, q.byteLength)).catch(() => ({ status: 0, body: Buffer.alloc(0) }));
        if (r.status !== 200) errors++;
        else latencies.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  const at = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { qps: latencies.length / (roundMs / 1000), p50: at(0.5), p99: at(0.99), errors };
}

async function main(): Promise<void> {
  const data = vectors(n, 1);
  const queries = vectors(1000, 2);
  const servers = { batching: await start(256), 'no batching': await start(0) };
  try {
    for (const s of Object.values(servers)) {
      await request(s, 'POST', '/v1/indexes', undefined, { name: 'flat', dimension: d, type: 'IndexFlatL2' });
      for (let i = 0; i < n; i += 50_000) {
        const part = data.subarray(i * d, Math.min(n, i + 50_000) * d);
        await request(s, 'POST', '/v1/indexes/flat/add', Buffer.from(part.buffer, part.byteOffset, part.byteLength));
      }
    }
    const results: Record<string, { qps: number; p50: number; p99: number; errors: number }[]> = { batching: [], 'no batching': [] };
    for (let r = 0; r < rounds; r++) {
      // Alternate the order so drift on a shared machine hits both alike.
      const order = r % 2 === 0 ? (['batching', 'no batching'] as const) : (['no batching', 'batching'] as const);
      for (const name of order) results[name].push(await load(servers[name], queries));
    }
    const best = (xs: { qps: number; p50: number; p99: number; errors: number }[]) => xs.reduce((a, b) => (b.qps > a.qps ? b : a));
    const on = best(results.batching);
    const off = best(results['no batching']);
    console.log(`flat ${n} x ${d}, ${clients} concurrent clients, single-query binary searches, k=10, ${rounds} rounds of ${roundMs / 1000} s each, best round`);
    console.log('server        |      QPS | p50 ms | p99 ms | errors');
    for (const [name, x] of [['batching', on], ['no batching', off]] as const) {
      console.log(`${name.padEnd(13)} | ${x.qps.toFixed(0).padStart(8)} | ${x.p50.toFixed(1).padStart(6)} | ${x.p99.toFixed(1).padStart(6)} | ${x.errors}`);
    }
    const ratio = on.qps / off.qps;
    console.log(`throughput ratio: ${ratio.toFixed(2)}x (target >= 5x): ${ratio >= 5 ? 'met' : 'MISSED'}; p99 ${on.p99 <= off.p99 ? 'no worse' : 'WORSE'} (${on.p99.toFixed(1)} vs ${off.p99.toFixed(1)} ms)`);
    fs.mkdirSync(path.join(__dirname, '..', '..', 'bench', 'results'), { recursive: true });
    fs.writeFileSync(path.join(__dirname, '..', '..', 'bench', 'results', 'batching.json'), JSON.stringify({ n, d, clients, results, ratio }, null, 2));
  } finally {
    for (const s of Object.values(servers)) {
      s.proc.kill('SIGTERM');
      await new Promise((r) => s.proc.once('exit', r));
      fs.rmSync(s.dir, { recursive: true, force: true });
    }
    agent.destroy();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
