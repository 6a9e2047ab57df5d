// The replicated log's streams (cluster/replicated-log.ts), made and removed.
// A new stream numbered on from a replaced one (create), as an import's: its
// records come past the replaced stream's last,
// and its first append is answered on its first try, at the sequence after the
// stream's last. On nats-server 2.9.10 the first record after the purge that
// moves the numbering used to fail ("expected sequence does not match store"),
// and when the replaced stream's last record was 1 the next try was dropped
// unanswered: an import waited out a 5 s publish timeout. A stream already
// removed (by another node, or the leak collector) is removed again without
// error, its shared snapshot's pointer with it; it used to throw "stream not
// found" before reaching the pointer.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import type { NatsConnection } from '@nats-io/nats-core';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';
import { Kvm } from '@nats-io/kv';
import { JetStreamLog } from '../../service/cluster/replicated-log';
import { CATALOG_BUCKET, sharedSnapshotKey } from '../../service/cluster/kv-catalog';
import { mutationBytes } from '../../service/storage/mutation-log';

describe('cluster: the replicated log\'s streams, made and removed', function () {
  this.timeout(60_000);
  let nats: NatsCluster;
  let nc: NatsConnection;
  let log: JetStreamLog;
  before(async () => {
    nats = await startNatsCluster();
    nc = await connect({ servers: nats.urls.split(',') });
    // The catalog bucket, as the proxies make it: it holds the shared snapshots' pointers.
    await new Kvm(nc).create(CATALOG_BUCKET, { replicas: 3, history: 1 });
    log = await JetStreamLog.open(nc, 3, 900_000);
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  for (const replacedLast of [1, 2, 9]) {
    it(`after a stream whose last record is ${replacedLast}: the first append lands past it on its first try, expecting the new stream's last`, async () => {
      const id = `numbered-${replacedLast}`;
      await log.create(id, replacedLast);
      const last = await log.lastSeq(id);
      assert.ok(last >= replacedLast, `the new stream's last sequence ${last} is not before ${replacedLast}`);
      // One try, no retry: JetStream answers it (within its 5 s) with the next sequence.
      const first = await jetstream(nc).publish(`fp.log.${id}`, mutationBytes({ type: 'reset' }), { msgID: `${id}:first`, timeout: 5_000, expect: { lastSequence: last } });
      assert.equal(first.seq, last + 1);
      assert.equal(first.duplicate, false);
      const second = await log.append(id, { type: 'reset' }, `${id}:second`, first.seq);
      assert.equal(second.seq, first.seq + 1);
      const { state } = await (await jetstreamManager(nc)).streams.info(`FP_${id}`);
      assert.deepEqual([state.first_seq, state.last_seq, state.messages], [first.seq, first.seq + 1, 2], 'the stream holds the two records and nothing else');
    });
  }

  it('a stream already removed is removed again without error, and its shared snapshot pointer goes', async () => {
    const id = 'removed-twice';
    await log.create(id, 0);
    await log.remove(id);
    const kv = await new Kvm(nc).open(CATALOG_BUCKET);
    // A pointer left behind (its node died between deleting the stream and the pointer).
    await kv.put(sharedSnapshotKey(id), '7');
    await log.remove(id);
    assert.equal((await kv.get(sharedSnapshotKey(id)))?.operation, 'DEL');
  });
});
