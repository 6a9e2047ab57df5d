// Reading an object deleted while it is read (service/cluster/object-read.ts):
// @nats-io/obj's getBlob waits forever once the object's chunks are purged under
// it; readObject answers null (deleted) or fails (still there), within its bound.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstreamManager } from '@nats-io/jetstream';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { readObject } from '../../service/cluster/object-read';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';

describe('cluster: reading an object deleted while it is read', function () {
  this.timeout(60_000);
  let nats: NatsCluster;
  let nc: NatsConnection;
  let store: ObjectStore;
  const bytes = Buffer.alloc(600_000, 7); // five chunks

  before(async () => {
    nats = await startNatsCluster();
    nc = await connect({ servers: nats.urls.split(',') });
    store = await new Objm(nc).create('object-read-test');
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  /** Purges the object's chunks and leaves its metadata: the moment inside ObjectStore.delete, or inside a reader's get. */
  const purgeChunks = async (name: string) => {
    const info = await store.info(name);
    await (await jetstreamManager(nc)).streams.purge('OBJ_object-read-test', { filter: `$O.object-read-test.C.${info!.nuid}` });
  };

  it('reads a whole object, and null for one that is not there', async () => {
    await store.putBlob({ name: 'whole' }, bytes);
    assert.deepEqual(Buffer.from((await readObject(store, 'whole'))!), bytes);
    assert.equal(await readObject(store, 'missing'), null);
  });

  it('an object deleted while read is null within the bound (getBlob never ends)', async () => {
    await store.putBlob({ name: 'deleted' }, bytes);
    await purgeChunks('deleted');
    const read = readObject(store, 'deleted', 1_000);
    const blob = store.getBlob('deleted').then(() => 'ended', () => 'ended');
    await new Promise((r) => setTimeout(r, 200));
    await store.delete('deleted');
    assert.equal(await read, null);
    assert.equal(await Promise.race([blob, new Promise((r) => setTimeout(() => r('still waiting'), 2_000))]), 'still waiting', 'getBlob ended: the bound may be unneeded');
  });

  it('a read that stalls on an object still there fails within the bound', async () => {
    await store.putBlob({ name: 'stalled' }, bytes);
    await purgeChunks('stalled');
    await assert.rejects(readObject(store, 'stalled', 1_000), /stalled \(no chunk within 1000 ms\)/);
  });
});
