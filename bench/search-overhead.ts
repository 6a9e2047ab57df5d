// What one search call costs besides FAISS's work: the median of many one-query
// searches on a 16-vector flat index (the search itself is well under a
// microsecond), through the binding (`await index.search`, inline on the JS
// thread, then with inline searches off: on a search lane) and through Debian's
// python3-faiss (`index.search`). Alternating rounds, so load from other tenants of
// the machine falls on every side alike. Prints one JSON line per side.
// Usage: npm run bench:search-overhead [-- --rounds 3 --calls 20000]
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import * as faiss from '../lib';
import { positiveNumberOption, randomMatrix } from './lib/common';

const D = 128;
const ROWS = 16;
const K = 10;
const rounds = positiveNumberOption('--rounds', 3);
const calls = positiveNumberOption('--calls', 20_000);
const PYTHON = process.env.FAISS_PROXY_PYTHON ?? '/usr/bin/python3';

// The same loop in Python, on the same rows and query (passed as JSON).
const PY_LOOP = `
import json, sys, time
import faiss, numpy as np
cfg = json.loads(sys.argv[1])
index = faiss.IndexFlatL2(cfg["d"])
index.add(np.array(cfg["rows"], dtype="float32").reshape(-1, cfg["d"]))
q = np.array(cfg["query"], dtype="float32").reshape(1, -1)
for _ in range(2000): index.search(q, cfg["k"])
us = []
for _ in range(cfg["calls"]):
    t = time.perf_counter(); index.search(q, cfg["k"]); us.append((time.perf_counter() - t) * 1e6)
us.sort()
print(json.dumps({"medianUs": us[len(us) // 2], "p10Us": us[len(us) // 10]}))
`;

const median = (v: number[]): number => [...v].sort((a, b) => a - b)[v.length >> 1];
const p10 = (v: number[]): number => [...v].sort((a, b) => a - b)[Math.floor(v.length / 10)];

async function bindingRound(index: faiss.Index, query: Float32Array, inline: boolean): Promise<{ medianUs: number; p10Us: number }> {
  faiss.setInlineSearchBudget(inline ? 1000 : 0);
  for (let i = 0; i < 2000; i++) await index.search(query, K);
  const us: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t = performance.now();
    await index.search(query, K);
    us.push((performance.now() - t) * 1000);
  }
  return { medianUs: median(us), p10Us: p10(us) };
}

async function main(): Promise<void> {
  const rows = randomMatrix(ROWS, D, 1);
  const query = randomMatrix(1, D, 2);
  const index = new faiss.IndexFlatL2(D);
  await index.add(rows);
  const config = JSON.stringify({ d: D, k: K, calls, rows: Array.from(rows), query: Array.from(query) });
  const samples: Record<string, { medianUs: number; p10Us: number }[]> = { inline: [], lane: [], python: [] };
  for (let r = 0; r < rounds; r++) {
    samples.inline.push(await bindingRound(index, query, true));
    samples.lane.push(await bindingRound(index, query, false));
    samples.python.push(JSON.parse(execFileSync(PYTHON, ['-c', PY_LOOP, config], { encoding: 'utf8', timeout: 120_000 })));
  }
  index.dispose();
  const sides: Record<string, string> = {
    inline: 'binding, await index.search (inline on the JS thread)',
    lane: 'binding, await index.search with inline searches off (search lane)',
    python: 'python3-faiss, index.search',
  };
  for (const [side, label] of Object.entries(sides)) {
    const s = samples[side];
    console.log(JSON.stringify({
      side: label,
      medianUs: s.map((x) => Number(x.medianUs.toFixed(2))),
      p10Us: s.map((x) => Number(x.p10Us.toFixed(2))),
    }));
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
