// A child process for test/service/collections/crash.test.ts: CLIENTS concurrent
// loops upsert batches and delete by filter in one collection of the service's
// domain until the parent SIGKILLs the process. Each op is announced on stdout
// before it is sent ({"c","op":"try",...}) and told again once acknowledged
// ({"c","op":"ack",...}); stdout is a pipe, written synchronously, so a line the
// parent read was written before the kill.
// Usage: node collection-crash-child.js <dataDir> <round>
import { parseFilter } from '../../lib/collections/filter';
import { defaults } from '../../service/config';
import { openServices } from '../../service/server';
import { crashPointVector, CRASH_BATCH, CRASH_CLIENTS, CRASH_D } from './collection-crash';

const say = (line: unknown) => process.stdout.write(`${JSON.stringify(line)}\n`);

async function main(): Promise<void> {
  const [dataDir, roundText] = process.argv.slice(2);
  const round = Number(roundText);
  // Small logs: snapshots, and kills during them, happen during the test.
  const s = openServices({ ...defaults(), dataDir, snapshotLogBytes: 20_000 });
  await s.indexes.open();
  await s.collections.open();
  if (!s.catalog.getTenant('t')) s.tenants.create('t');
  if ((await s.collections.list('t')).length === 0) {
    await s.collections.create('t', { name: 'docs', dimension: CRASH_D, factory: 'HNSW16', payloadIndexes: { tag: 'keyword' } });
  }
  say({ op: 'ready' });
  await Promise.all(
    Array.from({ length: CRASH_CLIENTS }, async (_, c) => {
      for (let step = 0; ; step++) {
        const tag = `r${round}c${c}g${step % 4}`;
        if (step % 5 === 4) {
          // Deletes what this client upserted with one tag in this round (only it writes those).
          const victim = `r${round}c${c}g${(step + 1) % 4}`;
          say({ c, op: 'try', kind: 'delete', tag: victim });
          const { deleted } = await s.collections.delete('t', 'docs', { filter: parseFilter({ must: [{ key: 'tag', match: { value: victim } }] }) }, `del-${victim}-${step}`);
          say({ c, op: 'ack', kind: 'delete', tag: victim, deleted });
        } else {
          const ids = Array.from({ length: CRASH_BATCH }, (_, i) => `p-${round}-${c}-${step}-${i}`);
          const x = new Float32Array(ids.length * CRASH_D);
          ids.forEach((id, i) => x.set(crashPointVector(id), i * CRASH_D));
          say({ c, op: 'try', kind: 'upsert', ids, tag });
          await s.collections.upsert('t', 'docs', { ids, x, payloads: ids.map((id) => ({ tag, id })) }, `up-${ids[0]}`);
          say({ c, op: 'ack', kind: 'upsert', ids, tag });
        }
      }
    }),
  );
}

main().catch((e) => {
  console.error(e);
  process.exit(2);
});
