// A retried write (same Idempotency-Key, same request) gets the first answer,
// from the first request's result, also after a restart (from the log, and from
// a snapshot); the same key with another body or operation is refused with 422
// ERR_IDEMPOTENCY_MISMATCH and changes nothing.
import { strict as assert } from 'node:assert';
import { randomVectors } from '../../support/data';
import { client, startServer, type ServerProcess } from '../../support/server';
import { openTestServices, type TestServices } from '../../support/services';

const d = 4;

describe('service: idempotent retries answer as the first request did', function () {
  this.timeout(60_000);

  describe('over HTTP', () => {
    let s: ServerProcess;
    before(async () => {
      s = await startServer();
    });
    after(async () => {
      await s?.stop();
    });

    it('a retry gets the first answer; the key with another body or operation is a 422 that changes nothing', async () => {
      const c = client(s.url, s.adminKey);
      assert.equal((await c.post('/v1/indexes', { name: 'docs', dimension: d, type: 'IndexFlatL2' })).status, 201);
      const key = { headers: { 'Idempotency-Key': 'batch-0001' } };
      const first = await c.post('/v1/indexes/docs/add', { vectors: [[1, 1, 1, 1]] }, key);
      assert.deepEqual([first.status, first.json], [200, { added: 1, ntotal: 1, firstId: 0 }]);
      const retry = await c.post('/v1/indexes/docs/add', { vectors: [[1, 1, 1, 1]] }, key);
      assert.deepEqual([retry.status, retry.json], [200, { added: 1, ntotal: 1, firstId: 0 }]);
      assert.equal(retry.headers.get('x-index-version'), first.headers.get('x-index-version'));

      const otherBody = await c.post('/v1/indexes/docs/add', { vectors: [[2, 2, 2, 2], [3, 3, 3, 3]] }, key);
      assert.equal(otherBody.status, 422, JSON.stringify(otherBody.json));
      assert.equal(otherBody.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
      const otherIds = await c.post('/v1/indexes/docs/add', { vectors: [[1, 1, 1, 1]], ids: [5] }, key);
      assert.equal(otherIds.json?.error?.code, 'ERR_IDEMPOTENCY_MISMATCH');
      const otherOperation = await c.post('/v1/indexes/docs/remove', { ids: [0] }, key);
      assert.equal(otherOperation.status, 422);
      assert.equal(otherOperation.json.error.code, 'ERR_IDEMPOTENCY_MISMATCH');
      assert.equal((await c.get('/v1/indexes/docs')).json.ntotal, 1);
    });
  });

  describe('across restarts', () => {
    let s: TestServices;
    beforeEach(async () => {
      s = await openTestServices({ fsync: false });
      await s.indexes.create('t', { name: 'i', dimension: d, type: 'IndexFlatL2' });
      await s.indexes.add('t', 'i', randomVectors(3, d, 1));
    });
    afterEach(async () => {
      await s.cleanup();
    });

    const x = randomVectors(2, d, 2);
    const y = randomVectors(2, d, 3);

    for (const via of ['the log', 'a snapshot']) {
      it(`remembers the first result and the request, through ${via}`, async () => {
        assert.deepEqual(await s.indexes.add('t', 'i', x, undefined, 'k1'), { added: 2, ntotal: 5, firstId: 3 });
        assert.deepEqual(await s.indexes.remove('t', 'i', BigInt64Array.of(0n), 'k2'), { removed: 1, ntotal: 4 });
        if (via === 'a snapshot') await s.indexes.snapshotAll();
        s = await s.reopen();
        assert.deepEqual(await s.indexes.add('t', 'i', x, undefined, 'k1'), { added: 2, ntotal: 4, firstId: 3 });
        assert.deepEqual(await s.indexes.remove('t', 'i', BigInt64Array.of(0n), 'k2'), { removed: 1, ntotal: 4 });
        await assert.rejects(s.indexes.add('t', 'i', y, undefined, 'k1'), { code: 'ERR_IDEMPOTENCY_MISMATCH' });
        await assert.rejects(s.indexes.remove('t', 'i', BigInt64Array.of(1n), 'k2'), { code: 'ERR_IDEMPOTENCY_MISMATCH' });
        await assert.rejects(s.indexes.reset('t', 'i', 'k1'), { code: 'ERR_IDEMPOTENCY_MISMATCH' });
        assert.equal((await s.indexes.describe('t', 'i')).ntotal, 4);
      });
    }
  });
});
