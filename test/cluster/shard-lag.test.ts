// The lag of the shards a node holds (domain/sharded-indexes.ts lagOf): records
// of a shard's stream the node has not applied yet count in the sharded index's
// replicaLag (faiss_proxy_index_replica_lag) and in the node's figure that its
// heartbeat tells (IndexService.replicaLag: the dashboard, faiss_proxy_cluster_node_lag),
// and fall to 0 once applied. In process, over a log in memory whose delivery
// the test holds back; the cluster itself shows 0 once caught up in shards.test.ts.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { defaults } from '../../service/config';
import type { Follower, ReplicatedLog } from '../../service/domain/durable';
import type { ShardNetwork } from '../../service/domain/sharded-indexes';
import { shardsOf, shardStorageId } from '../../service/domain/shards';
import { openServices, type Services } from '../../service/server';
import { SqliteCatalog } from '../../service/storage/catalog';
import type { ImportedFile, Mutation } from '../../service/storage/mutation-log';
import { FileIO } from '../../service/storage/storage-io';

/** Each object's records in memory; while `held`, followers are delivered nothing (a replica falling behind). */
class HeldLog implements ReplicatedLog {
  private readonly streams = new Map<string, Mutation[]>();
  private readonly appended = new Map<string, number>();
  private waiting: (() => void)[] = [];
  held = false;

  useSnapshots(): void {}
  async create(id: string): Promise<void> {
    this.streams.set(id, []);
  }
  async remove(id: string): Promise<void> {
    this.streams.delete(id);
  }
  /** No collector runs over this log: any time may pass before a commit. */
  beforeCommit(): void {}
  async lastSeq(id: string): Promise<number> {
    return this.streams.get(id)?.length ?? 0;
  }
  private readonly files = new Map<string, Uint8Array>();
  async putImport(id: string, file: Uint8Array): Promise<ImportedFile> {
    this.files.set(`${id}.import`, file);
    return { object: `${id}.import`, sha256: createHash('sha256').update(file).digest('hex'), bytes: file.length };
  }
  async importedFile(f: ImportedFile): Promise<Uint8Array> {
    const file = this.files.get(f.object);
    if (!file) throw new Error(`no ${f.object}`);
    return file;
  }
  async append(id: string, m: Mutation, appendId: string): Promise<{ seq: number; duplicate: boolean }> {
    const seen = this.appended.get(appendId);
    if (seen !== undefined) return { seq: seen, duplicate: true };
    const stream = this.streams.get(id)!;
    stream.push(m);
    this.appended.set(appendId, stream.length);
    this.wake();
    return { seq: stream.length, duplicate: false };
  }
  release(): void {
    this.held = false;
    this.wake();
  }
  private wake(): void {
    const w = this.waiting;
    this.waiting = [];
    for (const f of w) f();
  }
  follow(id: string, afterSeq: number, deliver: (seq: number, m: Mutation) => Promise<void>): Follower {
    let next = afterSeq + 1;
    let stopped = false;
    const target = this.streams.get(id)?.length ?? 0;
    let reached!: () => void;
    const caughtUp = new Promise<void>((resolve) => (reached = resolve));
    void (async () => {
      while (!stopped) {
        if (next > target) reached();
        const stream = this.streams.get(id);
        if (!this.held && stream && next <= stream.length) {
          await deliver(next, stream[next - 1]);
          next++;
          continue;
        }
        await new Promise<void>((r) => this.waiting.push(r));
      }
    })();
    const streams = this.streams;
    return {
      caughtUp,
      get lastSeen() {
        return streams.get(id)?.length ?? 0;
      },
      stop: () => {
        stopped = true;
        this.wake();
      },
    };
  }
  async shareSnapshot(): Promise<void> {}
  async fetchSnapshot(): Promise<number> {
    return 0;
  }
}

/** One node, A, owning every shard. */
function oneNode(): ShardNetwork {
  const placements = new Map<string, readonly string[]>();
  return {
    node: 'A',
    placement: (id) => placements.get(id),
    setPlacement: (id, owners) => void placements.set(id, owners),
    deletePlacement: (id) => void placements.delete(id),
    liveNodes: () => ['A'],
    requireFits: () => undefined,
    call: () => Promise.reject(new Error('one node only')),
  };
}

describe('cluster: the lag of the shards a node holds', () => {
  let dir: string;
  let services: Services;
  const log = new HeldLog();
  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-shard-lag-'));
    const config = { ...defaults(), dataDir: dir };
    services = openServices(config, {}, { catalog: new SqliteCatalog(dir, new FileIO()), replication: log, shards: oneNode() });
    await services.indexes.open();
    services.tenants.create('t');
  });
  after(async () => {
    log.release();
    await services.indexes.close().catch(() => undefined);
    services.catalog.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("counts a shard's records not applied yet in its index's lag and the node's, until they are", async () => {
    const { indexes } = services;
    await indexes.create('t', { name: 'big', dimension: 4, factory: 'IDMap2,Flat', shards: 2 });
    const ids = BigInt64Array.from({ length: 10 }, (_, i) => BigInt(i));
    await indexes.add('t', 'big', Float32Array.from({ length: 40 }, (_, i) => i), ids);
    const lagOfBig = () => indexes.status().find((s) => s.name === 'big')!.replicaLag;
    assert.equal(lagOfBig(), 0);
    assert.equal(indexes.replicaLag(), 0);
    // Three records in shard 0's stream that this node has not applied (as its previous owner's last writes would be).
    const mine = BigInt64Array.from({ length: 40 }, (_, i) => BigInt(100 + i)).filter((id) => shardsOf(BigInt64Array.of(id), 2)[0] === 0).slice(0, 3);
    const stream = shardStorageId(services.catalog.getIndex('t', 'big')!.id, 0);
    log.held = true;
    for (const id of mine) await log.append(stream, { type: 'add', x: Float32Array.of(1, 2, 3, 4), d: 4, ids: BigInt64Array.of(id) }, `late-${id}`);
    assert.equal(lagOfBig(), 3);
    assert.equal(indexes.replicaLag(), 3, "the node's figure (its heartbeat's)");
    log.release();
    const deadline = Date.now() + 5_000;
    while (indexes.replicaLag() > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.equal(lagOfBig(), 0);
    assert.equal(indexes.replicaLag(), 0);
    assert.equal((await indexes.describe('t', 'big')).ntotal, 13);
  });
});
