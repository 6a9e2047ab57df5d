// A remote index's writes take the caller's idempotency key, as a collection's
// do: the same key and request from another client (another process, a resumed
// import) is applied once; the same key with another request is refused.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import { connect } from '../../lib/client/connect';
import { FaissError } from '../../lib/errors';
import { makeTenant, startServer, type ServerProcess } from '../support/server';

describe('remote client: an index write with the caller\'s idempotency key', function () {
  this.timeout(60_000);
  let s: ServerProcess;
  let key: string;

  before(async () => {
    s = await startServer({ args: ['--fsync', 'false'] });
    key = (await makeTenant(s, 'acme')).write;
  });
  after(async () => {
    await s?.stop();
    if (s) fs.rmSync(s.dataDir, { recursive: true, force: true });
  });

  it('applies add and addWithIds once per key, across clients, and refuses the key with another body', async () => {
    const a = connect({ url: s.url, apiKey: key });
    const b = connect({ url: s.url, apiKey: key });
    const first = a.indexFactory(2, 'Flat', a.METRIC_L2, { name: 'flat' });
    const x = new Float32Array([1, 2, 3, 4]);
    await first.add(x, { idempotencyKey: 'chunk-0' });
    const second = await b.openIndex('flat');
    await second.add(x, { idempotencyKey: 'chunk-0' });
    assert.equal((await second.refresh()).ntotal, 2);
    await second.add(x);
    await second.add(x);
    assert.equal((await second.refresh()).ntotal, 6, 'without a key, each call is its own write');
    await assert.rejects(second.add(new Float32Array([9, 9]), { idempotencyKey: 'chunk-0' }), (e: unknown) => e instanceof FaissError && e.code === 'ERR_IDEMPOTENCY_MISMATCH');

    const mapped = a.indexFactory(2, 'IDMap,Flat', a.METRIC_L2, { name: 'mapped' });
    await mapped.addWithIds(x, [10, 11], { idempotencyKey: 'ids-0' });
    await (await b.openIndex('mapped')).addWithIds(x, [10, 11], { idempotencyKey: 'ids-0' });
    assert.equal((await mapped.refresh()).ntotal, 2);
  });

  it('refuses a key the service would refuse, before sending', async () => {
    const index = connect({ url: s.url, apiKey: key }).indexFactory(2, 'Flat', undefined, { name: 'bad-key' });
    for (const idempotencyKey of ['', 'has space', 'x'.repeat(129), 'é']) {
      await assert.rejects(index.add(new Float32Array([1, 2]), { idempotencyKey }), (e: unknown) => e instanceof FaissError && e.code === 'ERR_INVALID_ARGUMENT' && /idempotencyKey/.test(e.message));
    }
    assert.equal((await index.refresh()).ntotal, 0);
  });
});
