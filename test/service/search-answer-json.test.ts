// A search's JSON answer is written by a writer of its own
// (service/http/json-answer.ts searchAnswerJson): its text must be exactly what
// JSON.stringify gives for { distances, labels } as nq x k arrays, ids as
// lib/wire.ts jsonId has them, whatever FAISS returns.
import { strict as assert } from 'node:assert';
import { jsonId } from '../../lib/wire';
import { searchAnswerJson } from '../../service/http/json-answer';

function expected(distances: Float32Array, labels: BigInt64Array, nq: number, k: number): string {
  const rows = <T>(f: (i: number) => T): T[][] => Array.from({ length: nq }, (_, q) => Array.from({ length: k }, (_, j) => f(q * k + j)));
  return JSON.stringify({ distances: rows((i) => distances[i]), labels: rows((i) => jsonId(labels[i])) });
}

describe('service: the JSON answer of a search', () => {
  const FLT_MAX = 3.4028234663852886e38;
  const edgeDistances = [0, -0, 1, -1, 0.1, 1.5e-45, -1.5e-45, 1e-38, FLT_MAX, -FLT_MAX, Infinity, -Infinity, NaN, 123456.789, 3e10];
  const edgeLabels = [-1n, 0n, 1n, 9007199254740991n, 9007199254740992n, -9007199254740991n, -9007199254740992n, 9223372036854775807n, -9223372036854775808n, 123456789n];

  it('is the text JSON.stringify gives, for every shape and for the values FAISS can return', () => {
    let seed = 7;
    const random = (): number => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
    for (const [nq, k] of [[1, 1], [1, 10], [2, 3], [3, 1], [5, 7], [1, 100]]) {
      for (let round = 0; round < 20; round++) {
        const distances = Float32Array.from({ length: nq * k }, () =>
          random() < 0.3 ? edgeDistances[Math.floor(random() * edgeDistances.length)] : (random() - 0.5) * 10 ** Math.floor(random() * 12 - 6),
        );
        const labels = BigInt64Array.from({ length: nq * k }, () =>
          random() < 0.5 ? edgeLabels[Math.floor(random() * edgeLabels.length)] : BigInt(Math.floor(random() * 2 ** 40)),
        );
        assert.equal(searchAnswerJson(distances, labels, nq, k), expected(distances, labels, nq, k));
      }
    }
  });

  it('is valid JSON that reads back to the results', () => {
    const distances = Float32Array.from([0.5, Infinity, 2.25, -0]);
    const labels = BigInt64Array.from([4n, -1n, 9223372036854775807n, 0n]);
    assert.deepEqual(JSON.parse(searchAnswerJson(distances, labels, 2, 2)), { distances: [[0.5, null], [2.25, 0]], labels: [[4, -1], ['9223372036854775807', 0]] });
  });
});
