// Searches cheap enough to run on the JS thread skip the round trip to a search lane or the libuv pool
// (native/workers/search_inline.cc decides which). This module adds the one rule
// the addon cannot see: at most one inline search per event-loop turn. The promise
// of an inline search settles on the next turn (setImmediate), so a caller looping
// over `await index.search(...)` still lets I/O and timers run between searches,
// and a burst of calls made at once (Promise.all) runs one in place and queues the
// rest, which the search lanes then run in parallel on the other cores.
let usedThisTurn = false;

/** `run()`'s result as a promise settling next turn, or undefined when run() declined or the turn's inline search is spent. */
export function inlineSearch<T>(run: () => T | undefined): Promise<T> | undefined {
  if (usedThisTurn) return undefined;
  const result = run();
  if (result === undefined) return undefined;
  usedThisTurn = true;
  return new Promise((resolve) =>
    setImmediate(() => {
      usedThisTurn = false;
      resolve(result);
    }),
  );
}
