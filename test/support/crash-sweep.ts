// The crash-point and I/O-fault sweeps (after SQLite's ioerr and crash tests),
// shared by test/durability/ and bench/crash-points.ts. For one scenario
// (support/durability.ts) and one fault, N = 1, 2, 3, ...: start from the
// template data directory, arm the Nth durable call with the fault, run the
// operation, then check (live and after a restart) that it either succeeded
// or failed with ERR_STORAGE_FAILED, that the state is exactly the one before
// or after it (after when acknowledged), and that the files agree with the
// catalog. Ends when the operation completes without meeting the fault.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { checkFiles, close, observe, open, type Scenario } from './durability';
import { FaultyIO, type Fault } from './faulty-io';

export interface Expected {
  before: string;
  after: string;
}

/** What a user sees before the operation and after it (checked to survive a clean restart). */
export async function expectedStates(template: string, work: string, scenario: Scenario): Promise<Expected> {
  fs.cpSync(template, work, { recursive: true });
  let s = await open(work);
  await scenario.warm?.(s);
  const before = await observe(s);
  await scenario.run(s);
  const after = await observe(s);
  await close(s);
  s = await open(work);
  assert.equal(await observe(s), after, 'the operation survives a clean restart');
  await close(s);
  fs.rmSync(work, { recursive: true, force: true });
  return { before, after };
}

/** Sweeps one in-process fault over every durable call of the scenario; returns the points it struck. */
export async function sweepFault(template: string, work: string, scenario: Scenario, fault: Exclude<Fault, 'kill'>, { before, after }: Expected): Promise<string[]> {
  const struck: string[] = [];
  const errors = console.error;
  console.error = () => undefined; // a failed background snapshot says so; here that is the point
  try {
    for (let n = 1; n < 200; n++) {
      fs.cpSync(template, work, { recursive: true });
      const io = new FaultyIO();
      let s = await open(work, io);
      await scenario.warm?.(s);
      io.arm(n, fault);
      let acknowledged = false;
      try {
        await scenario.run(s);
        acknowledged = true;
      } catch (e) {
        assert.equal((e as { code?: string }).code, 'ERR_STORAGE_FAILED', `${fault} at ${io.hit}: ${(e as Error).stack}`);
      }
      const where = `${scenario.name}: ${fault} at durable call ${n} (${io.hit}), ${acknowledged ? 'acknowledged' : 'failed'}`;
      if (io.hit === undefined) {
        assert.ok(acknowledged, where);
        io.disarm();
        await close(s);
        fs.rmSync(work, { recursive: true, force: true });
        return struck;
      }
      struck.push(io.hit);
      const allowed = acknowledged ? [after] : [before, after];
      if (fault === 'crash') {
        s.catalog.close(); // the "process" is gone: nothing it does reaches the disk any more
        await io.closeAll();
      } else {
        io.disarm();
        const live = await observe(s);
        assert.ok(allowed.includes(live), `${where}: live state is neither before nor after:\n${live}\nbefore ${before}\nafter  ${after}`);
        await close(s);
      }
      s = await open(work);
      const restarted = await observe(s);
      assert.ok(allowed.includes(restarted), `${where}: after restart the state is neither before nor after:\n${restarted}\nbefore ${before}\nafter  ${after}`);
      checkFiles(s, work);
      await close(s);
      fs.rmSync(work, { recursive: true, force: true });
    }
    throw new Error(`${scenario.name}: ${fault} still struck after 200 durable calls`);
  } finally {
    console.error = errors;
  }
}

const CHILD = path.resolve(__dirname, 'crash-child.js');

/** SIGKILLs a child process running the scenario at each of its durable calls in turn; returns how many kills. */
export async function sweepKills(template: string, work: string, scenario: Scenario, { before, after }: Expected): Promise<number> {
  let kills = 0;
  for (let n = 1; n < 200; n++) {
    fs.cpSync(template, work, { recursive: true });
    const child = spawnSync(process.execPath, [CHILD, work, scenario.name, String(n)], { encoding: 'utf8', timeout: 60_000 });
    if (child.status === 0) {
      assert.ok(JSON.parse(child.stdout).completed);
      fs.rmSync(work, { recursive: true, force: true });
      return kills;
    }
    assert.equal(child.signal, 'SIGKILL', `child ended with ${child.status}: ${child.stderr}`);
    kills++;
    const errors = console.error;
    console.error = () => undefined; // "removed N orphaned files": expected here
    try {
      const s = await open(work);
      const state = await observe(s);
      assert.ok(state === before || state === after, `${scenario.name}: killed at durable call ${n}: the state is neither before nor after:\n${state}`);
      checkFiles(s, work);
      await close(s);
    } finally {
      console.error = errors;
    }
    fs.rmSync(work, { recursive: true, force: true });
  }
  throw new Error(`${scenario.name}: still killed after 200 durable calls`);
}
