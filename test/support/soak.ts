// A soak workload against a running server: many clients, each on one of
// several tenants, doing mixed reads and writes (JSON and binary searches, adds
// with idempotency keys and their retries, removes, reconstructs, describes,
// lists, index creation and deletion, and a share of bad requests) for a bounded
// time. It records every answer's status and checks, at the end, that each
// index holds exactly what its acknowledged writes say. Used by the short soak
// test (test/service-trust/soak.test.ts) and `npm run bench:soak`.
//
// Faults: `faults.inject` is the seam for the crash-point work (SIGKILL and
// restart of the server at random moments); while one runs, failed connections
// count as `unavailable`, not as errors. Nothing here kills anything itself.
import { strict as assert } from 'node:assert';
import { rng } from './data';
import { call, type Reply } from './server';

export interface SoakOptions {
  url: () => string;
  adminKey: string;
  clients: number;
  tenants: number;
  durationMs: number;
  dimension?: number;
  seed?: number;
  /** Tenant names are this prefix and a number (default "soak"); runs on one server need different ones. */
  tenantPrefix?: string;
  /** Called every `everyMs` while the clients run (e.g. SIGKILL and restart the server). */
  faults?: { everyMs: number; inject: () => Promise<void> };
}

export interface SoakReport {
  requests: number;
  /** status -> count; "unavailable" for requests that got no answer while a fault was injected. */
  statuses: Record<string, number>;
  /** Every 5xx answer: route, status, body. */
  serverErrors: string[];
  /** Index ntotal mismatches found at the end (expected from acknowledged writes). */
  lost: string[];
}

interface Ledger {
  tenant: string;
  key: string;
  name: string;
  /** ntotal implied by acknowledged adds and removes (null once unknowable: an answer lost to a fault). */
  expected: number | null;
  /** Ids the service gave to acknowledged adds, not yet removed. */
  ids: number[];
  busy: Promise<unknown>;
}

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const d = o.dimension ?? 8;
  const random = rng(o.seed ?? 7);
  const report: SoakReport = { requests: 0, statuses: {}, serverErrors: [], lost: [] };
  let faulting = false;
  const count = (status: string) => (report.statuses[status] = (report.statuses[status] ?? 0) + 1);

  const send = async (method: string, route: string, key: string, body: Parameters<typeof call>[3]): Promise<Reply | undefined> => {
    report.requests++;
    try {
      const r = await call(o.url(), method, route, { key, ...body });
      count(String(r.status));
      if (r.status >= 500 && !(faulting && r.status === 503)) report.serverErrors.push(`${method} ${route} ${r.status} ${r.bytes.toString('utf8').slice(0, 200)}`);
      return r;
    } catch (e) {
      if (!faulting && !o.faults) throw e;
      count('unavailable');
      return undefined;
    }
  };

  const vectors = (n: number) => Float32Array.from({ length: n * d }, () => random());
  const bytes = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const rows = (x: Float32Array) => Array.from({ length: x.length / d }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));

  // Tenants, each with a write key and two indexes to start with.
  const ledgers: Ledger[] = [];
  const keys: { tenant: string; write: string; read: string }[] = [];
  for (let t = 0; t < o.tenants; t++) {
    const tenant = `${o.tenantPrefix ?? 'soak'}${t}`;
    const created = await call(o.url(), 'POST', '/v1/admin/tenants', { key: o.adminKey, json: { name: tenant } });
    assert.equal(created.status, 201, JSON.stringify(created.json));
    const write = (await call(o.url(), 'POST', `/v1/admin/tenants/${tenant}/keys`, { key: o.adminKey, json: { role: 'write' } })).json.key as string;
    const read = (await call(o.url(), 'POST', `/v1/admin/tenants/${tenant}/keys`, { key: o.adminKey, json: { role: 'read' } })).json.key as string;
    keys.push({ tenant, write, read });
    for (const name of ['a', 'b']) {
      assert.equal((await call(o.url(), 'POST', '/v1/indexes', { key: write, json: { name, dimension: d, type: 'IndexFlatL2' } })).status, 201);
      ledgers.push({ tenant, key: write, name, expected: 0, ids: [], busy: Promise.resolve() });
    }
  }

  /** Writes to one index run one at a time, so the ledger knows what each acknowledged. */
  const serial = (l: Ledger, fn: () => Promise<void>) => (l.busy = l.busy.then(fn, fn));

  const add = (l: Ledger, retry: boolean) =>
    serial(l, async () => {
      const n = 1 + Math.floor(random() * 20);
      const x = vectors(n);
      const idem = { 'Idempotency-Key': `k${Math.floor(random() * 2 ** 40)}` };
      const r = await send('POST', `/v1/indexes/${l.name}/add`, l.key, random() < 0.5 ? { json: { vectors: rows(x) }, headers: idem } : { body: bytes(x), headers: idem });
      if (!r) return void (l.expected = null);
      if (r.status !== 200) return;
      if (l.expected !== null) l.expected += r.json.added;
      for (let i = 0; i < r.json.added; i++) l.ids.push(r.json.firstId + i);
      if (retry) {
        const again = await send('POST', `/v1/indexes/${l.name}/add`, l.key, { json: { vectors: rows(x) }, headers: idem });
        if (again && again.status === 200) assert.deepEqual([again.json.added, again.json.firstId], [r.json.added, r.json.firstId], 'a retry answered differently');
      }
    });

  const remove = (l: Ledger) =>
    serial(l, async () => {
      if (l.ids.length === 0) return;
      const pick = l.ids.splice(Math.floor(random() * l.ids.length), 1);
      const r = await send('POST', `/v1/indexes/${l.name}/remove`, l.key, { json: { ids: pick } });
      if (!r) return void (l.expected = null);
      if (r.status === 200 && l.expected !== null) l.expected -= r.json.removed;
    });

  const read = async (l: Ledger, readKey: string) => {
    const p = random();
    if (p < 0.4) {
      await send('POST', `/v1/indexes/${l.name}/search`, readKey, { json: { vectors: rows(vectors(1 + Math.floor(random() * 4))), k: 5 } });
    } else if (p < 0.7) {
      await send('POST', `/v1/indexes/${l.name}/search?k=10`, readKey, { body: bytes(vectors(4)), headers: { Accept: 'application/octet-stream' } });
    } else if (p < 0.8) {
      const id = l.ids[Math.floor(random() * l.ids.length)];
      if (id !== undefined) await send('POST', `/v1/indexes/${l.name}/reconstruct`, readKey, { json: { ids: [id] } });
    } else if (p < 0.9) {
      await send('GET', `/v1/indexes/${l.name}`, readKey, {});
    } else {
      await send('GET', '/v1/indexes', readKey, {});
    }
  };

  // Bad requests a careless or hostile client sends: each must be a 4xx.
  const bad = async (l: Ledger) => {
    const cases: [string, string, Parameters<typeof call>[3]][] = [
      ['POST', `/v1/indexes/${l.name}/search`, { json: { vectors: [[1]], k: 1 } }],
      ['POST', `/v1/indexes/${l.name}/search`, { json: { vectors: rows(vectors(1)), k: 0 } }],
      ['POST', `/v1/indexes/${l.name}/add`, { body: new Uint8Array(7) }],
      ['POST', `/v1/indexes/${l.name}/add`, { body: '{"vectors":', headers: { 'Content-Type': 'application/json' } }],
      ['POST', '/v1/indexes/missing/search', { json: { vectors: rows(vectors(1)), k: 1 } }],
      ['POST', `/v1/indexes/${l.name}/search?k=10000`, { body: bytes(vectors(3000)), headers: { Accept: 'application/json' } }],
    ];
    const [method, route, body] = cases[Math.floor(random() * cases.length)];
    const r = await send(method, route, l.key, body);
    if (r) assert.ok(r.status >= 400 && r.status < 500, `${method} ${route}: ${r.status}`);
  };

  // Short-lived indexes: created, written, deleted, while the others run.
  let scratch = 0;
  const churn = async (k: { tenant: string; write: string }) => {
    const name = `tmp${scratch++}`;
    const made = await send('POST', '/v1/indexes', k.write, { json: { name, dimension: d, type: 'IndexFlatL2' } });
    if (made?.status !== 201) return;
    await send('POST', `/v1/indexes/${name}/add`, k.write, { body: bytes(vectors(5)) });
    await send('DELETE', `/v1/indexes/${name}`, k.write, {});
  };

  const deadline = Date.now() + o.durationMs;
  const client = async (c: number) => {
    const k = keys[c % keys.length];
    const mine = ledgers.filter((l) => l.tenant === k.tenant);
    while (Date.now() < deadline) {
      const l = mine[Math.floor(random() * mine.length)];
      const p = random();
      if (p < 0.55) await read(l, k.read);
      else if (p < 0.8) await add(l, p < 0.6);
      else if (p < 0.9) await remove(l);
      else if (p < 0.97) await bad(l);
      else await churn(k);
    }
  };

  let faultTimer: NodeJS.Timeout | undefined;
  let faultRun = Promise.resolve();
  if (o.faults) {
    const f = o.faults;
    faultTimer = setInterval(() => {
      faultRun = faultRun.then(async () => {
        faulting = true;
        try {
          await f.inject();
        } finally {
          faulting = false;
        }
      });
    }, f.everyMs);
  }
  try {
    await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  } finally {
    if (faultTimer) clearInterval(faultTimer);
    await faultRun;
  }
  await Promise.all(ledgers.map((l) => l.busy));

  for (const l of ledgers) {
    if (l.expected === null) continue;
    const r = await call(o.url(), 'GET', `/v1/indexes/${l.name}`, { key: l.key });
    if (r.json?.ntotal !== l.expected) report.lost.push(`${l.tenant}/${l.name}: ntotal ${r.json?.ntotal}, acknowledged ${l.expected}`);
  }
  return report;
}
