// The harness of the bad-input tables (test/embedded/errors.test.ts,
// test/binary/errors.test.ts): the indexes their cases start from, and one test
// per case, which passes when the case rejects with a FaissError of its code.
import { strict as assert } from 'node:assert';
import * as faiss from '../../lib';

export interface ErrorCase {
  name: string;
  code: faiss.ErrorCode;
  run: () => unknown;
}

interface Fillable<X> {
  train(x: X): Promise<void>;
  add(x: X): Promise<void>;
}

/** A flat, an HNSW and an IVF index (built by `make`) holding `x`, and the IVF one untrained and empty. */
export function indexFixtures<I extends Fillable<X>, X>(make: { flat: () => I; hnsw: () => I; ivf: () => I }, x: X) {
  const filled = async (index: I): Promise<I> => {
    await index.add(x);
    return index;
  };
  return {
    flat: () => filled(make.flat()),
    hnsw: () => filled(make.hnsw()),
    untrainedIvf: make.ivf,
    trainedIvf: async (): Promise<I> => {
      const index = make.ivf();
      await index.train(x);
      return filled(index);
    },
  };
}

/** One test per case: a FaissError with the case's code and a message that says what was expected. */
export function itRejectsEach(cases: ErrorCase[]): void {
  for (const c of cases) {
    it(`${c.name} -> ${c.code}`, async () => {
      await assert.rejects(
        async () => c.run(),
        (e: unknown) => {
          assert.ok(e instanceof faiss.FaissError, `expected a FaissError, got ${String(e)}`);
          assert.equal(e.code, c.code, `code (message: ${e.message})`);
          assert.ok(e.message.length > 10, 'a message that says what was expected');
          return true;
        },
      );
    });
  }
}
