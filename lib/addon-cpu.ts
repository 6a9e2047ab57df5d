// Whether this CPU can run a built addon. The addon and its FAISS are compiled for
// one instruction set (scripts/build-faiss.sh), and that code would die of SIGILL on
// a CPU without it; the build writes what it needs next to the addon
// (faiss-build-info.json), and the loader checks it here before loading anything.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FaissError } from './errors';

/** What scripts/build-faiss.sh records about the FAISS build an addon links. */
export interface AddonBuildInfo {
  faissVersion: string;
  isa: string;
  archFlags: string;
  /** The /proc/cpuinfo flags the code uses. */
  cpuFlags: string[];
  gpu: boolean;
  /** The GPU variant's CUDA version and architectures (scripts/build-faiss.sh --gpu). */
  cudaVersion?: string;
  cudaArchs?: string;
  key: string;
}

/** The build info next to the addon at addonPath, or undefined when there is none; ERR_UNSUPPORTED when it is damaged. */
export function readAddonBuildInfo(addonPath: string): AddonBuildInfo | undefined {
  const file = path.join(path.dirname(addonPath), 'faiss-build-info.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let info: AddonBuildInfo;
  try {
    info = JSON.parse(text) as AddonBuildInfo;
  } catch {
    info = {} as AddonBuildInfo;
  }
  if (typeof info?.isa !== 'string' || !Array.isArray(info.cpuFlags)) {
    throw new FaissError(
      `${file} is not a FAISS build description (it needs "isa" and "cpuFlags"); rebuild the addon (npm run build:native)`,
      'ERR_UNSUPPORTED',
    );
  }
  return info;
}

/** The flags of `required` that the CPU described by cpuinfo (/proc/cpuinfo's text) lacks. */
export function missingCpuFlags(required: readonly string[], cpuinfo: string): string[] {
  const line = cpuinfo.split('\n').find((l) => /^(flags|Features)\s*:/.test(l)) ?? '';
  const have = new Set(line.split(':')[1]?.trim().split(/\s+/) ?? []);
  return required.filter((f) => !have.has(f));
}

/**
 * Throws ERR_UNSUPPORTED when this CPU lacks an instruction the addon at addonPath
 * was built for. Addons without build info (an override built elsewhere) and
 * systems without /proc/cpuinfo are not checked.
 */
export function assertCpuRunsAddon(addonPath: string): void {
  const info = readAddonBuildInfo(addonPath);
  if (!info || info.cpuFlags.length === 0) return;
  let cpuinfo: string;
  try {
    cpuinfo = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return;
  }
  const missing = missingCpuFlags(info.cpuFlags, cpuinfo);
  if (missing.length > 0) {
    throw new FaissError(
      `The faiss-proxy addon ${addonPath} was built for ${info.isa} (${info.archFlags}), and this CPU lacks ` +
        `${missing.join(', ')}. Build it on this machine (npm run build:native), or build a portable one ` +
        `with FAISS_PROXY_ISA=avx2 (or generic) npm run build:native.`,
      'ERR_UNSUPPORTED',
    );
  }
}
