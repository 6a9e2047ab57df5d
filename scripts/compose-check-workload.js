// The workload of scripts/compose-check.sh, against compose.yaml's three proxies (URL_LIST,
// KEY): read-your-writes across nodes, then writers and readers through the death of a proxy
// and a NATS server (OUTAGE_CMD, RECOVER_CMD, OUTAGE_S), then every node must hold exactly
// the acknowledged vectors. Exits 1 with what broke; prints what it measured.
'use strict';
const { exec } = require('node:child_process');
const run = require('node:util').promisify(exec);

const urls = process.env.URL_LIST.split(' ');
const KEY = process.env.KEY;
const OUTAGE_MS = Number(process.env.OUTAGE_S || 15) * 1000;
const INDEX = 'compose_check';
const WRITERS = 4;
const READERS = 2;
const log = (m) => console.error(`[compose-check] ${m}`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms) => (ms / 1000).toFixed(1);

/** A wrong answer (as opposed to a node that is down or busy, which the workload retries). */
class Violation extends Error {}

async function call(node, method, path, body, headers = {}) {
  const res = await fetch(urls[node] + path, {
    method,
    headers: { 'X-API-Key': KEY, 'Content-Type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A write waits up to 15 s inside the node for JetStream (docs/cluster.md).
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, version: Number(res.headers.get('x-index-version')), body: json };
}

function ok(r, what) {
  if (r.status !== 200 && r.status !== 201) throw new Violation(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

/** Retries `fn` (network errors, 404 while a node's catalog catches up, 503) for up to `ms`. */
async function until(fn, ms, what) {
  const deadline = Date.now() + ms;
  let last;
  for (;;) {
    try {
      last = await fn();
      if (last.status === 200) return last;
    } catch (e) {
      last = { status: 'network', body: String(e) };
    }
    if (Date.now() > deadline) throw new Violation(`${what}: still ${last.status} ${JSON.stringify(last.body)} after ${ms} ms`);
    await sleep(100);
  }
}

const vectorOf = (i) => [100 + i, 0.5, -1, 3];
const INITIAL = [[0, 0, 0, 0], [1, 1, 1, 1], [2, 2, 2, 2]];

async function main() {
  // --- 3. an index made and written through proxy-1, read through proxy-2 and proxy-3 ------
  ok(await call(0, 'POST', '/v1/indexes', { name: INDEX, dimension: 4, type: 'IndexFlatL2' }), 'create through proxy-1');
  const added = ok(await call(0, 'POST', `/v1/indexes/${INDEX}/add`, { vectors: INITIAL }), 'add through proxy-1');
  const v0 = added.version;
  if (!(v0 > 0)) throw new Violation(`the add answered X-Index-Version ${v0}`);
  const t0 = Date.now();
  const seen = await until(() => call(1, 'GET', `/v1/indexes/${INDEX}`, undefined, { 'X-Min-Sequence': String(v0) }), 10_000, 'read through proxy-2');
  if (seen.body.ntotal !== 3) throw new Violation(`proxy-2 with X-Min-Sequence ${v0}: ntotal ${seen.body.ntotal}, not 3`);
  const query = { vectors: [[0.9, 1, 1, 1]], k: 2 };
  const found = ok(await call(2, 'POST', `/v1/indexes/${INDEX}/search`, query, { 'X-Min-Sequence': String(v0) }), 'search through proxy-3');
  if (JSON.stringify(found.body.labels) !== '[[1,0]]') throw new Violation(`proxy-3's search answered ${JSON.stringify(found.body)}`);
  log(`index created and 3 vectors added through proxy-1 (X-Index-Version ${v0}); proxy-2 read them with X-Min-Sequence ` +
    `(${Date.now() - t0} ms after proxy-1's answer), proxy-3 searched them: labels [[1,0]]`);

  // --- 4. writers and readers through the outage -------------------------------------------
  const acked = new Map(); // write number -> { firstId, version }
  const stats = { attempts: 0, failedAttempts: 0, failedDuringOutage: 0, reads: 0, readFails: {}, readsDuringOutage: 0, readFailsDuringOutage: 0 };
  let next = 0;
  let stop = false;
  let outage = false;
  let maxVersion = v0;
  let killedAt = 0;

  async function writer() {
    while (!stop) {
      const i = next++;
      const started = Date.now();
      for (let attempt = 0; ; attempt++) {
        const node = (i + attempt) % 3;
        stats.attempts++;
        try {
          const r = await call(node, 'POST', `/v1/indexes/${INDEX}/add`, { vectors: [vectorOf(i)] }, { 'Idempotency-Key': `compose-check-${i}` });
          if (r.status === 200) {
            acked.set(i, { firstId: r.body.firstId, version: r.version });
            maxVersion = Math.max(maxVersion, r.version);
            break;
          }
          if (r.status !== 503 && r.status !== 429) throw new Violation(`add ${i} through proxy-${node + 1}: ${r.status} ${JSON.stringify(r.body)}`);
        } catch (e) {
          if (e instanceof Violation) throw e;
        }
        stats.failedAttempts++;
        if (outage) stats.failedDuringOutage++;
        if (Date.now() - started > 120_000) throw new Violation(`add ${i} not acknowledged through any proxy in 120 s`);
        await sleep(250);
      }
    }
  }

  async function reader(r) {
    for (let n = 0; !stop; n++) {
      const node = (r + n) % 3;
      const v = maxVersion;
      // Every add acknowledged at a version <= v is in a node that has applied through v.
      let bound = INITIAL.length;
      for (const a of acked.values()) if (a.version <= v) bound++;
      const during = outage;
      let status;
      try {
        const res = await call(node, 'GET', `/v1/indexes/${INDEX}`, undefined, { 'X-Min-Sequence': String(v) });
        status = res.status === 200 ? 200 : `${res.status} ${res.body?.error?.code ?? ''}`.trim();
        if (res.status === 200 && res.body.ntotal < bound) {
          throw new Violation(`proxy-${node + 1} with X-Min-Sequence ${v} answered ntotal ${res.body.ntotal}, below the ${bound} adds acknowledged through ${v}`);
        }
      } catch (e) {
        if (e instanceof Violation) throw e;
        status = 'network';
      }
      if (status === 200) {
        stats.reads++;
        if (during) stats.readsDuringOutage++;
      } else {
        // How many, and from when to when (seconds after the SIGKILL; negative: before it).
        const what = `proxy-${node + 1} ${status}`;
        const at = Date.now();
        const f = (stats.readFails[what] ??= { n: 0, from: at, to: at });
        f.n++;
        f.to = at;
        if (during) stats.readFailsDuringOutage++;
      }
      await sleep(50);
    }
  }

  const running = [...Array.from({ length: WRITERS }, writer), ...Array.from({ length: READERS }, (_, r) => reader(r))];
  // A Violation stops everything at once.
  const failed = new Promise((_, reject) => running.forEach((p) => p.catch(reject)));
  failed.catch(() => {});
  const phase = (p) => Promise.race([p, failed]);

  await phase(sleep(5_000));
  const before = acked.size;
  log(`${WRITERS} writers, ${READERS} readers: ${before} adds acknowledged in 5 s; SIGKILL proxy-2 and nats-2`);
  outage = true;
  killedAt = Date.now();
  await phase(run(process.env.OUTAGE_CMD, { shell: '/bin/bash' }));
  await phase(sleep(OUTAGE_MS));
  const during = acked.size - before;
  if (during === 0) throw new Violation(`no add was acknowledged in the ${OUTAGE_MS / 1000} s proxy-2 and nats-2 were down`);
  if (stats.readsDuringOutage === 0) throw new Violation('no read succeeded while proxy-2 and nats-2 were down');
  log(`while down (${OUTAGE_MS / 1000} s): ${during} adds acknowledged through proxy-1 and proxy-3, ` +
    `${stats.failedDuringOutage} write attempts failed and were retried; ${stats.readsDuringOutage} reads answered, ${stats.readFailsDuringOutage} failed`);
  const restartAt = Date.now();
  await phase(run(process.env.RECOVER_CMD, { shell: '/bin/bash' }));
  outage = false;
  await phase(until(() => fetch(`${urls[1]}/readyz`).then((r) => ({ status: r.status, body: '' })), 180_000, 'proxy-2 ready again'));
  log(`nats-2 and proxy-2 started again (podman-compose start): proxy-2 ready after ${Date.now() - restartAt} ms`);
  await phase(sleep(10_000));
  stop = true;
  await phase(Promise.all(running));
  log(`writes: ${acked.size} adds acknowledged (${stats.attempts} attempts, ${stats.failedAttempts} failed and retried); ` +
    `reads: ${stats.reads} answered; failed (count, from s to s after the kill): ` +
    (Object.entries(stats.readFails).map(([what, f]) => `${what}: ${f.n}, ${seconds(f.from - killedAt)} to ${seconds(f.to - killedAt)}`).join('; ') || 'none'));

  // --- 5. every node holds exactly the acknowledged vectors --------------------------------
  const expected = new Map(INITIAL.map((v, id) => [id, v]));
  for (const [i, a] of acked) {
    if (expected.has(a.firstId)) throw new Violation(`two acknowledged adds got id ${a.firstId}`);
    expected.set(a.firstId, vectorOf(i));
  }
  const total = expected.size;
  for (let node = 0; node < 3; node++) {
    const min = { 'X-Min-Sequence': String(maxVersion) };
    const info = await until(() => call(node, 'GET', `/v1/indexes/${INDEX}`, undefined, min), 60_000, `proxy-${node + 1} through ${maxVersion}`);
    if (info.body.ntotal !== total) throw new Violation(`proxy-${node + 1} holds ${info.body.ntotal} vectors, not the ${total} acknowledged`);
    const ids = [...Array(total).keys()];
    for (let from = 0; from < total; from += 10_000) {
      const chunk = ids.slice(from, from + 10_000);
      const got = ok(await call(node, 'POST', `/v1/indexes/${INDEX}/reconstruct`, { ids: chunk }, min), `reconstruct through proxy-${node + 1}`);
      chunk.forEach((id, k) => {
        if (JSON.stringify(got.body.vectors[k]) !== JSON.stringify(expected.get(id))) {
          throw new Violation(`proxy-${node + 1}: id ${id} holds ${JSON.stringify(got.body.vectors[k])}, acknowledged as ${JSON.stringify(expected.get(id))}`);
        }
      });
    }
  }
  log(`every proxy (proxy-2 restarted) holds the ${total} acknowledged vectors, each once, at the id its add answered (version ${maxVersion})`);
}

main().catch((e) => {
  log(`FAILED: ${e instanceof Violation ? '' : 'unexpected: '}${e.stack || e}`);
  process.exit(1);
});
