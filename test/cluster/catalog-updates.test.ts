// Concurrent updates of one catalog record through 3 nodes (docs/cluster.md
// "Concurrent updates"): each is a read-modify-write on the record as the
// catalog stream's leader has it when the change lands (stream-cas.ts), so a
// quota change is not lost to another node's change of another quota, a delete
// is not undone by an update that read the record before it (an alias switch, a
// key's revocation), and no alias is left pointing at a collection deleted while
// it was switched to it. Before, each update wrote the whole record as this
// node's copy had it (last writer wins): these rounds caught each of those.
// Two guard what held before too: two switches at once agree on every node, and
// of two imports at once one wins (the other's node usually follows the winner
// first and answers 404; now, when it does not, its switch is refused: 503).
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { Kvm } from '@nats-io/kv';
import { indexFactory, serializeIndex } from '../../lib';
import { METRIC_L2 } from '../../lib/constants';
import { hashedVector } from '../support/data';
import type { NatsCluster } from '../support/nats-cluster';
import type { ProxyNode } from '../support/proxy-cluster';
import { client } from '../support/server';
import { startCluster, stopCluster } from '../support/cluster-fixture';
import { decideUpdate } from '../../service/cluster/catalog-writer';
import { CATALOG_BUCKET } from '../../service/cluster/kv-catalog';
import { setKeyIf, UnsettledChange } from '../../service/cluster/stream-cas';

type Client = ReturnType<typeof client>;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A flat FAISS file of `n` rows of dimension 4. */
async function flatFile(n: number): Promise<Buffer> {
  const index = indexFactory(4, 'Flat', METRIC_L2);
  try {
    await index.add(new Float32Array(Array.from({ length: n }, (_, i) => hashedVector(i, 4)).flat()));
    return Buffer.from(await serializeIndex(index));
  } finally {
    index.dispose();
  }
}

/** Polls `f` on every client until it holds (true) or 5 s pass (false). */
async function onEvery(clients: Client[], f: (c: Client) => Promise<boolean>): Promise<boolean> {
  for (const c of clients) {
    let t = 0;
    while (!(await f(c))) {
      if (++t > 250) return false;
      await sleep(20);
    }
  }
  return true;
}

describe('cluster: concurrent updates of one catalog record through several nodes', function () {
  this.timeout(120_000);
  let nats: NatsCluster;
  let nodes: ProxyNode[] = [];
  let admin: Client[];
  before(async () => {
    ({ nats, nodes } = await startCluster());
    admin = nodes.map((n) => client(n.url, n.adminKey));
  });
  after(() => stopCluster(nats, nodes));

  it('the update of a record decides on the record as it is: fields given over it, nothing when it is gone or not as expected', () => {
    const t = JSON.stringify({ name: 't', maxIndexes: 1, maxVectors: 2 });
    assert.deepEqual(JSON.parse(decideUpdate('t.x', { set: { maxVectors: 5, maxBytes: undefined } }, t, []).next!), { name: 't', maxIndexes: 1, maxVectors: 5 });
    assert.deepEqual(decideUpdate('t.x', { set: { maxVectors: 5 } }, undefined, []), { answer: { missing: 't.x' } });
    const key = JSON.stringify({ id: 'k', revokedAt: '2026-01-01' });
    assert.deepEqual(decideUpdate('k.x', { set: { revokedAt: 'later' }, expect: { revokedAt: null } }, key, []), { answer: { conflict: true, value: key } });
    const alias = JSON.stringify({ alias: 'a', collection: 'c1' });
    assert.deepEqual(decideUpdate('a.x', { set: { collection: 'c2' }, requires: ['c.c2'] }, alias, [undefined]), { answer: { missing: 'c.c2' } });
    assert.deepEqual(JSON.parse(decideUpdate('a.x', { set: { collection: 'c2' }, requires: ['c.c2'] }, alias, ['{}']).next!), { alias: 'a', collection: 'c2' });
  });

  it("the cost of an update's compare-and-set against KV's put, one at a time; one that keeps losing gives up at its deadline", async () => {
    const nc = await connect({ servers: nats.urls.split(',') });
    try {
      const kv = await new Kvm(nc).open(CATALOG_BUCKET);
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      // Keys under `x.`: no kind of record (kv-catalog.ts reads a key's first letter), so the running nodes ignore them.
      const record = (r: number) => JSON.stringify({ name: 'cost', maxIndexes: r, maxVectors: 1000 });
      const ms: { kv: number[]; cas: number[] } = { kv: [], cas: [] };
      for (let r = 0; r < 20; r++) {
        let t = performance.now();
        await kv.put('x.cost.kv', record(r));
        ms.kv.push(performance.now() - t);
        t = performance.now();
        await setKeyIf(jsm, js, CATALOG_BUCKET, 'x.cost.cas', (current) => decideUpdate('x.cost.cas', { set: { maxIndexes: r } }, current ?? record(0), []).next, 8_000);
        ms.cas.push(performance.now() - t);
      }
      const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1].toFixed(2);
      console.log(`      one update at a time (20 each, alternating): KV's put median ${median(ms.kv)} ms, the compare-and-set median ${median(ms.cas)} ms`);
      assert.equal(JSON.parse((await kv.get('x.cost.cas'))!.string()).maxIndexes, 19);
      // A change that keeps losing (here: another append lands before each try's, every time) gives up at its deadline.
      let tries = 0;
      const t = performance.now();
      const unsettled = await setKeyIf(
        jsm,
        js,
        CATALOG_BUCKET,
        'x.cost.cas',
        (current) => {
          tries++;
          void js.publish(`$KV.${CATALOG_BUCKET}.x.other`, String(tries)); // sent before this try's append, on the same connection
          return current;
        },
        300,
      ).catch((e: unknown) => e);
      assert.ok(unsettled instanceof UnsettledChange, String(unsettled));
      assert.ok(tries > 1 && performance.now() - t < 5_000, `${tries} tries in ${performance.now() - t} ms`);
    } finally {
      await nc.close();
    }
  });

  it("three quotas of one tenant changed through three nodes at once: every change is kept", async () => {
    assert.equal((await admin[0].post('/v1/admin/tenants', { name: 'quotas' })).status, 201);
    const ROUNDS = 8;
    const lost: string[] = [];
    for (let r = 1; r <= ROUNDS; r++) {
      const want = { maxIndexes: 100 + r, maxVectors: 10_000 + r, maxBytes: 1_000_000 + r };
      const statuses = await Promise.all(
        Object.entries(want).map(([field, value], n) => admin[n].patch('/v1/admin/tenants/quotas', { quotas: { [field]: value } }).then((x) => x.status)),
      );
      assert.deepEqual(statuses, [200, 200, 200]);
      const agreed = await onEvery(admin, async (c) => {
        const t = (await c.get('/v1/admin/tenants/quotas')).json;
        return t.maxIndexes === want.maxIndexes && t.maxVectors === want.maxVectors && t.maxBytes === want.maxBytes;
      });
      if (!agreed) {
        const t = (await admin[0].get('/v1/admin/tenants/quotas')).json;
        lost.push(`round ${r}: ${JSON.stringify({ maxIndexes: t.maxIndexes, maxVectors: t.maxVectors, maxBytes: t.maxBytes })}`);
      }
    }
    console.log(`      ${lost.length} of ${ROUNDS} rounds lost a quota change${lost.length ? `: ${lost.slice(0, 3).join('; ')}` : ''}`);
    assert.deepEqual(lost, []);
  });

  describe('aliases', () => {
    let api: Client[];
    before(async () => {
      assert.equal((await admin[0].post('/v1/admin/tenants', { name: 'aliases', quotas: { maxIndexes: 1000 } })).status, 201);
      const key = (await admin[0].post('/v1/admin/tenants/aliases/keys', { role: 'admin' })).json.key as string;
      api = nodes.map((n) => client(n.url, key));
      assert.ok(await onEvery(api, async (c) => (await c.get('/v1/collections')).status === 200));
      for (const c of ['c1', 'c2']) assert.equal((await api[0].post('/v1/collections', { name: c, dimension: 4 })).status, 201);
      assert.ok(await onEvery(api, async (c) => (await c.get('/v1/collections/c2')).status === 200));
    });
    const targetOn = async (c: Client, alias: string) =>
      ((await c.get('/v1/aliases')).json.aliases as { alias: string; collection: string }[]).find((a) => a.alias === alias)?.collection;

    it('switched through two nodes at once: every node ends on the same one of the two', async () => {
      const ROUNDS = 6;
      const bad: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        assert.equal((await api[0].post('/v1/aliases', { alias: `both${r}`, collection: 'c1' })).status, 201);
        assert.ok(await onEvery(api, async (c) => (await targetOn(c, `both${r}`)) === 'c1'));
        const s = await Promise.all([api[1].put(`/v1/aliases/both${r}`, { json: { collection: 'c2' } }), api[2].put(`/v1/aliases/both${r}`, { json: { collection: 'c1' } })]);
        assert.deepEqual(s.map((x) => x.status), [200, 200]);
        await sleep(200);
        const seen = await Promise.all(api.map((c) => targetOn(c, `both${r}`)));
        if (!['c1', 'c2'].includes(seen[0]!) || seen.some((x) => x !== seen[0])) bad.push(`round ${r}: ${seen.join(',')}`);
      }
      assert.deepEqual(bad, []);
    });

    it('deleted through one node while switched through two others: it stays deleted', async () => {
      const ROUNDS = 8;
      const back: string[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        assert.equal((await api[0].post('/v1/aliases', { alias: `gone${r}`, collection: 'c1' })).status, 201);
        assert.ok(await onEvery(api, async (c) => (await targetOn(c, `gone${r}`)) === 'c1'));
        const s = await Promise.all([
          api[0].del(`/v1/aliases/gone${r}`),
          sleep(r % 4).then(() => api[1].put(`/v1/aliases/gone${r}`, { json: { collection: 'c2' } })),
          sleep(r % 3).then(() => api[2].put(`/v1/aliases/gone${r}`, { json: { collection: 'c2' } })),
        ]);
        assert.equal(s[0].status, 204);
        for (const x of s.slice(1)) assert.ok(x.status === 200 || (x.status === 404 && x.json.error.code === 'ERR_ALIAS_NOT_FOUND'), `${x.status} ${JSON.stringify(x.json)}`);
        await sleep(200);
        const seen = await Promise.all(api.map((c) => targetOn(c, `gone${r}`)));
        if (seen.some((x) => x !== undefined)) back.push(`round ${r}: ${seen.join(',')}`);
      }
      console.log(`      ${back.length} of ${ROUNDS} deleted aliases came back${back.length ? `: ${back.slice(0, 3).join('; ')}` : ''}`);
      assert.deepEqual(back, []);
    });

    it('switched to a collection while it is deleted through another node: never left pointing at a deleted collection', async () => {
      const ROUNDS = 8;
      const dangling: string[] = [];
      let kept = 0;
      for (let r = 0; r < ROUNDS; r++) {
        assert.equal((await api[0].post('/v1/collections', { name: `d${r}`, dimension: 4 })).status, 201);
        assert.equal((await api[0].post('/v1/aliases', { alias: `to${r}`, collection: 'c1' })).status, 201);
        assert.ok(await onEvery(api, async (c) => (await c.get(`/v1/collections/d${r}`)).status === 200 && (await targetOn(c, `to${r}`)) === 'c1'));
        const [drop, sw] = await Promise.all([api[0].del(`/v1/collections/d${r}`), sleep(r % 3).then(() => api[1].put(`/v1/aliases/to${r}`, { json: { collection: `d${r}` } }))]);
        // The drop wins (204, the switch 404) or the switch does (200, the drop refused: an alias points at it).
        assert.ok(drop.status === 204 || (drop.status === 400 && drop.json.error.code === 'ERR_INVALID_ARGUMENT'), `drop: ${drop.status} ${JSON.stringify(drop.json)}`);
        assert.ok(sw.status === 200 || (sw.status === 404 && sw.json.error.code === 'ERR_COLLECTION_NOT_FOUND'), `switch: ${sw.status} ${JSON.stringify(sw.json)}`);
        if (drop.status === 400) kept++;
        await sleep(200);
        for (const [n, c] of api.entries()) {
          const target = await targetOn(c, `to${r}`);
          if (target === `d${r}` && (await c.get(`/v1/collections/d${r}`)).status !== 200) dangling.push(`round ${r}: node ${n}'s alias points at deleted d${r}`);
        }
      }
      console.log(`      ${dangling.length} dangling of ${ROUNDS} rounds (${kept} kept by the switch)${dangling.length ? `: ${dangling.slice(0, 3).join('; ')}` : ''}`);
      assert.deepEqual(dangling, []);
    });
  });

  it('an index imported through two nodes at once: every node ends on one of the two files, and no stream is left behind', async () => {
    assert.equal((await admin[0].post('/v1/admin/tenants', { name: 'imports' })).status, 201);
    const key = (await admin[0].post('/v1/admin/tenants/imports/keys', { role: 'write' })).json.key as string;
    const api = nodes.map((n) => client(n.url, key));
    assert.ok(await onEvery(api, async (c) => (await c.get('/v1/indexes')).status === 200));
    assert.equal((await api[0].put('/v1/indexes/imp/import', { body: await flatFile(10) })).status, 201);
    const streams = async (): Promise<number> => {
      const nc = await connect({ servers: nats.urls.split(',') });
      try {
        return (await (await jetstreamManager(nc)).streams.list().next()).filter((x) => x.config.name.startsWith('FP_')).length;
      } finally {
        await nc.close();
      }
    };
    const ROUNDS = 3;
    const bad: string[] = [];
    const answered: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      assert.ok(await onEvery(api, async (c) => (await c.get('/v1/indexes/imp')).status === 200));
      const before = await streams();
      const sizes = [20 + r, 30 + r];
      const files = await Promise.all(sizes.map(flatFile));
      const s = await Promise.all([api[1].put('/v1/indexes/imp/import', { body: files[0] }), api[2].put('/v1/indexes/imp/import', { body: files[1] })]);
      // The loser: 503 (its switch found the other's) or 404 (its node had already followed the other's switch).
      for (const x of s) assert.ok(x.status === 200 || (x.status === 503 && x.json.error.code === 'ERR_STORAGE_FAILED') || (x.status === 404 && x.json.error.code === 'ERR_INDEX_NOT_FOUND'), `${x.status} ${JSON.stringify(x.json)}`);
      answered.push(s.map((x) => x.status).join('+'));
      assert.ok(s.some((x) => x.status === 200), 'one import switched');
      const won = s.length === 2 && s.every((x) => x.status === 200) ? sizes : sizes.filter((_, i) => s[i].status === 200);
      let seen: number[] = [];
      const agreed = await onEvery(api, async () => {
        seen = await Promise.all(api.map(async (c) => (await c.get('/v1/indexes/imp')).json.ntotal as number));
        return seen.every((n) => n === seen[0]) && won.includes(seen[0]);
      });
      if (!agreed) bad.push(`round ${r}: answered ${s.map((x) => x.status).join(',')}, nodes hold ${seen.join(',')}`);
      const left = await streams();
      if (left !== before) bad.push(`round ${r}: ${left} streams, ${before} before (answered ${s.map((x) => x.status).join(',')})`);
    }
    console.log(`      answered ${answered.join(', ')}; ${bad.length} bad of ${ROUNDS} rounds${bad.length ? `: ${bad.join('; ')}` : ''}`);
    assert.deepEqual(bad, []);
  });

  it("a key revoked through one node while its tenant is deleted through another: not brought back (the name made again has no keys)", async () => {
    const ROUNDS = 8;
    const back: string[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      const name = `revoke${r}`;
      assert.equal((await admin[0].post('/v1/admin/tenants', { name })).status, 201);
      const ids: string[] = [];
      for (let k = 0; k < 3; k++) ids.push((await admin[0].post(`/v1/admin/tenants/${name}/keys`, { role: 'read' })).json.id as string);
      assert.ok(await onEvery(admin, async (c) => ((await c.get(`/v1/admin/tenants/${name}/keys`)).json.keys ?? []).length === 3));
      const [del, revoke] = await Promise.all([admin[0].del(`/v1/admin/tenants/${name}`), sleep(r % 4).then(() => admin[1].del(`/v1/admin/keys/${ids[0]}`))]);
      assert.equal(del.status, 204);
      assert.ok(revoke.status === 200 || (revoke.status === 404 && revoke.json.error.code === 'ERR_KEY_NOT_FOUND'), `${revoke.status} ${JSON.stringify(revoke.json)}`);
      assert.ok(await onEvery(admin, async (c) => (await c.get(`/v1/admin/tenants/${name}`)).status === 404));
      await sleep(100);
      assert.equal((await admin[2].post('/v1/admin/tenants', { name })).status, 201);
      await sleep(100);
      for (const [n, c] of admin.entries()) {
        const keys = ((await c.get(`/v1/admin/tenants/${name}/keys`)).json.keys ?? []) as { id: string }[];
        if (keys.length > 0) back.push(`round ${r}: node ${n} lists ${keys.map((k) => k.id).join(',')}`);
      }
    }
    console.log(`      ${back.length} keys of deleted tenants came back${back.length ? `: ${back.slice(0, 3).join('; ')}` : ''}`);
    assert.deepEqual(back, []);
  });
});
