// Runs Debian's python3-faiss on the same inputs (test/support/oracle.py).
import { execFileSync } from 'node:child_process';
import * as path from 'node:path';

export const PYTHON = process.env.FAISS_PROXY_PYTHON ?? '/usr/bin/python3';

export function runOracle(workdir: string): void {
  const script = path.resolve(__dirname, '..', '..', '..', 'test', 'support', 'oracle.py');
  execFileSync(PYTHON, [script, workdir], { stdio: ['ignore', 'ignore', 'inherit'], timeout: 300_000 });
}

/** Labels must match exactly; distances within 1e-5 (relative for values above 1). */
export function closeTo(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-5): string | null {
  if (a.length !== b.length) return `lengths differ: ${a.length} vs ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue; // also covers matching infinities
    if (!(Math.abs(x - y) <= tol * Math.max(1, Math.abs(x), Math.abs(y)))) return `index ${i}: ${x} vs ${y}`;
  }
  return null;
}
