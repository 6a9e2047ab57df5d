// The archive a sharded index that cannot be merged exports (service/domain/shard-archive.ts):
// the layout docs/cluster.md gives, read back whole, and every way of lying about it refused.
import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { FaissError } from '../../lib';
import { decodeShardArchive, encodeShardArchive, isShardArchive } from '../../service/domain/shard-archive';

const files = [Buffer.from('first shard'), Buffer.from('second'), Buffer.from('third one')];
const index = { factory: 'IDMap,HNSW16', dimension: 8, metric: 'L2' };

describe('a sharded index\'s archive of shard files', () => {
  it('is laid out as documented and read back whole', () => {
    const a = encodeShardArchive(index, files);
    assert.equal(a.subarray(0, 8).toString('latin1'), 'FPSHARDS');
    const n = a.readUInt32LE(8);
    const manifest = JSON.parse(a.subarray(12, 12 + n).toString('utf8'));
    const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
    assert.deepEqual(manifest, { format: 1, shards: 3, ...index, files: files.map((f) => ({ bytes: f.length, sha256: sha(f) })) });
    assert.ok(a.subarray(12 + n).equals(Buffer.concat(files)));
    assert.ok(isShardArchive(a));
    const back = decodeShardArchive(a);
    assert.deepEqual({ ...back, files: back.files.map((f) => Buffer.from(f).toString()) }, { ...index, files: files.map(String) });
  });

  it('refuses every change to its bytes with ERR_CORRUPT_INDEX', () => {
    const a = encodeShardArchive(index, files);
    const refused = (b: Uint8Array, what: string) => assert.throws(() => decodeShardArchive(b), (e: unknown) => e instanceof FaissError && e.code === 'ERR_CORRUPT_INDEX', what);
    for (let cut = 0; cut < a.length; cut++) refused(a.subarray(0, cut), `cut at ${cut}`);
    for (let at = 8; at < a.length; at++) {
      const b = Buffer.from(a);
      b[at] ^= 0x01;
      // A flipped bit in the manifest's JSON may leave it valid JSON of other values, never the same archive.
      let decoded: ReturnType<typeof decodeShardArchive> | undefined;
      try {
        decoded = decodeShardArchive(b);
      } catch (e) {
        assert.ok(e instanceof FaissError && e.code === 'ERR_CORRUPT_INDEX', `byte ${at}: ${e}`);
      }
      if (decoded) assert.notDeepEqual({ ...decoded, files: decoded.files.map((f) => Buffer.from(f).toString()) }, { ...index, files: files.map(String) }, `byte ${at}`);
    }
    refused(Buffer.concat([a, Buffer.from([0])]), 'a byte after the last file');
    assert.equal(isShardArchive(Buffer.from('IxMp')), false);
  });
});
