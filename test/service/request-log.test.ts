// The request log's writes (service/observability/logger.ts): the lines of one
// event-loop turn leave in one write at the end of that turn, every line, in
// order; lines still buffered when the process exits (normally or on a crash)
// are written before it goes.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createLogger } from '../../service/observability/logger';

const LOGGER = path.resolve(__dirname, '..', '..', 'service', 'observability', 'logger.js');

describe('service: the request log', () => {
  it('writes the lines of one event-loop turn in one write, in order, once the turn is over', async () => {
    const writes: string[] = [];
    const logger = createLogger('info', { write: (text: string) => writes.push(text) });
    for (let i = 0; i < 50; i++) logger.info({ requestId: `r${i}` }, 'request');
    assert.equal(writes.length, 0, 'nothing is written before the turn ends');
    await new Promise((r) => setImmediate(r));
    assert.equal(writes.length, 1, 'one write for the turn');
    const lines = writes[0].split('\n').filter(Boolean).map((l) => JSON.parse(l) as { requestId: string; msg: string });
    assert.deepEqual(lines.map((l) => l.requestId), Array.from({ length: 50 }, (_, i) => `r${i}`));
    assert.ok(lines.every((l) => l.msg === 'request'));
    logger.info({ requestId: 'next' }, 'request');
    await new Promise((r) => setImmediate(r));
    assert.equal(writes.length, 2, 'a later turn writes its own lines');
    assert.equal(JSON.parse(writes[1]).requestId, 'next');
  });

  for (const [how, end] of [
    ['exits', 'process.exit(3)'],
    ['throws an uncaught error', 'throw new Error("boom")'],
  ] as const) {
    it(`writes the lines still buffered when the process ${how}`, () => {
      const script = `const { createLogger } = require(${JSON.stringify(LOGGER)});
        const logger = createLogger('info');
        for (let i = 0; i < 3; i++) logger.info({ requestId: 'last-' + i }, 'request');
        ${end};`;
      const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8' });
      assert.notEqual(r.status, 0);
      const ids = r.stdout.split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { requestId: string }).requestId);
      assert.deepEqual(ids, ['last-0', 'last-1', 'last-2'], r.stdout + r.stderr);
    });
  }
});
