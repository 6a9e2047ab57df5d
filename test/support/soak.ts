// A soak workload against a running server: many clients, each on one of
// several tenants, doing mixed reads and writes (JSON and binary searches, adds
// with idempotency keys and their retries, removes, reconstructs, describes,
// lists, index creation and deletion, and a share of bad requests) for a bounded
// time, while faults strike the server: a SIGKILL and a restart on the same data
// directory, or a full disk for a while (soak-faults.ts). Writes that get no
// answer, or a storage 503, are sent again with the same Idempotency-Key until
// they are answered, as the remote client does (lib/client/transport.ts), so the
// clients always know what was acknowledged. At the end every index must hold
// exactly its acknowledged writes: ntotal is the number of acknowledged ids not
// removed, and each of them reconstructs the vector that was sent for it (an
// acknowledged write lost, or an add applied twice, fails this). Used by the
// short soak test (test/service/trust/soak.test.ts) and `npm run bench:soak`.
import { strict as assert } from 'node:assert';
import { rng } from './data';
import { call, type Reply } from './server';

/** A fault the soak injects: 'kill' (no answers while it runs) or 'storage' (storage 503s are expected while it runs). */
export type FaultKind = 'kill' | 'storage';

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
  /** Faults at random moments, one at a time, a random [min, max] ms apart, taking `kinds` in turn (the first first). */
  faults?: { everyMs: [number, number]; kinds: Partial<Record<FaultKind, () => Promise<void>>> };
  /** Runs after the clients stop and before the final check (e.g. one more SIGKILL and restart). */
  beforeCheck?: () => Promise<void>;
  /** How long a write is retried without an answer before the soak gives up on it (default 30 s). */
  retryForMs?: number;
}

export interface SoakReport {
  requests: number;
  /** status -> count; "unavailable" for requests that got no answer. */
  statuses: Record<string, number>;
  /** Answers that break the rules: a 5xx other than a storage 503 during a full disk, no answer outside a kill, a bad request not answered 4xx. */
  serverErrors: string[];
  /** Acknowledged writes missing, or present more than once, at the end. */
  lost: string[];
  /** Writes still unanswered after retrying for `retryForMs` (their outcome is unknown: the check skips their index). */
  unresolved: string[];
  /** Writes sent again after no answer or a storage 503. */
  retried: number;
  /** Faults injected, by kind. */
  faults: Record<string, number>;
  /** Acknowledged vectors checked at the end. */
  checkedVectors: number;
}

interface Ledger {
  tenant: string;
  key: string;
  readKey: string;
  name: string;
  /** Acknowledged ids not removed, with the vector sent for each. */
  live: Map<number, Float32Array>;
  /** False once a write's outcome is unknown (unanswered after every retry). */
  knowable: boolean;
  busy: Promise<unknown>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runSoak(o: SoakOptions): Promise<SoakReport> {
  const d = o.dimension ?? 8;
  const random = rng(o.seed ?? 7);
  const retryForMs = o.retryForMs ?? 30_000;
  const report: SoakReport = { requests: 0, statuses: {}, serverErrors: [], lost: [], unresolved: [], retried: 0, faults: {}, checkedVectors: 0 };
  const count = (status: string) => (report.statuses[status] = (report.statuses[status] ?? 0) + 1);

  // Fault windows: a request may meet a fault's effects if a window of that kind was open at any time while it ran.
  const windows: Record<FaultKind, { open: boolean; begun: number }> = { kill: { open: false, begun: 0 }, storage: { open: false, begun: 0 } };
  const mark = () => ({ kill: windows.kill.begun + (windows.kill.open ? 0.5 : 0), storage: windows.storage.begun + (windows.storage.open ? 0.5 : 0) });
  const overlapped = (kind: FaultKind, at: ReturnType<typeof mark>) => windows[kind].open || at[kind] !== windows[kind].begun;

  const isStorage503 = (r: Reply) => r.status === 503 && r.json?.error?.code === 'ERR_STORAGE_FAILED';

  /** One request. undefined: no answer (the server was down). */
  const send = async (method: string, route: string, key: string, body: Parameters<typeof call>[3]): Promise<Reply | undefined> => {
    report.requests++;
    const at = mark();
    try {
      const r = await call(o.url(), method, route, { key, ...body });
      count(String(r.status));
      if (r.status >= 500 && !(isStorage503(r) && overlapped('storage', at))) report.serverErrors.push(`${method} ${route} ${r.status} ${r.bytes.toString('utf8').slice(0, 200)}`);
      return r;
    } catch (e) {
      count('unavailable');
      if (!overlapped('kill', at)) report.serverErrors.push(`${method} ${route}: no answer outside a kill (${(e as Error).message})`);
      return undefined;
    }
  };

  /** A write: sent again (same body, same Idempotency-Key) while it gets no answer or a storage 503. undefined: never answered. */
  const write = async (method: string, route: string, key: string, body: Parameters<typeof call>[3]): Promise<Reply | undefined> => {
    const deadline = Date.now() + retryForMs;
    for (let attempt = 0; ; attempt++) {
      const r = await send(method, route, key, body);
      if (r && !isStorage503(r)) return r;
      if (Date.now() > deadline) {
        report.unresolved.push(`${method} ${route} ${body?.headers?.['Idempotency-Key'] ?? ''}: ${r ? r.status : 'no answer'} for ${retryForMs} ms`);
        return undefined;
      }
      report.retried++;
      await sleep(Math.min(1000, 50 * 2 ** attempt) * (0.5 + random() / 2));
    }
  };

  const vectors = (n: number) => Float32Array.from({ length: n * d }, () => random());
  const bytes = (x: Float32Array) => new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
  const rows = (x: Float32Array) => Array.from({ length: x.length / d }, (_, i) => Array.from(x.subarray(i * d, (i + 1) * d)));
  const newIdempotencyKey = () => ({ 'Idempotency-Key': `k${Math.floor(random() * 2 ** 40)}` });

  // Tenants, each with a write key, a read key and two indexes to start with.
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
      ledgers.push({ tenant, key: write, readKey: read, name, live: new Map(), knowable: true, busy: Promise.resolve() });
    }
  }

  /** Writes to one index run one at a time, so the ledger knows what each acknowledged. */
  const serial = (l: Ledger, fn: () => Promise<void>) => (l.busy = l.busy.then(fn, fn));

  const add = (l: Ledger, retry: boolean) =>
    serial(l, async () => {
      const n = 1 + Math.floor(random() * 20);
      const x = vectors(n);
      const idem = newIdempotencyKey();
      const r = await write('POST', `/v1/indexes/${l.name}/add`, l.key, random() < 0.5 ? { json: { vectors: rows(x) }, headers: idem } : { body: bytes(x), headers: idem });
      if (!r) return void (l.knowable = false);
      if (r.status !== 200) return;
      for (let i = 0; i < r.json.added; i++) l.live.set(r.json.firstId + i, x.slice(i * d, (i + 1) * d));
      if (retry) {
        const again = await send('POST', `/v1/indexes/${l.name}/add`, l.key, { json: { vectors: rows(x) }, headers: idem });
        if (again && again.status === 200) assert.deepEqual([again.json.added, again.json.firstId], [r.json.added, r.json.firstId], 'a retry answered differently');
      }
    });

  const remove = (l: Ledger) =>
    serial(l, async () => {
      const ids = [...l.live.keys()];
      if (ids.length === 0) return;
      const id = ids[Math.floor(random() * ids.length)];
      const r = await write('POST', `/v1/indexes/${l.name}/remove`, l.key, { json: { ids: [id] }, headers: newIdempotencyKey() });
      if (!r) return void (l.knowable = false);
      if (r.status !== 200) return;
      if (r.json.removed !== 1) report.lost.push(`${l.tenant}/${l.name}: removing acknowledged id ${id} answered removed ${r.json.removed}`);
      l.live.delete(id);
    });

  const read = async (l: Ledger) => {
    const p = random();
    if (p < 0.4) {
      await send('POST', `/v1/indexes/${l.name}/search`, l.readKey, { json: { vectors: rows(vectors(1 + Math.floor(random() * 4))), k: 5 } });
    } else if (p < 0.7) {
      await send('POST', `/v1/indexes/${l.name}/search?k=10`, l.readKey, { body: bytes(vectors(4)), headers: { Accept: 'application/octet-stream' } });
    } else if (p < 0.8) {
      const ids = [...l.live.keys()];
      if (ids.length) await send('POST', `/v1/indexes/${l.name}/reconstruct`, l.readKey, { json: { ids: [ids[Math.floor(random() * ids.length)]] } });
    } else if (p < 0.9) {
      await send('GET', `/v1/indexes/${l.name}`, l.readKey, {});
    } else {
      await send('GET', '/v1/indexes', l.readKey, {});
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
    if (r && r.status < 400) report.serverErrors.push(`bad request ${method} ${route} answered ${r.status}`);
  };

  // Short-lived indexes: created, written, deleted, while the others run (retried like any client would).
  let scratch = 0;
  const churn = async (k: { tenant: string; write: string }) => {
    const name = `tmp${scratch++}`;
    const made = await write('POST', '/v1/indexes', k.write, { json: { name, dimension: d, type: 'IndexFlatL2' } });
    if (made?.status !== 201 && made?.status !== 409) return;
    await write('POST', `/v1/indexes/${name}/add`, k.write, { body: bytes(vectors(5)), headers: newIdempotencyKey() });
    await write('DELETE', `/v1/indexes/${name}`, k.write, {});
  };

  const deadline = Date.now() + o.durationMs;
  const client = async (c: number) => {
    const k = keys[c % keys.length];
    const mine = ledgers.filter((l) => l.tenant === k.tenant);
    while (Date.now() < deadline) {
      const l = mine[Math.floor(random() * mine.length)];
      const p = random();
      if (p < 0.55) await read(l);
      else if (p < 0.8) await add(l, p < 0.6);
      else if (p < 0.9) await remove(l);
      else if (p < 0.97) await bad(l);
      else await churn(k);
    }
  };

  // One fault at a time, at random moments, until the clients stop.
  let clientsDone = false;
  const injector = async () => {
    const f = o.faults;
    if (!f) return;
    const kinds = (Object.keys(f.kinds) as FaultKind[]).filter((k) => f.kinds[k]);
    for (let n = 0; ; n++) {
      const [min, max] = f.everyMs;
      const wait = min + random() * (max - min);
      const until = Date.now() + wait;
      while (!clientsDone && Date.now() < until) await sleep(Math.min(50, until - Date.now()));
      if (clientsDone || Date.now() > deadline) return;
      const kind = kinds[n % kinds.length];
      report.faults[kind] = (report.faults[kind] ?? 0) + 1;
      windows[kind].open = true;
      windows[kind].begun++;
      try {
        await f.kinds[kind]!();
      } finally {
        windows[kind].open = false;
      }
    }
  };
  const faults = injector();
  try {
    await Promise.all(Array.from({ length: o.clients }, (_, c) => client(c)));
  } finally {
    clientsDone = true;
    await faults;
  }
  await Promise.all(ledgers.map((l) => l.busy));

  await o.beforeCheck?.();
  for (const l of ledgers) await check(o.url(), l, report);
  return report;
}

/** The index holds exactly its acknowledged writes: ntotal, and each live id's vector. */
async function check(url: string, l: Ledger, report: SoakReport): Promise<void> {
  if (!l.knowable) return;
  const where = `${l.tenant}/${l.name}`;
  const described = await call(url, 'GET', `/v1/indexes/${l.name}`, { key: l.readKey });
  if (described.json?.ntotal !== l.live.size) report.lost.push(`${where}: ntotal ${described.json?.ntotal}, acknowledged ${l.live.size}`);
  const ids = [...l.live.keys()];
  for (let i = 0; i < ids.length; i += 10_000) {
    const batch = ids.slice(i, i + 10_000);
    const r = await call(url, 'POST', `/v1/indexes/${l.name}/reconstruct`, { key: l.readKey, json: { ids: batch } });
    if (r.status !== 200) {
      report.lost.push(`${where}: reconstruct of ${batch.length} acknowledged ids answered ${r.status} ${r.bytes.toString('utf8').slice(0, 200)}`);
      continue;
    }
    batch.forEach((id, j) => {
      const sent = l.live.get(id)!;
      const got = r.json.vectors[j] as number[];
      if (got.length !== sent.length || got.some((v, k) => v !== sent[k])) report.lost.push(`${where}: id ${id} holds ${JSON.stringify(got)}, acknowledged ${JSON.stringify(Array.from(sent))}`);
    });
    report.checkedVectors += batch.length;
  }
}
