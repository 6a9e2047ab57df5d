// The metrics token is compared in time that does not depend on its length: a
// presented token of any length goes through the constant-time comparison (of
// SHA-256 digests), never an early "lengths differ" exit.
import { strict as assert } from 'node:assert';
import { sameSecret } from '../../../service/http/secret';

describe('service: metrics token comparison', () => {
  const TOKEN = 'scrape-token-0123456789abcdef';

  it('accepts the token and refuses others, of any length', () => {
    assert.equal(sameSecret(TOKEN, TOKEN), true);
    for (const wrong of ['', 'x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), 'é'.repeat(40)]) {
      assert.equal(sameSecret(wrong, TOKEN), false, JSON.stringify(wrong));
    }
  });

  it('compares equal-length digests in constant time whatever the presented length', () => {
    // The module object itself (an ES namespace import is read-only).
    const crypto = require('node:crypto') as { timingSafeEqual: (a: NodeJS.ArrayBufferView, b: NodeJS.ArrayBufferView) => boolean };
    const real = crypto.timingSafeEqual;
    const lengths: number[][] = [];
    crypto.timingSafeEqual = (a, b) => {
      lengths.push([a.byteLength, b.byteLength]);
      return real(a, b);
    };
    try {
      for (const presented of ['a', TOKEN.slice(0, 5), `${TOKEN}${TOKEN}`, TOKEN]) sameSecret(presented, TOKEN);
    } finally {
      crypto.timingSafeEqual = real;
    }
    assert.deepEqual(lengths, [[32, 32], [32, 32], [32, 32], [32, 32]]);
  });
});
