// The request log's writes (service/observability/logger.ts): the lines of one
// event-loop turn leave in one write at the end of that turn, every line, in
// order; lines still buffered when the process exits (normally or on a crash)
// are written before it goes. The request line (requestLine) is the line pino
// writes for the same fields, byte for byte, at the logger's level.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { createLogger, requestLine } from '../../service/observability/logger';

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

  const cases: [string, string, string, number, number, string | null, string | undefined][] = [
    ['0b1c2d3e-aaaa-4bbb-8ccc-0123456789ab', 'POST', '/v1/indexes/:name/search', 200, 3.6, 'acme', undefined],
    ['trace-abc-123', 'GET', 'unmatched', 404, 0, null, 'ERR_NOT_FOUND'],
    ['a.b_c:d-e', 'DELETE', '/v1/admin/keys/:keyId', 500, 1234.5, 'we"ird\\ten\u0001ant é \ud800', 'ERR_INTERNAL'],
    ['r', 'M-SEARCH', '/v1/indexes/:name', 413, 0.1, 'x', 'ERR_BODY_TOO_LARGE'],
  ];

  it("writes the request line pino writes for the same fields, byte for byte", async () => {
    const ours: string[] = [];
    const pinos: string[] = [];
    const line = requestLine(createLogger('info', { write: (text: string) => ours.push(text) }));
    const logger = createLogger('info', { write: (text: string) => pinos.push(text) });
    for (const [requestId, method, route, status, durationMs, tenant, code] of cases) {
      line(requestId, method, route, status, durationMs, tenant, code);
      logger.info({ requestId, method, route, status, durationMs, tenant, code }, 'request');
    }
    await new Promise((r) => setImmediate(r));
    const sameTime = (text: string) => text.replace(/"time":\d+/g, '"time":0');
    assert.equal(sameTime(ours.join('')), sameTime(pinos.join('')));
    assert.equal(ours.join('').split('\n').filter(Boolean).length, cases.length);
  });

  it("writes no request line below the logger's level", async () => {
    const writes: string[] = [];
    const logger = createLogger('warn', { write: (text: string) => writes.push(text) });
    const line = requestLine(logger);
    line(...cases[0]);
    logger.level = 'info';
    line(...cases[1]);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(writes.join('').split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { requestId: string }).requestId), [cases[1][0]]);
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
