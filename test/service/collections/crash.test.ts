// Nothing acknowledged is ever lost, for collections too: concurrent clients
// upsert batches and delete by filter in a real process that is SIGKILLed at
// random moments, again and again on the same data directory
// (support/collection-crash-child.ts). After the last kill every acknowledged
// upsert is there with its exact vector and payload unless an acknowledged
// delete took it, every acknowledged delete stays done, an op the kill cut off
// is wholly there or wholly absent, and the count is exactly what is there.
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { rng } from '../../support/data';
import { crashPointVector } from '../../support/collection-crash';
import { openTestServices } from '../../support/services';

const KILLS = 5;

interface Line {
  c: number;
  op: 'ready' | 'try' | 'ack';
  kind: 'upsert' | 'delete';
  ids?: string[];
  tag: string;
  deleted?: number;
}

/** Runs the child on `dataDir` until it has run for a random while, SIGKILLs it, and answers what it printed. */
function runAndKill(dataDir: string, round: number, wait: number): Promise<Line[]> {
  const child = spawn(process.execPath, [path.join(__dirname, '..', '..', 'support', 'collection-crash-child.js'), dataDir, String(round)], { stdio: ['ignore', 'pipe', 'inherit'] });
  let text = '';
  child.stdout.on('data', (b: Buffer) => {
    if (!text.includes('"ready"') && (text + b.toString()).includes('"ready"')) setTimeout(() => child.kill('SIGKILL'), wait);
    text += b.toString();
  });
  return new Promise((resolve, reject) => {
    child.on('exit', (code, signal) => {
      if (signal !== 'SIGKILL') return reject(new Error(`the child exited with ${code} before the kill`));
      // The last line may be cut short by the kill: only whole lines count.
      resolve(text.split('\n').slice(0, -1).map((l) => JSON.parse(l) as Line).filter((l) => l.op !== 'ready'));
    });
  });
}

describe('service: collections survive SIGKILL at random moments (upserts, deletes by filter)', function () {
  this.timeout(300_000);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'faiss-coll-crash-'));
  after(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it(`every acknowledged write survives ${KILLS} kills, exactly; an op cut off is all or nothing`, async () => {
    const random = rng(2612);
    /** Points as acknowledged: id → tag. */
    const live = new Map<string, string>();
    /** Ops a kill cut off (tried, never acknowledged): each is wholly applied or not at all. A client has at most one, its last. */
    const cut: Line[] = [];
    let acks = 0;
    for (let round = 0; round < KILLS; round++) {
      const lines = await runAndKill(dataDir, round, 300 + random() * 700);
      const pending = new Map<number, Line>();
      for (const l of lines) {
        if (l.op === 'try') {
          pending.set(l.c, l);
          continue;
        }
        pending.delete(l.c);
        acks++;
        if (l.kind === 'upsert') for (const id of l.ids!) live.set(id, l.tag);
        else {
          // Tags are per round and client, and a client's ops are sequential: the delete took exactly its acknowledged points.
          const gone = [...live].filter(([, tag]) => tag === l.tag).map(([id]) => id);
          for (const id of gone) live.delete(id);
          assert.equal(l.deleted, gone.length, `delete of ${l.tag}`);
        }
      }
      cut.push(...pending.values());
    }
    assert.ok(acks >= 20, `only ${acks} writes were acknowledged`);
    // A delete cut off took all of its tag's acknowledged points or none of them.
    const maybeDeleted = cut.filter((op) => op.kind === 'delete').map((op) => [...live].filter(([, tag]) => tag === op.tag).map(([id]) => id));
    for (const group of maybeDeleted) for (const id of group) live.delete(id);
    const s = await openTestServices({}, dataDir);
    try {
      const ids = [...live.keys()];
      const found = await s.collections.get('t', 'docs', ids, { withPayload: true, withVector: true });
      assert.equal(found.length, ids.length, `${ids.length - found.length} acknowledged points are missing`);
      for (const p of found) {
        assert.deepEqual(p.payload, { tag: live.get(p.id), id: p.id });
        assert.deepEqual(p.vector, crashPointVector(p.id));
      }
      let present = ids.length;
      const groups = [...maybeDeleted, ...cut.filter((op) => op.kind === 'upsert').map((op) => op.ids!)];
      for (const group of groups) {
        const there = (await s.collections.get('t', 'docs', group, { withPayload: false, withVector: false })).length;
        assert.ok(there === 0 || there === group.length, `an op cut off is torn: ${there} of ${group.length} points (${group[0]}...)`);
        present += there;
      }
      assert.equal(await s.collections.count('t', 'docs'), present);
      // The index agrees with the points: each live point is its own nearest neighbour.
      for (const id of ids.slice(0, 20)) {
        const [hits] = await s.collections.search('t', 'docs', crashPointVector(id), 1, 1, { withPayload: false, withVector: false });
        assert.equal(hits[0].id, id);
      }
      console.log(`      ${acks} writes acknowledged, ${live.size} points live, ${cut.length} ops cut off by the kills`);
    } finally {
      await s.indexes.close();
      s.catalog.close();
    }
  });
});
