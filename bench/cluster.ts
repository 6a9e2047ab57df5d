// npm run bench:cluster: what a cluster (serve --cluster, docs/cluster.md) costs
// and gives, all on this machine over loopback: (1) acknowledged adds per second,
// one single node against a 3-node cluster (R3), at 1, 8 and 32 writers (the
// cluster's spread over its nodes), alternating rounds; (2) replica lag under
// load: how far behind the writes' acknowledged sequence the other nodes are,
// sampled while 8 writers write through one node, and how long they take to
// catch up once the writes stop; (3) search throughput through 1, 2 and 3 proxy
// nodes; (4) a sharded index (3 shards over the 3 nodes, docs/cluster.md): its
// searches/s through every node against the whole index's (the scatter to every
// shard's owner and the merge against one local search), and its acknowledged
// adds/s with ids; (5) importing an index file (PUT .../import) through a single
// node against through a cluster node (the file through the object store, applied
// by every replica), how long after its answer another node reads it, and the
// export of the sharded index (gathered from its shards) against the whole one's.
// (6) with --baseline <cli.js of a checkout built without the
// cluster's shared quota check (service/cluster/quota-ledger.ts)>, what that
// check costs: acknowledged adds/s through 3 nodes of each build, on the same NATS
// servers, alternating rounds, and CPU per add (`--quota-only`: this part alone;
// `--rounds N`: N rounds each); (7) a sharded collection (3 shards, docs/cluster.md): its
// searches/s, filtered or not, and acknowledged upserts/s against a whole
// collection's. Nothing asserts on time: figures go to bench/RESULTS.md.
import { performance } from 'node:perf_hooks';
import * as fs from 'node:fs';
import * as os from 'node:os';
import { startNatsCluster, type NatsCluster } from '../test/support/nats-cluster';
import { startProxyCluster, stopProxies, type ProxyNode } from '../test/support/proxy-cluster';
import { client, makeTenant, startServer } from '../test/support/server';
import { indexFactory, serializeIndex } from '../lib';

const D = 32;
const ROWS = 10;
const ROUNDS = 2;
const ROUND_S = 1.5;
/** Rows of part (5)'s imported Flat file (25 MiB at D 32). */
const IMPORT_ROWS = 200_000;
const vectors = (n: number, seed: number): Float32Array => {
  const x = new Float32Array(n * D);
  let h = seed * 2654435761 + 1;
  for (let i = 0; i < x.length; i++) {
    h = Math.imul(h ^ (h >>> 15), 2246822519) >>> 0;
    x[i] = h / 2 ** 32;
  }
  return x;
};
const body = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
const fmt = (x: number, digits = 0) => x.toFixed(digits).padStart(9);

/** Acknowledged adds per second by `writers` writers over `urls` (round robin) for `seconds`. */
async function adds(urls: string[], key: string, index: string, writers: number, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let done = 0;
  const payload = body(vectors(ROWS, 7));
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      const api = client(urls[w % urls.length], key);
      while (performance.now() < end) {
        const r = await api.post(`/v1/indexes/${index}/add`, undefined, { body: payload });
        if (r.status !== 200) throw new Error(`add: ${r.status} ${JSON.stringify(r.json)}`);
        done++;
      }
    }),
  );
  return done / seconds;
}

type Api = ReturnType<typeof client>;

/** Single-query searches per second (`search` makes one), 32 clients spread over the urls, best of ROUNDS rounds. */
async function searches(urls: string[], key: string, search: (api: Api) => Promise<{ status: number }>): Promise<number> {
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const end = performance.now() + ROUND_S * 1000;
    let done = 0;
    await Promise.all(
      Array.from({ length: 32 }, async (_, c) => {
        const api = client(urls[c % urls.length], key);
        while (performance.now() < end) {
          const s = await search(api);
          if (s.status !== 200) throw new Error(`search: ${s.status}`);
          done++;
        }
      }),
    );
    best = Math.max(best, done / ROUND_S);
  }
  return best;
}

/** CPU seconds `pids` have used so far (Linux /proc: user + system; 0 where it cannot be read). */
function cpuSeconds(pids: (number | undefined)[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
      const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop()!.trim().split(' ');
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // not Linux, or the process is gone
    }
  }
  return ticks / 100;
}

/**
 * (6) the shared quota check's cost, against a build without it (--baseline),
 * through 3 nodes each on the same NATS servers: acknowledged adds/s, and CPU
 * per add (the group's 3 proxies and the 3 NATS servers, which serve one group
 * at a time), steadier than wall time on a loaded machine.
 */
async function quotaCost(nats: NatsCluster, nodes: ProxyNode[]): Promise<void> {
  const urls = nodes.map((n) => n.url);
  // --rounds N: more alternating rounds on a loaded machine.
  const rounds = process.argv.includes('--rounds') ? Number(process.argv[process.argv.indexOf('--rounds') + 1]) : ROUNDS;
  const at = process.argv.indexOf('--baseline');
  if (at < 0) {
    console.log('\n(6) skipped: --baseline <dist/service/cli.js of a checkout without the shared quota check> compares its adds/s');
  } else {
    const baseline = await startProxyCluster(nats, ['A0', 'B0', 'C0'], { entry: process.argv[at + 1], adminKey: nodes[0].adminKey });
    try {
      const groups = { without: baseline.map((n) => n.url), with: urls };
      const key = { without: (await makeTenant(baseline[0], 'quota0')).write, with: (await makeTenant(nodes[0], 'quota1')).write };
      for (const mode of ['without', 'with'] as const) {
        const c = await client(groups[mode][0], key[mode]).post('/v1/indexes', { name: 'q', dimension: D, type: 'IndexFlatL2' });
        if (c.status !== 201) throw new Error(`create q: ${c.status}`);
      }
      console.log(`\n(6) acknowledged adds/s through 3 nodes, without and with the cluster's shared quota check (${ROWS} x ${D} floats each), best of ${rounds} rounds of ${ROUND_S} s, alternating`);
      console.log('  writers   without   with   ratio   CPU ms/add: without   with   ratio (without/with)');
      const pids = {
        without: [...baseline.map((n) => n.proc.pid), ...nats.nodes.map((n) => n.proc?.pid)],
        with: [...nodes.map((n) => n.proc.pid), ...nats.nodes.map((n) => n.proc?.pid)],
      };
      for (const writers of [1, 8, 32]) {
        const best = { without: 0, with: 0 };
        const cpu = { without: 0, with: 0 };
        const added = { without: 0, with: 0 };
        for (let round = 0; round < rounds; round++) {
          for (const mode of round % 2 === 0 ? (['without', 'with'] as const) : (['with', 'without'] as const)) {
            const before = cpuSeconds(pids[mode]);
            const rate = await adds(groups[mode], key[mode], 'q', writers, ROUND_S);
            cpu[mode] += cpuSeconds(pids[mode]) - before;
            added[mode] += rate * ROUND_S;
            best[mode] = Math.max(best[mode], rate);
          }
        }
        const perAdd = { without: (1000 * cpu.without) / added.without, with: (1000 * cpu.with) / added.with };
        console.log(
          `  ${String(writers).padStart(7)} ${fmt(best.without)} ${fmt(best.with)}   ${(best.with / best.without).toFixed(2)}   ${fmt(perAdd.without, 2)} ${fmt(perAdd.with, 2)}   ${(perAdd.without / perAdd.with).toFixed(2)}`,
        );
      }
    } finally {
      await stopProxies(baseline);
    }
  }
}

async function main(): Promise<void> {
  console.log(`cluster bench: ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  const nats = await startNatsCluster();
  const nodes = await startProxyCluster(nats);
  if (process.argv.includes('--quota-only')) {
    // Part (6) alone: what the shared quota check costs.
    try {
      await quotaCost(nats, nodes);
      console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
    } finally {
      await stopProxies(nodes);
      await nats.stop();
    }
    return;
  }
  const single = await startServer();
  try {
    const keys = await makeTenant(nodes[0], 'bench');
    const singleKeys = await makeTenant(single, 'bench');
    const urls = nodes.map((n) => n.url);
    for (const [url, key] of [[urls[0], keys.write], [single.url, singleKeys.write]]) {
      const r = await client(url, key).post('/v1/indexes', { name: 'w', dimension: D, type: 'IndexFlatL2' });
      if (r.status !== 201) throw new Error(`create: ${r.status}`);
    }
    // (1) acknowledged adds per second
    console.log(`\n(1) acknowledged adds/s (each add ${ROWS} x ${D} floats, binary), best of ${ROUNDS} rounds of ${ROUND_S} s`);
    console.log('  writers   single node   cluster R3 (3 nodes)   ratio');
    for (const writers of [1, 8, 32]) {
      const best = { single: 0, cluster: 0 };
      for (let round = 0; round < ROUNDS; round++) {
        const order = round % 2 === 0 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const);
        for (const mode of order) {
          const rate = mode === 'single' ? await adds([single.url], singleKeys.write, 'w', writers, ROUND_S) : await adds(urls, keys.write, 'w', writers, ROUND_S);
          best[mode] = Math.max(best[mode], rate);
        }
      }
      console.log(`  ${String(writers).padStart(7)} ${fmt(best.single)}      ${fmt(best.cluster)}              ${(best.cluster / best.single).toFixed(2)}`);
    }

    // (2) replica lag under load
    console.log('\n(2) replica lag while 8 writers add through node A for 3 s (B and C sampled every 50 ms)');
    await client(urls[1], keys.read).get('/v1/indexes/w'); // B and C hold the index loaded
    await client(urls[2], keys.read).get('/v1/indexes/w');
    let acked = 0;
    let writing = true;
    const writer = (async () => {
      const end = performance.now() + 3000;
      const payload = body(vectors(ROWS, 9));
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          const api = client(urls[0], keys.write);
          while (performance.now() < end) {
            const r = await api.post('/v1/indexes/w/add', undefined, { body: payload });
            acked = Math.max(acked, Number(r.headers.get('x-index-version')));
          }
        }),
      );
      writing = false;
    })();
    const lags: number[] = [];
    while (writing) {
      const seen = await Promise.all([1, 2].map(async (i) => Number((await client(urls[i], keys.read).get('/v1/indexes/w')).json.version)));
      for (const v of seen) lags.push(Math.max(0, acked - v));
      await new Promise((r) => setTimeout(r, 50));
    }
    await writer;
    const stopped = performance.now();
    for (;;) {
      const seen = await Promise.all([1, 2].map(async (i) => Number((await client(urls[i], keys.read).get('/v1/indexes/w')).json.version)));
      if (seen.every((v) => v >= acked)) break;
      await new Promise((r) => setTimeout(r, 5));
    }
    const caughtUp = performance.now() - stopped;
    lags.sort((a, b) => a - b);
    console.log(`  ${lags.length} samples: lag p50 ${lags[lags.length >> 1]} records, p99 ${lags[Math.floor(lags.length * 0.99)]}, max ${lags.at(-1)}; caught up ${caughtUp.toFixed(0)} ms after the last acknowledgement`);

    // (3) search throughput through 1, 2, 3 nodes
    const N = 20_000;
    const r = await client(urls[0], keys.write).post('/v1/indexes', { name: 's', dimension: D, type: 'IndexFlatL2' });
    if (r.status !== 201) throw new Error(`create s: ${r.status}`);
    const added = await client(urls[0], keys.write).post('/v1/indexes/s/add', undefined, { body: body(vectors(N, 3)) });
    const version = added.headers.get('x-index-version')!;
    for (const u of urls) await client(u, keys.read).get('/v1/indexes/s', { headers: { 'X-Min-Sequence': version } });
    console.log(`\n(3) single-query searches/s, Flat ${N} x ${D}, k 10, 32 concurrent clients spread over the first n nodes, best of ${ROUNDS} rounds of ${ROUND_S} s`);
    const query = body(vectors(1, 11));
    const searchIndex = (index: string) => (api: Api) => api.post(`/v1/indexes/${index}/search?k=10`, undefined, { body: query });
    for (const n of [1, 2, 3]) console.log(`  ${n} node(s): ${fmt(await searches(urls.slice(0, n), keys.read, searchIndex('s')))} searches/s`);

    // (4) a sharded index: the same vectors over 3 shards, with ids
    const ids = new BigInt64Array(N).map((_, i) => BigInt(i));
    const sharded = await client(urls[0], keys.write).post('/v1/indexes', { name: 'sh', dimension: D, factory: 'IDMap2,Flat', shards: 3 });
    if (sharded.status !== 201) throw new Error(`create sh: ${sharded.status} ${JSON.stringify(sharded.json)}`);
    for (let at = 0; at < N; at += 5_000) {
      const rows = vectors(N, 3).subarray(at * D, (at + 5_000) * D);
      const withIds = Buffer.concat([body(rows), Buffer.from(ids.buffer, at * 8, 5_000 * 8)]);
      const a = await client(urls[at % 3], keys.write).post('/v1/indexes/sh/add?ids=true', undefined, { body: withIds });
      if (a.status !== 200) throw new Error(`add sh: ${a.status} ${JSON.stringify(a.json)}`);
    }
    console.log(`\n(4) a sharded index (IDMap2,Flat, 3 shards over 3 nodes, the same ${N} x ${D}), 32 clients over the 3 nodes, best of ${ROUNDS} rounds of ${ROUND_S} s`);
    for (const index of ['s', 'sh']) {
      const best = await searches(urls, keys.read, searchIndex(index));
      console.log(`  ${index === 's' ? 'whole index (every node) ' : 'sharded (3 shards)       '}: ${fmt(best)} searches/s`);
    }
    let next = N;
    const shardedAdds = await (async () => {
      const end = performance.now() + ROUND_S * 1000;
      let done = 0;
      const rows = body(vectors(ROWS, 7));
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const api = client(urls[w % 3], keys.write);
          while (performance.now() < end) {
            const batch = new BigInt64Array(ROWS).map(() => BigInt(next++));
            const a = await api.post('/v1/indexes/sh/add?ids=true', undefined, { body: Buffer.concat([rows, Buffer.from(batch.buffer)]) });
            if (a.status !== 200) throw new Error(`add sh: ${a.status}`);
            done++;
          }
        }),
      );
      return done / ROUND_S;
    })();
    console.log(`  sharded, 8 writers over 3 nodes: ${fmt(shardedAdds)} acknowledged adds/s (${ROWS} vectors with ids each)`);

    // (5) importing an index file; exporting the sharded index
    const local = indexFactory(D, 'Flat');
    await local.add(vectors(IMPORT_ROWS, 5));
    const file = await serializeIndex(local);
    local.dispose();
    console.log(`\n(5) PUT import of a Flat ${IMPORT_ROWS} x ${D} file (${(file.length / 2 ** 20).toFixed(1)} MiB), best of ${ROUNDS} rounds, alternating`);
    const took = { single: Infinity, cluster: Infinity, readable: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of round % 2 === 0 ? (['single', 'cluster'] as const) : (['cluster', 'single'] as const)) {
        const started = performance.now();
        const imported = await client(mode === 'single' ? single.url : urls[0], mode === 'single' ? singleKeys.write : keys.write).put('/v1/indexes/imp/import', { body: file });
        if (imported.status >= 300) throw new Error(`import: ${imported.status} ${JSON.stringify(imported.json)}`);
        took[mode] = Math.min(took[mode], performance.now() - started);
        if (mode === 'cluster') {
          const answered = performance.now();
          const read = await client(urls[1], keys.read).get(`/v1/indexes/imp?minSequence=${imported.json.version}`);
          if (read.json.ntotal !== IMPORT_ROWS) throw new Error(`import read through B: ${read.status} ${JSON.stringify(read.json)}`);
          took.readable = Math.min(took.readable, performance.now() - answered);
        }
      }
    }
    console.log(`  single node: ${fmt(took.single)} ms; cluster through A: ${fmt(took.cluster)} ms, then B answers for it ${took.readable.toFixed(0)} ms later`);
    const exports = { s: Infinity, sh: Infinity };
    for (let round = 0; round < ROUNDS; round++) {
      for (const index of ['s', 'sh'] as const) {
        const started = performance.now();
        const got = await client(urls[1], keys.read).get(`/v1/indexes/${index}/export`);
        if (got.status !== 200) throw new Error(`export ${index}: ${got.status}`);
        exports[index] = Math.min(exports[index], performance.now() - started);
      }
    }
    console.log(`  GET export through B, ${N} x ${D}: whole index ${exports.s.toFixed(0)} ms, sharded (gathered from 3 shards) ${exports.sh.toFixed(0)} ms`);

    await quotaCost(nats, nodes);

    // (7) a sharded collection against a whole one: the same points (a payload each), searched and upserted through every node
    const all = vectors(N, 3);
    const point = (i: number) => ({ id: `p${i}`, vector: Array.from(all.subarray((i % N) * D, (i % N + 1) * D)), payload: { group: i % 10 } });
    for (const [name, shards] of [['cw', 1], ['cs', 3]] as const) {
      const c = await client(urls[0], keys.write).post('/v1/collections', { name, dimension: D, payloadIndexes: { group: 'integer' }, shards });
      if (c.status !== 201) throw new Error(`create ${name}: ${c.status} ${JSON.stringify(c.json)}`);
      for (let at = 0; at < N; at += 2_000) {
        const u = await client(urls[at % 3], keys.write).put(`/v1/collections/${name}/points`, { json: { points: Array.from({ length: 2_000 }, (_, j) => point(at + j)) } });
        if (u.status !== 200) throw new Error(`upsert ${name}: ${u.status} ${JSON.stringify(u.json)}`);
      }
    }
    // Every node holds the whole collection loaded before it is measured (the sharded one's shards load when placed).
    for (const u of urls) await client(u, keys.read).get('/v1/collections/cw');
    console.log(`\n(7) a sharded collection (Flat, 3 shards over 3 nodes, the same ${N} x ${D} with payloads), 32 clients over the 3 nodes, best of ${ROUNDS} rounds of ${ROUND_S} s`);
    const vector = Array.from(vectors(1, 11));
    for (const [what, filter] of [['unfiltered', undefined], ['filter keeping 10%', { must: [{ key: 'group', match: { value: 3 } }] }]] as const) {
      for (const name of ['cw', 'cs']) {
        const best = await searches(urls, keys.read, (api) => api.post(`/v1/collections/${name}/search`, { vector, k: 10, ...(filter && { filter }) }));
        console.log(`  ${name === 'cw' ? 'whole collection  ' : 'sharded (3 shards)'}, ${what.padEnd(18)}: ${fmt(best)} searches/s`);
      }
    }
    for (const name of ['cw', 'cs']) {
      let upserted = 0;
      let acknowledged = 0;
      const end = performance.now() + ROUND_S * 1000;
      await Promise.all(
        Array.from({ length: 8 }, async (_, w) => {
          const api = client(urls[w % 3], keys.write);
          while (performance.now() < end) {
            const u = await api.put(`/v1/collections/${name}/points`, { json: { points: Array.from({ length: ROWS }, () => point(N + upserted++ * 7)) } });
            if (u.status !== 200) throw new Error(`upsert ${name}: ${u.status} ${JSON.stringify(u.json)}`);
            acknowledged++;
          }
        }),
      );
      console.log(`  ${name === 'cw' ? 'whole collection  ' : 'sharded (3 shards)'}, 8 writers over 3 nodes: ${fmt(acknowledged / ROUND_S)} acknowledged upserts/s (${ROWS} new points each)`);
    }
    console.log(`\nload average after: ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  } finally {
    await single.stop('SIGKILL');
    await stopProxies(nodes);
    await nats.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
