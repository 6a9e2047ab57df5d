// The operator's knobs over how searches run: threads, and batching on/off with
// its longest wait. Nothing else (the old per-mechanism flags are refused).
import { strict as assert } from 'node:assert';
import * as os from 'node:os';
import { loadConfig } from '../../service/config';

describe('search scheduling flags', () => {
  it('default to batching on, a 10 ms longest wait and one search thread per core', () => {
    const c = loadConfig([], {});
    assert.deepEqual([c.batching, c.batchMaxWaitMs, c.searchThreads], [true, 10, os.availableParallelism()]);
  });

  it('take --batching, --batch-max-wait-ms and --search-threads from flags or the environment', () => {
    const c = loadConfig(['--batching', 'false', '--batch-max-wait-ms=0', '--search-threads', '0'], {});
    assert.deepEqual([c.batching, c.batchMaxWaitMs, c.searchThreads], [false, 0, 0]);
    const e = loadConfig([], { FAISS_PROXY_BATCHING: '0', FAISS_PROXY_BATCH_MAX_WAIT_MS: '25', FAISS_PROXY_SEARCH_THREADS: '3' });
    assert.deepEqual([e.batching, e.batchMaxWaitMs, e.searchThreads], [false, 25, 3]);
  });

  const refused: [string[], RegExp][] = [
    [['--batching', 'yes'], /true or false for batching/],
    [['--batch-max-wait-ms', '-1'], /non-negative integer for batch max wait/],
    [['--batch-max-wait-ms', '60001'], /at most 60000 for batch max wait/],
    [['--search-threads', '1025'], /at most 1024 for search threads/],
    [['--search-threads', '1.5'], /non-negative integer for search threads/],
    // The flags the scheduler replaced.
    [['--batch-max-queries', '0'], /unknown option '--batch-max-queries'/],
    [['--batch-window-ms', '5'], /unknown option '--batch-window-ms'/],
    [['--inline-search-us', '1000'], /unknown option '--inline-search-us'/],
    [['--search-lanes', '2'], /unknown option '--search-lanes'/],
    [['--search-spin-us', '100'], /unknown option '--search-spin-us'/],
  ];
  for (const [argv, message] of refused) {
    it(`refuse ${argv.join(' ')} with a message that says why`, () => {
      assert.throws(() => loadConfig(argv, {}), message);
    });
  }
});
