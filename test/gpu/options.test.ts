// The GPU API's option objects (lib/gpu-options.ts), checked in TS before anything
// reaches the addon: these checks run in both builds, so they are tested here
// directly (in the CPU build the public calls refuse before reading any option).
import { strict as assert } from 'node:assert';
import { FaissError } from '../../lib';
import { clonerOptions, deviceArg, gpuConfig } from '../../lib/gpu-options';

const invalid = (pattern: RegExp) => (e: unknown) => {
  assert.ok(e instanceof FaissError, String(e));
  assert.equal(e.code, 'ERR_INVALID_ARGUMENT');
  assert.match(e.message, pattern);
  return true;
};

describe('GPU option objects', () => {
  it('take the fields of their kind, and nothing for undefined', () => {
    assert.deepEqual(gpuConfig(undefined, ['useFloat16'], false), {});
    assert.deepEqual(gpuConfig({ device: 1, useFloat16: true }, ['useFloat16', 'storeTransposed'], false), { device: 1, useFloat16: true });
    assert.deepEqual(gpuConfig({ device: 0, flatConfig: { useFloat16: true }, interleavedLayout: false }, ['interleavedLayout'], true), {
      device: 0,
      flatConfig: { useFloat16: true },
      interleavedLayout: false,
    });
    assert.deepEqual(clonerOptions({ useFloat16: true, reserveVecs: 1000 }), { useFloat16: true, reserveVecs: 1000 });
    assert.deepEqual(clonerOptions({ shard: true }, ['shard']), { shard: true });
    assert.equal(deviceArg(3), 3);
  });

  const CASES: Array<[string, () => unknown, RegExp]> = [
    ['a misspelt field', () => gpuConfig({ useFloat16LookupTable: true }, ['useFloat16LookupTables'], true), /Unknown field "useFloat16LookupTable" in config/],
    ['a field of another kind', () => gpuConfig({ useFloat16: true }, ['interleavedLayout'], true), /Unknown field "useFloat16"/],
    ['flatConfig on a flat index', () => gpuConfig({ flatConfig: {} }, ['useFloat16'], false), /Unknown field "flatConfig"/],
    ['a boolean as a string', () => gpuConfig({ useFloat16: 'yes' }, ['useFloat16'], false), /config\.useFloat16/],
    ['a negative device', () => gpuConfig({ device: -1 }, [], false), /config\.device/],
    ['a fractional device', () => gpuConfig({ device: 0.5 }, [], false), /config\.device/],
    ['a device past any machine', () => gpuConfig({ device: 2 ** 31 }, [], false), /config\.device/],
    ['a string device', () => deviceArg('0'), /device/],
    ['a nested field not a boolean', () => gpuConfig({ flatConfig: { useFloat16: 1 } }, [], true), /config\.flatConfig\.useFloat16/],
    ['a nested unknown field', () => gpuConfig({ flatConfig: { device: 1 } }, [], true), /Unknown field "device" in config\.flatConfig/],
    ['an array', () => gpuConfig([], [], false), /config/],
    ['null', () => clonerOptions(null), /options/],
    ['a number', () => clonerOptions(7), /options/],
    ['reserveVecs negative', () => clonerOptions({ reserveVecs: -1 }), /options\.reserveVecs/],
    ['reserveVecs a bigint', () => clonerOptions({ reserveVecs: 10n }), /options\.reserveVecs/],
    ['shard where not taken', () => clonerOptions({ shard: true }), /Unknown field "shard"/],
    ['a getter that throws', () => gpuConfig({ get device(): number { throw new Error('boom'); } }, [], false), /config/],
    ['a Proxy that throws', () => gpuConfig(new Proxy({}, { ownKeys() { throw new Error('trap'); } }), [], false), /config/],
  ];
  for (const [what, call, pattern] of CASES) {
    it(`refuse ${what} with ERR_INVALID_ARGUMENT`, () => assert.throws(call, invalid(pattern)));
  }
});
