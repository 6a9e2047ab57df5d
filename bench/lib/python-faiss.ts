// Which Python FAISS npm run bench:faiss compares with: pip's faiss-cpu (a current
// FAISS, what `pip install faiss-cpu` gives a Python user), installed into a throwaway
// venv of the bench's own, never a dependency of the project. Where pip cannot get
// it, Debian's python3-faiss (FAISS 1.7.3) instead, and the bench says so.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { benchCacheDir } from './common';

export interface PythonFaiss {
  python: string;
  /** How the bench names this side in its tables. */
  name: string;
  faissVersion: string;
  /** The SIMD level its FAISS loaded (get_compile_options()). */
  build: string;
  /** Why this is not pip's faiss-cpu, where it is not. */
  fallbackReason?: string;
}

const DEBIAN_PYTHON = '/usr/bin/python3';

export const benchVenv = (): string => benchCacheDir('bench-venv');

function describe(python: string, script: string): { faissVersion: string; build: string } | undefined {
  const r = spawnSync(python, [script, 'version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 120_000 });
  if (r.status !== 0) return undefined;
  return JSON.parse(r.stdout.trim().split('\n').pop() as string) as { faissVersion: string; build: string };
}

/** Makes the venv and installs faiss-cpu and numpy into it; throws with pip's last words if that fails. */
function installVenv(venv: string, log: (line: string) => void): void {
  fs.rmSync(venv, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(venv), { recursive: true });
  log(`making ${venv} (python3 -m venv; pip install faiss-cpu numpy) ...`);
  const run = (cmd: string, args: string[]): void => {
    const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
    if (r.status !== 0) {
      const said = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' / ');
      throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${said}`);
    }
  };
  run('python3', ['-m', 'venv', venv]);
  run(path.join(venv, 'bin', 'pip'), ['install', '--quiet', 'faiss-cpu', 'numpy']);
}

/**
 * pip's faiss-cpu from the bench's venv (made on first use), or `explicit` if the
 * caller named a Python, or Debian's python3-faiss when pip cannot provide it.
 */
export function pythonFaiss(script: string, log: (line: string) => void, explicit?: string): PythonFaiss {
  if (explicit) {
    const v = describe(explicit, script);
    if (!v) throw new Error(`${explicit} cannot import faiss and numpy`);
    return { python: explicit, name: `${path.basename(explicit)} faiss ${v.faissVersion}`, ...v };
  }
  const venv = benchVenv();
  const venvPython = path.join(venv, 'bin', 'python');
  let reason: string | undefined;
  let v = fs.existsSync(venvPython) ? describe(venvPython, script) : undefined;
  if (!v) {
    try {
      installVenv(venv, log);
      v = describe(venvPython, script);
      if (!v) reason = `faiss-cpu installed into ${venv} but does not import`;
    } catch (e) {
      reason = (e as Error).message;
    }
  }
  if (v) return { python: venvPython, name: `pip faiss-cpu ${v.faissVersion}`, ...v };

  const debian = describe(DEBIAN_PYTHON, script);
  if (!debian) throw new Error(`pip could not provide faiss-cpu (${reason}), and ${DEBIAN_PYTHON} has no faiss either (apt-get install python3-faiss)`);
  log(`pip could not provide faiss-cpu (${reason}): comparing with Debian's python3-faiss ${debian.faissVersion} instead`);
  return { python: DEBIAN_PYTHON, name: `python3-faiss ${debian.faissVersion} (Debian)`, ...debian, fallbackReason: reason };
}
