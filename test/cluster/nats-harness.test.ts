// The cluster tests' harness (test/support/nats-cluster.ts): three JetStream
// servers that form one cluster, replicate a stream R3, and survive one's death.
import { strict as assert } from 'node:assert';
import { connect } from '@nats-io/transport-node';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { startNatsCluster, type NatsCluster } from '../support/nats-cluster';

describe('cluster: the nats-server harness', function () {
  this.timeout(60_000);
  let cluster: NatsCluster;
  before(async () => {
    cluster = await startNatsCluster();
  });
  after(async () => {
    await cluster?.stop();
  });

  it('replicates a stream over three servers and keeps it when one is killed', async () => {
    const nc = await connect({ servers: cluster.urls.split(',') });
    try {
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({ name: 'HARNESS', subjects: ['harness.>'], num_replicas: 3 });
      const js = jetstream(nc);
      for (let i = 0; i < 10; i++) await js.publish('harness.a', new TextEncoder().encode(String(i)));
      const info = await jsm.streams.info('HARNESS');
      assert.equal(info.state.messages, 10);
      assert.equal(info.cluster?.replicas?.length, 2);
      await cluster.kill(2);
      // The client reconnects to another server; until it has, and while the stream
      // elects a new leader, a publish may find no responder: retried, with the same
      // message id, so a publish that did land is not stored twice.
      let seq = 0;
      for (let tries = 0; seq === 0; tries++) {
        try {
          seq = (await js.publish('harness.a', new TextEncoder().encode('after'), { msgID: 'after', timeout: 2000 })).seq;
        } catch (e) {
          if (tries > 50) throw e;
          await new Promise((r) => setTimeout(r, 200));
        }
      }
      assert.equal(seq, 11);
      await cluster.restart(2);
    } finally {
      await nc.close();
    }
  });
});
